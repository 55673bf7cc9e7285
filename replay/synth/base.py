"""What every synthetic provider answer shares: ids, tokens, the synthetic clock, the request
and the response envelopes.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..faults.providers import (
    encode_json,
)
from ..model.cassette import Chunk, Headers, Request, Response

__all__ = [
    "_CREATED",
    "_MODELS",
    "_URLS",
    "_Clock",
    "_Spec",
    "_digest",
    "_fragments",
    "_json_response",
    "_logprob",
    "_normalise_tools",
    "_request",
    "_sse",
    "_stream_response",
    "_tokens",
]

_URLS: dict[str, str] = {
    "openai": "https://api.openai.com/v1/chat/completions",
    "together": "https://api.together.xyz/v1/chat/completions",
    "anthropic": "https://api.anthropic.com/v1/messages",
}
_MODELS: dict[str, str] = {
    "openai": "gpt-4o-mini",
    "together": "meta-llama/Llama-3.3-70B-Instruct-Turbo",
    "anthropic": "claude-sonnet-4-5",
}
_CREATED = 1_764_000_000


def _tokens(text: str) -> list[str]:
    """Word-sized pieces, leading space attached (``" world"``), as tokenizers cut text."""
    return re.findall(r"\s*\S+|\s+", text)


def _fragments(text: str, size: int = 8) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)] or [""]


def _logprob(i: int) -> float:
    # Deterministic, plausible values: recordings of the same prompt should not churn.
    return round(-0.05 * (1 + i % 7), 4)


def _digest(*parts: Any) -> str:
    return hashlib.sha1(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


class _Clock:
    """Arrival times: the first token at ``ttft``, then one per ``1 / tokens_per_s``."""

    def __init__(self, ttft: float, tokens_per_s: float) -> None:
        self.ttft = ttft
        self.step = 1.0 / tokens_per_s
        self.n = 0

    def next(self) -> float:
        t = self.ttft + self.n * self.step
        self.n += 1
        return round(t, 6)

    def now(self) -> float:
        return round(self.ttft + max(self.n - 1, 0) * self.step, 6)


def _normalise_tools(tool_calls: Sequence[Mapping[str, Any]], provider: str) -> list[dict[str, Any]]:
    out = []
    for i, call in enumerate(tool_calls):
        if not isinstance(call, Mapping) or not isinstance(call.get("name"), str) or not call["name"]:
            raise ValueError(
                f"tool_calls[{i}] must be a mapping with a 'name' (and 'arguments'), got {call!r}"
            )
        unknown = set(call) - {"name", "arguments", "id"}
        if unknown:
            raise ValueError(
                f"tool_calls[{i}] has unknown key(s) {sorted(unknown)}; known: name, arguments, id"
            )
        arguments = call.get("arguments", {})
        if isinstance(arguments, str):
            text = arguments
            try:
                parsed: Any = json.loads(arguments)
            except ValueError:
                if provider == "anthropic":
                    raise ValueError(
                        f"tool_calls[{i}].arguments: Anthropic tool input must be JSON, got {arguments!r}"
                    ) from None
                parsed = None  # OpenAI-compatible servers can stream broken JSON; keep it
        elif isinstance(arguments, Mapping):
            parsed = dict(arguments)
            text = json.dumps(parsed)
        else:
            raise ValueError(
                f"tool_calls[{i}].arguments must be a mapping or a JSON string, got {arguments!r}"
            )
        default_id = ("toolu_" if provider == "anthropic" else "call_") + _digest(i, call["name"], text)[:24]
        out.append({"id": call.get("id") or default_id, "name": call["name"], "text": text, "input": parsed})
    return out


@dataclass(slots=True)
class _Spec:
    provider: str
    model: str
    contents: list[str]
    tools: list[dict[str, Any]]
    finish: str
    usage: bool
    prompt: str
    seed: int | None
    logprobs: bool
    echo: bool
    id: str = field(init=False)

    def __post_init__(self) -> None:
        self.id = _digest(
            self.provider, self.model, self.contents, [t["text"] for t in self.tools], self.finish
        )

    @property
    def prompt_tokens(self) -> int:
        return max(1, len(_tokens(self.prompt)))

    def completion_tokens(self) -> int:
        count = sum(len(_tokens(c)) for c in self.contents)
        # Every choice makes the tool calls.
        return count + len(self.contents) * sum(len(_fragments(t["text"])) for t in self.tools)

    def openai_usage(self) -> dict[str, int]:
        completion = self.completion_tokens()
        return {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": completion,
            "total_tokens": self.prompt_tokens + completion,
        }


def _request(
    provider: str,
    url: str,
    model: str,
    prompt: str,
    stream: bool,
    seed: int | None,
    logprobs: bool,
    echo: bool,
) -> Request:
    body: dict[str, Any] = {"model": model, "messages": [{"role": "user", "content": prompt}]}
    headers: Headers = [("content-type", "application/json")]
    if provider == "anthropic":
        body["max_tokens"] = 1024
        headers.append(("anthropic-version", "2023-06-01"))
    if stream:
        body["stream"] = True
    if seed is not None:
        body["seed"] = seed
    if logprobs:
        body["logprobs"] = 1 if provider == "together" else True
    if echo:
        body["echo"] = True
    return Request(method="POST", url=url, headers=headers, body=encode_json(body))


def _sse(payload: Any, event: str | None = None) -> bytes:
    prefix = f"event: {event}\n" if event else ""
    return f"{prefix}data: {json.dumps(payload, separators=(',', ':'))}\n\n".encode()


def _stream_response(provider: str, head_t: float, chunks: list[Chunk]) -> Response:
    headers: Headers = [("content-type", "text/event-stream; charset=utf-8"), ("cache-control", "no-cache")]
    headers.append(("request-id", "req_synth") if provider == "anthropic" else ("x-request-id", "req_synth"))
    return Response(status=200, t=head_t, headers=headers, chunks=chunks, synthetic_timing=True)


def _json_response(provider: str, t: float, payload: Any) -> Response:
    body = encode_json(payload)
    headers: Headers = [("content-type", "application/json"), ("content-length", str(len(body)))]
    headers.append(("request-id", "req_synth") if provider == "anthropic" else ("x-request-id", "req_synth"))
    return Response(status=200, t=t, headers=headers, chunks=[Chunk(t=t, data=body)], synthetic_timing=True)
