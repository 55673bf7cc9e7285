"""Inputs the benchmarks build for themselves: recorded chat exchanges as native and vcrpy
cassettes (the same data in both), cassettes of many interactions, and native copies of the
real recordings in ``../shared/real-cassettes`` (read with vcrpy's own deserialiser).
"""

from __future__ import annotations

import json
import os
import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from replay import Cassette, Chunk, Interaction, Request, Response, save_cassette
from replay.model.sse import split_at_events

from .core import ROOT

__all__ = [
    "OPENAI_URL",
    "Exchange",
    "chat_body",
    "chat_exchange",
    "long_stream",
    "many_interactions",
    "real_exchange",
    "write_native",
    "write_vcr",
]

OPENAI_URL = "https://api.openai.com/v1/chat/completions"
GROQ_URL = "https://api.groq.com/openai/v1/chat/completions"
MODEL = "gpt-4o-mini"
MESSAGES = [{"role": "user", "content": "Write one short sentence about benchmarks."}]
_CREATED = 1_764_000_000


@dataclass(frozen=True, slots=True)
class Exchange:
    """One recorded request/response: what every tool under comparison serves."""

    url: str
    request_body: bytes
    status: int
    headers: list[tuple[str, str]]
    chunks: list[bytes]  # one network read each
    times: list[float]  # arrival offsets, one per chunk
    head_t: float = 0.2

    @property
    def body(self) -> bytes:
        return b"".join(self.chunks)

    def interaction(self) -> Interaction:
        request = Request(
            method="POST",
            url=self.url,
            headers=[("content-type", "application/json")],
            body=self.request_body,
        )
        response = Response(
            status=self.status,
            t=self.head_t,
            headers=self.headers,
            chunks=[Chunk(t=t, data=d) for t, d in zip(self.times, self.chunks, strict=True)],
        )
        return Interaction(request=request, response=response)


def chat_body(stream: bool, *, model: str = MODEL, content: str | None = None) -> dict[str, Any]:
    """The JSON body the SDKs send for ``create(model=..., messages=..., stream=...)``."""
    messages = MESSAGES if content is None else [{"role": "user", "content": content}]
    body: dict[str, Any] = {"messages": messages, "model": model}
    if stream:
        body["stream"] = True
    return body


def _chunk(delta: dict[str, Any], finish: str | None, cid: str, **extra: Any) -> bytes:
    payload: dict[str, Any] = {
        "id": cid,
        "object": "chat.completion.chunk",
        "created": _CREATED,
        "model": MODEL,
        "service_tier": "default",
        "system_fingerprint": "fp_bench01",
        "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
        **extra,
        "obfuscation": "Zq3x" * (1 + len(cid) % 3),
    }
    return b"data: " + json.dumps(payload, separators=(",", ":")).encode() + b"\n\n"


def chat_exchange(
    stream: bool, *, url: str = OPENAI_URL, tokens: int = 5, cid: str = "chatcmpl-bench"
) -> Exchange:
    """A chat completion as OpenAI sends it.

    Streaming: role chunk, ``tokens`` content chunks, finish chunk, usage-only chunk, ``[DONE]``
    (with the defaults: 8 SDK chunks, about 2.4 kB, one event per network read).
    """
    words = ["Benchmarks", " measure", " what", " users", " pay", " for", " every", " request", "."]
    content = [words[i % len(words)] for i in range(tokens)]
    usage = {"prompt_tokens": 9, "completion_tokens": tokens, "total_tokens": 9 + tokens}
    body = json.dumps(chat_body(stream)).encode()
    if not stream:
        payload = {
            "id": cid,
            "object": "chat.completion",
            "created": _CREATED,
            "model": MODEL,
            "system_fingerprint": "fp_bench01",
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": "".join(content), "refusal": None},
                    "logprobs": None,
                    "finish_reason": "stop",
                }
            ],
            "usage": usage,
        }
        data = json.dumps(payload, indent=2).encode()
        headers = [("content-type", "application/json"), ("content-length", str(len(data)))]
        return Exchange(url, body, 200, headers, [data], [0.45])
    chunks = [_chunk({"role": "assistant", "content": "", "refusal": None}, None, cid)]
    chunks += [_chunk({"content": w}, None, cid) for w in content]
    chunks.append(_chunk({}, "stop", cid))
    usage_chunk = _chunk({}, None, cid, usage=usage)
    usage_chunk = usage_chunk.replace(
        b'"choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":null}]', b'"choices":[]'
    )
    chunks.append(usage_chunk)
    chunks.append(b"data: [DONE]\n\n")
    times = [round(0.3 + 0.03 * i, 6) for i in range(len(chunks))]
    headers = [("content-type", "text/event-stream; charset=utf-8")]
    return Exchange(url, body, 200, headers, chunks, times)


def long_stream(seconds: float, gap: float) -> Exchange:
    """A streaming completion whose chunks arrive every ``gap`` seconds for ``seconds``."""
    n = max(3, round(seconds / gap) - 2)
    base = chat_exchange(True, tokens=n)
    times = [round(0.3 + gap * i, 6) for i in range(len(base.chunks))]
    return Exchange(base.url, base.request_body, 200, base.headers, base.chunks, times, head_t=0.25)


def many_interactions(n: int, *, identical: bool, seed: int = 7) -> list[Exchange]:
    """``n`` small streamed completions (about 700 bytes of YAML each, as in the issue's 3.4 MB /
    5,000). Distinct requests differ by message; identical ones share one request."""
    out = []
    rng = random.Random(seed)
    for i in range(n):
        content = "Same question again." if identical else f"Question {i}: {rng.getrandbits(32):08x}?"
        body = json.dumps(chat_body(True, content=content), separators=(",", ":")).encode()
        cid = f"chatcmpl-{i:06d}"
        chunks = [
            b'data: {"id":"%s","object":"chat.completion.chunk","choices":[{"index":0,"delta":'
            b'{"content":"Answer %d."},"finish_reason":null}]}\n\n' % (cid.encode(), i),
            b'data: {"id":"%s","object":"chat.completion.chunk","choices":[{"index":0,"delta":{},'
            b'"finish_reason":"stop"}]}\n\n' % cid.encode(),
            b"data: [DONE]\n\n",
        ]
        times = [0.21, 0.3, 0.31]
        out.append(
            Exchange(OPENAI_URL, body, 200, [("content-type", "text/event-stream")], chunks, times, 0.2)
        )
    return out


# -- writing ---------------------------------------------------------------------------------


def write_native(path: Path, exchanges: Sequence[Exchange]) -> Path:
    save_cassette(Cassette(interactions=[e.interaction() for e in exchanges]), path)
    return path


def write_vcr(path: Path, exchanges: Sequence[Exchange]) -> Path:
    """The same exchanges as a vcrpy YAML cassette, written by vcrpy's own serialiser."""
    from vcr.request import Request as VcrRequest
    from vcr.serialize import serialize
    from vcr.serializers import yamlserializer

    requests = [
        VcrRequest("POST", e.url, e.request_body, {"content-type": "application/json"}) for e in exchanges
    ]
    responses = [
        {
            "status": {"code": e.status, "message": "OK"},
            "headers": {k: [v] for k, v in e.headers},
            "body": {"string": e.body},
        }
        for e in exchanges
    ]
    text = serialize({"requests": requests, "responses": responses}, yamlserializer)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


# -- real recordings -------------------------------------------------------------------------

SHARED = Path(os.environ.get("LLM_REPLAY_SHARED") or ROOT.parent / "shared")
REAL = SHARED / "real-cassettes" / "openllmetry" / "packages"
REAL_OPENAI_STREAM = (
    REAL / "opentelemetry-instrumentation-openai/tests/traces/cassettes/test_finish_reasons/"
    "TestChatCompletionsFinishReasons.test_chat_streaming_sets_top_level_finish_reasons.yaml"
)
REAL_GROQ_STREAM = (
    REAL / "opentelemetry-instrumentation-groq/tests/traces/cassettes/test_chat_tracing/"
    "test_chat_streaming_legacy.yaml"
)


def real_exchange(path: Path, index: int = 0) -> Exchange | None:
    """Interaction ``index`` of a real vcrpy cassette, read by vcrpy, as an :class:`Exchange`.

    vcrpy stores a stream as one string; it is cut at SSE event boundaries (one event per read,
    as the providers send them) with synthetic arrival times. None when ``../shared`` is absent.
    """
    if not path.is_file():
        return None
    from vcr.filters import decode_response
    from vcr.serialize import deserialize
    from vcr.serializers import yamlserializer

    requests, responses, *_ = deserialize(path.read_text(), yamlserializer)
    request, response = requests[index], decode_response(responses[index])
    body: bytes = response["body"]["string"]
    headers = [
        (k, v)
        for k, values in response["headers"].items()
        for v in values
        if k.lower() not in ("content-encoding", "content-length", "transfer-encoding", "set-cookie")
    ]
    ctype = next((v for k, v in headers if k.lower() == "content-type"), "")
    chunks = split_at_events(body) if ctype.startswith("text/event-stream") else [body]
    times = [round(0.3 + 0.02 * i, 6) for i in range(len(chunks))]
    req_body = request.body or b""
    return Exchange(request.uri, req_body, response["status"]["code"], headers, chunks, times)
