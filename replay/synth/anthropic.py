"""Synthetic Anthropic Messages answers, streamed or not."""

from __future__ import annotations

from typing import Any

from ..model.cassette import Chunk, Response
from .base import (
    _Clock,
    _fragments,
    _json_response,
    _Spec,
    _sse,
    _stream_response,
    _tokens,
)

__all__ = ["_anthropic"]

# -- Anthropic ------------------------------------------------------------------------------


def _anthropic(spec: _Spec, clock: _Clock, stream: bool) -> Response:
    message: dict[str, Any] = {
        "id": "msg_" + spec.id[:24],
        "type": "message",
        "role": "assistant",
        "model": spec.model,
    }
    if stream:
        return _anthropic_stream(spec, clock, message)
    for _ in range(spec.completion_tokens()):
        clock.next()
    blocks: list[dict[str, Any]] = []
    if spec.contents[0]:
        blocks.append({"type": "text", "text": spec.contents[0]})
    for tool in spec.tools:
        blocks.append(
            {"type": "tool_use", "id": tool["id"], "name": tool["name"], "input": tool["input"] or {}}
        )
    payload = {
        **message,
        "content": blocks,
        "stop_reason": spec.finish,
        "stop_sequence": None,
        "usage": {"input_tokens": spec.prompt_tokens, "output_tokens": spec.completion_tokens()},
    }
    return _json_response("anthropic", clock.now(), payload)


def _anthropic_stream(spec: _Spec, clock: _Clock, message: dict[str, Any]) -> Response:
    chunks: list[Chunk] = []

    def emit(kind: str, payload: dict[str, Any], t: float) -> None:
        chunks.append(Chunk(t=t, data=_sse({"type": kind, **payload}, kind)))

    head_t = round(clock.ttft, 6)
    start = {**message, "content": [], "stop_reason": None, "stop_sequence": None}
    start["usage"] = {"input_tokens": spec.prompt_tokens, "output_tokens": 1}
    first_t = clock.next()
    emit("message_start", {"message": start}, first_t)
    index = 0
    text = spec.contents[0]
    if text:
        emit("content_block_start", {"index": 0, "content_block": {"type": "text", "text": ""}}, first_t)
        emit("ping", {}, first_t)
        for step, token in enumerate(_tokens(text)):
            t = first_t if step == 0 else clock.next()
            emit("content_block_delta", {"index": 0, "delta": {"type": "text_delta", "text": token}}, t)
        emit("content_block_stop", {"index": 0}, clock.now())
        index = 1
    for tool in spec.tools:
        opening = {"type": "tool_use", "id": tool["id"], "name": tool["name"], "input": {}}
        emit("content_block_start", {"index": index, "content_block": opening}, clock.next())
        for piece in _fragments(tool["text"]):
            delta = {"type": "input_json_delta", "partial_json": piece}
            emit("content_block_delta", {"index": index, "delta": delta}, clock.next())
        emit("content_block_stop", {"index": index}, clock.now())
        index += 1
    t_end = clock.next()
    ending = {"stop_reason": spec.finish, "stop_sequence": None}
    emit("message_delta", {"delta": ending, "usage": {"output_tokens": spec.completion_tokens()}}, t_end)
    emit("message_stop", {}, t_end)
    return _stream_response("anthropic", head_t, chunks)


# -- errors and whole cassettes ---------------------------------------------------------------
