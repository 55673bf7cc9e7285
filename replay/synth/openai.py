"""Synthetic OpenAI-compatible answers (OpenAI, Together), streamed or not."""

from __future__ import annotations

from typing import Any

from ..model.cassette import Chunk, Response
from .base import (
    _CREATED,
    _Clock,
    _fragments,
    _json_response,
    _logprob,
    _Spec,
    _sse,
    _stream_response,
    _tokens,
)

__all__ = ["_openai", "_openai_logprobs"]

# -- OpenAI-compatible (OpenAI, Together) ---------------------------------------------------


def _openai_logprobs(spec: _Spec, tokens: list[str], start: int) -> Any:
    if not spec.logprobs:
        return None
    if spec.provider == "together":
        return {
            "tokens": tokens,
            "token_logprobs": [_logprob(start + i) for i in range(len(tokens))],
            "token_ids": [1000 + start + i for i in range(len(tokens))],
        }
    return {
        "content": [
            {"token": tok, "logprob": _logprob(start + i), "bytes": list(tok.encode()), "top_logprobs": []}
            for i, tok in enumerate(tokens)
        ],
        "refusal": None,
    }


def _openai(spec: _Spec, clock: _Clock, stream: bool) -> Response:
    together = spec.provider == "together"
    cid = (spec.id[:16] + "-SYN") if together else "chatcmpl-" + spec.id[:24]
    base: dict[str, Any] = {
        "id": cid,
        "object": "chat.completion.chunk",
        "created": _CREATED,
        "model": spec.model,
    }
    if not together:
        base["system_fingerprint"] = "fp_llm_replay"
    tool_calls = [
        {"id": t["id"], "type": "function", "function": {"name": t["name"], "arguments": t["text"]}}
        for t in spec.tools
    ]
    if not stream:
        for _ in range(spec.completion_tokens()):
            clock.next()
        t = clock.now()
        choices = []
        for index, text in enumerate(spec.contents):
            message: dict[str, Any] = {
                "role": "assistant",
                "content": text if (text or not tool_calls) else None,
            }
            if together:
                message["tool_calls"] = tool_calls
            else:
                message["refusal"] = None
                if tool_calls:
                    message["tool_calls"] = tool_calls
            choice: dict[str, Any] = {
                "index": index,
                "message": message,
                "logprobs": _openai_logprobs(spec, _tokens(text), 0),
                "finish_reason": spec.finish,
            }
            if together:
                choice["seed"] = spec.seed
            choices.append(choice)
        payload: dict[str, Any] = {**base, "object": "chat.completion", "choices": choices}
        if together:
            payload["prompt"] = (
                [{"text": spec.prompt, "logprobs": _openai_logprobs(spec, _tokens(spec.prompt), 0)}]
                if spec.echo
                else []
            )
        if spec.usage:
            payload["usage"] = spec.openai_usage()
        return _json_response(spec.provider, t, payload)

    chunks: list[Chunk] = []

    def emit(choices: list[dict[str, Any]], t: float, **extra: Any) -> None:
        chunks.append(Chunk(t=t, data=_sse({**base, "choices": choices, **extra})))

    def make_choice(
        index: int, delta: dict[str, Any], *, finish: str | None = None, lp: Any = None
    ) -> dict[str, Any]:
        out: dict[str, Any] = {"index": index, "delta": delta, "logprobs": lp, "finish_reason": finish}
        if together:
            out["seed"] = spec.seed if finish else None
            out["text"] = delta.get("content") or ""
        return out

    head_t = round(clock.ttft, 6)
    role: dict[str, Any] = {"role": "assistant", "content": ""}
    if not together:
        role["refusal"] = None
    first_t = clock.next()
    emit([make_choice(i, dict(role)) for i in range(len(spec.contents))], first_t)
    per_choice = [_tokens(text) for text in spec.contents]
    longest = max(len(toks) for toks in per_choice)
    for step in range(longest):
        t = first_t if step == 0 else clock.next()
        for index, toks in enumerate(per_choice):
            if step >= len(toks):
                continue
            delta: dict[str, Any] = {"content": toks[step]}
            if together:
                delta = {
                    "token_id": 1000 + step,
                    "role": "assistant",
                    "content": toks[step],
                    "tool_calls": None,
                }
            lp: Any = None
            if spec.logprobs:
                lp = _logprob(step) if together else _openai_logprobs(spec, [toks[step]], step)
            emit([make_choice(index, delta, lp=lp)], t)
    for index in range(len(spec.contents)):
        for k, tool in enumerate(spec.tools):
            opening = {
                "index": k,
                "id": tool["id"],
                "type": "function",
                "function": {"name": tool["name"], "arguments": ""},
            }
            emit([make_choice(index, {"tool_calls": [opening]})], clock.next())
            for piece in _fragments(tool["text"]):
                emit(
                    [make_choice(index, {"tool_calls": [{"index": k, "function": {"arguments": piece}}]})],
                    clock.next(),
                )
    t_end = clock.next()
    for index in range(len(spec.contents)):
        extra: dict[str, Any] = {}
        if together and spec.usage and index == len(spec.contents) - 1:
            extra["usage"] = spec.openai_usage()
        closing: dict[str, Any] = {}
        if together:
            closing = {"token_id": 2, "role": "assistant", "content": "", "tool_calls": None}
        emit([make_choice(index, closing, finish=spec.finish)], t_end, **extra)
    if spec.usage and not together:
        emit([], t_end, usage=spec.openai_usage())
    chunks.append(Chunk(t=t_end, data=b"data: [DONE]\n\n"))
    return _stream_response(spec.provider, head_t, chunks)
