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
    if not stream:
        return _openai_whole(spec, clock, base)
    return _openai_stream(spec, clock, base)


def _tool_calls(spec: _Spec) -> list[dict[str, Any]]:
    return [
        {"id": t["id"], "type": "function", "function": {"name": t["name"], "arguments": t["text"]}}
        for t in spec.tools
    ]


def _openai_whole(spec: _Spec, clock: _Clock, base: dict[str, Any]) -> Response:
    """The non-streamed completion, sent once every token is generated."""
    together = spec.provider == "together"
    tool_calls = _tool_calls(spec)
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


class _OpenAIStream:
    """The chunks of a streamed completion, in the provider's shapes (OpenAI or Together)."""

    def __init__(self, spec: _Spec, base: dict[str, Any]) -> None:
        self.spec, self.base = spec, base
        self.together = spec.provider == "together"
        self.chunks: list[Chunk] = []

    def emit(self, choices: list[dict[str, Any]], t: float, **extra: Any) -> None:
        self.chunks.append(Chunk(t=t, data=_sse({**self.base, "choices": choices, **extra})))

    def choice(
        self, index: int, delta: dict[str, Any], *, finish: str | None = None, lp: Any = None
    ) -> dict[str, Any]:
        out: dict[str, Any] = {"index": index, "delta": delta, "logprobs": lp, "finish_reason": finish}
        if self.together:
            out["seed"] = self.spec.seed if finish else None
            out["text"] = delta.get("content") or ""
        return out

    def content(self, clock: _Clock) -> None:
        """The role chunk, then one token per chunk, the choices interleaved."""
        spec, together = self.spec, self.together
        role: dict[str, Any] = {"role": "assistant", "content": ""}
        if not together:
            role["refusal"] = None
        first_t = clock.next()
        self.emit([self.choice(i, dict(role)) for i in range(len(spec.contents))], first_t)
        per_choice = [_tokens(text) for text in spec.contents]
        for step in range(max(len(toks) for toks in per_choice)):
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
                self.emit([self.choice(index, delta, lp=lp)], t)

    def tools(self, clock: _Clock) -> None:
        """Each tool call opened, then its arguments in fragments, for every choice."""
        for index in range(len(self.spec.contents)):
            for k, tool in enumerate(self.spec.tools):
                opening = {
                    "index": k,
                    "id": tool["id"],
                    "type": "function",
                    "function": {"name": tool["name"], "arguments": ""},
                }
                self.emit([self.choice(index, {"tool_calls": [opening]})], clock.next())
                for piece in _fragments(tool["text"]):
                    fragment = {"tool_calls": [{"index": k, "function": {"arguments": piece}}]}
                    self.emit([self.choice(index, fragment)], clock.next())

    def ending(self, clock: _Clock) -> None:
        """Each choice's finish reason, usage where the provider sends it, and ``[DONE]``."""
        spec, together = self.spec, self.together
        t_end = clock.next()
        for index in range(len(spec.contents)):
            extra: dict[str, Any] = {}
            if together and spec.usage and index == len(spec.contents) - 1:
                extra["usage"] = spec.openai_usage()
            closing: dict[str, Any] = {}
            if together:
                closing = {"token_id": 2, "role": "assistant", "content": "", "tool_calls": None}
            self.emit([self.choice(index, closing, finish=spec.finish)], t_end, **extra)
        if spec.usage and not together:
            self.emit([], t_end, usage=spec.openai_usage())
        self.chunks.append(Chunk(t=t_end, data=b"data: [DONE]\n\n"))


def _openai_stream(spec: _Spec, clock: _Clock, base: dict[str, Any]) -> Response:
    head_t = round(clock.ttft, 6)
    stream = _OpenAIStream(spec, base)
    stream.content(clock)
    stream.tools(clock)
    stream.ending(clock)
    return _stream_response(spec.provider, head_t, stream.chunks)
