"""Build cassettes from the core models (no network): chat streams with chosen text and timing."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import replay
from replay import Cassette, Chunk, Interaction, Request, Response

URL = "http://127.0.0.1:9/v1/chat/completions"  # port 9 (discard): replay never connects


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
    url: str = URL,
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


def write(path: Path, *interactions: Interaction) -> Path:
    replay.save_cassette(Cassette(interactions=list(interactions)), path)
    return path
