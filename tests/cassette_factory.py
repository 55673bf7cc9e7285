"""Build small cassettes in code, for tests that need a precise, known stream."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path

import replay
from replay import Cassette, Chunk, Interaction, Request, Response

URL = "https://api.openai.com/v1/chat/completions"
BODY = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}], "stream": True}


def sse_chunk(content: str | None, finish: str | None = None, role: str | None = None) -> bytes:
    delta: dict[str, object] = {}
    if role is not None:
        delta["role"] = role
    delta["content"] = content
    payload = {
        "id": "chatcmpl-x",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "gpt-4o-mini",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    return b"data: " + json.dumps(payload, separators=(",", ":")).encode() + b"\n\n"


def stream_interaction(
    times: Sequence[float],
    *,
    ttfb: float | None = None,
    body: dict[str, object] | None = None,
    url: str = URL,
) -> Interaction:
    """An OpenAI streaming interaction with one event per chunk at the given times.

    Chunk 0 is the role delta, the middle ones carry tokens "t1", "t2", ..., then a finish
    chunk and ``[DONE]`` (so ``len(times)`` must be at least 3).
    """
    assert len(times) >= 3
    datas = [sse_chunk("", role="assistant")]
    datas += [sse_chunk(f"t{i}") for i in range(1, len(times) - 2)]
    datas += [sse_chunk(None, finish="stop"), b"data: [DONE]\n\n"]
    request = Request(
        method="POST",
        url=url,
        headers=[("content-type", "application/json")],
        body=json.dumps(body or BODY).encode(),
    )
    response = Response(
        status=200,
        t=times[0] if ttfb is None else ttfb,
        headers=[("content-type", "text/event-stream")],
        chunks=[Chunk(t=t, data=d) for t, d in zip(times, datas, strict=True)],
    )
    return Interaction(request=request, response=response)


def write_cassette(path: Path, *interactions: Interaction) -> Path:
    replay.save_cassette(Cassette(interactions=list(interactions)), path)
    return path


def even_times(n: int, *, first: float, gap: float) -> list[float]:
    return [round(first + i * gap, 6) for i in range(n)]


LOCAL_URL = "http://127.0.0.1:9/v1/chat/completions"  # port 9 (discard): replay never connects


def chat_body(model: str, stream: bool = True) -> dict[str, object]:
    return {"model": model, "messages": [{"role": "user", "content": "hi"}], "stream": stream}


def chat_stream(
    model: str = "m",
    tokens: tuple[str, ...] = ("Hel", "lo", "!"),
    *,
    head: float = 0.2,
    gap: float = 0.05,
    finish: str = "stop",
    recorded_at: datetime | None = None,
    url: str = LOCAL_URL,
    completion_tokens: int | None = None,
) -> Interaction:
    """An OpenAI-style stream: role chunk, one chunk per token, finish chunk, [DONE]."""

    def event(delta: dict[str, object], reason: str | None, **extra: object) -> bytes:
        payload = {
            "id": f"chatcmpl-{model}",
            "object": "chat.completion.chunk",
            "created": 1_764_000_000,
            "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": reason}],
            **extra,
        }
        return f"data: {json.dumps(payload, separators=(',', ':'))}\n\n".encode()

    datas = [event({"role": "assistant", "content": ""}, None)]
    datas += [event({"content": tok}, None) for tok in tokens]
    extra = {} if completion_tokens is None else {"usage": {"completion_tokens": completion_tokens}}
    datas.append(event({}, finish, **extra))
    datas.append(b"data: [DONE]\n\n")
    chunks = [Chunk(t=round(head + 0.01 + i * gap, 6), data=d) for i, d in enumerate(datas)]
    return Interaction(
        request=Request(
            method="POST",
            url=url,
            headers=[("content-type", "application/json")],
            body=json.dumps(chat_body(model)).encode(),
        ),
        response=Response(
            status=200,
            t=head,
            headers=[("content-type", "text/event-stream; charset=utf-8")],
            chunks=chunks,
        ),
        recorded_at=recorded_at or datetime.now(timezone.utc).replace(microsecond=0),
    )
