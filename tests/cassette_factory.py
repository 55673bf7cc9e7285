"""Build small cassettes in code, for tests that need a precise, known stream."""

from __future__ import annotations

import json
from collections.abc import Sequence
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
