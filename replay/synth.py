"""Cassettes from nothing, for the cases a recording never shows.

:func:`chat` builds one chat-completion interaction the real SDKs parse: OpenAI, Together
(``finish_reason: "eos"``, ``seed``, ``prompt`` echo, its own ``logprobs`` shape) or Anthropic
(content blocks, ``tool_use`` with ``input_json_delta`` fragments), streamed or not, with tool
calls, ``n > 1`` choices, usage and log probabilities, and a timing model (time to first token,
tokens per second) marked ``synthetic_timing`` in the file. Its match rule is method + path, so
it answers whatever the request body says.

Example usage::

    from replay import synth

    synth.cassette(
        synth.chat("It was a dark and", finish_reason="length", stream=True),
        synth.chat(tool_calls=[{"name": "get_weather", "arguments": {"city": "Paris"}}]),
    ).save("cassettes/edge.yaml")
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

from .chat.shapes import Shape
from .faults.providers import (
    PROVIDERS,
    Provider,
    encode_json,
    error_headers,
    error_payload,
    finish_reason_for,
)
from .model.cassette import Cassette, Chunk, Headers, Interaction, Request, Response

__all__ = ["cassette", "chat", "error"]

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


def chat(
    content: str | Sequence[str] = "Hello! How can I help you today?",
    *,
    finish_reason: str | None = None,
    stream: bool = True,
    ttft: float = 0.3,
    tokens_per_s: float = 40.0,
    n: int | None = None,
    tool_calls: Sequence[Mapping[str, Any]] = (),
    usage: bool = True,
    provider: Provider = "openai",
    model: str | None = None,
    url: str | None = None,
    prompt: str = "Hello",
    seed: int | None = None,
    logprobs: bool = False,
    echo: bool = False,
) -> Interaction:
    """One chat-completion interaction, streamed or not, that the provider's SDK parses.

    ``content`` is the answer (a list gives one per choice; ``n`` repeats one); ``tool_calls``
    are ``{"name", "arguments" (mapping or JSON text), "id"?}``; ``finish_reason`` defaults to
    the provider's (``stop``, Together ``eos``, Anthropic ``end_turn``; tool reasons with
    tools) and is written as the provider spells it. Timing: the first token ``ttft`` seconds
    after the request, then ``tokens_per_s``. ``usage`` adds token counts (a usage-only final
    chunk for OpenAI streams); ``seed``, ``logprobs`` and ``echo`` (the prompt echoed back)
    follow Together's shapes for ``provider="together"``.

    Example usage::

        interaction = synth.chat("Once upon a", finish_reason="length", provider="together")
    """
    if provider not in PROVIDERS:
        raise ValueError(f"provider must be one of {', '.join(PROVIDERS)}, got {provider!r}")
    contents = [content] if isinstance(content, str) else list(content)
    if not contents or not all(isinstance(c, str) for c in contents):
        raise ValueError(f"content must be a string or a non-empty list of strings, got {content!r}")
    if n is not None:
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ValueError(f"n must be a whole number >= 1, got {n!r}")
        if len(contents) == 1:
            contents = contents * n
        elif len(contents) != n:
            raise ValueError(f"n={n} but {len(contents)} contents were given; give one, or n of them")
    for name, value in (("ttft", ttft), ("tokens_per_s", tokens_per_s)):
        if (
            isinstance(value, bool)
            or not isinstance(value, (int, float))
            or not math.isfinite(value)
            or value < 0
        ):
            raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    if not tokens_per_s > 0:
        raise ValueError(f"tokens_per_s must be > 0, got {tokens_per_s!r}")
    if provider == "anthropic":
        if len(contents) > 1:
            raise ValueError(
                "Anthropic messages have one answer: n > 1 applies to provider='openai' or 'together'"
            )
        if not usage:
            raise ValueError(
                "Anthropic always reports usage; usage=False applies to OpenAI-compatible providers"
            )
        if logprobs or echo or seed is not None:
            raise ValueError("seed, logprobs and echo apply to OpenAI-compatible providers, not Anthropic")
    if echo and provider != "together":
        raise ValueError("echo (the prompt echoed back) is Together's; use provider='together'")
    if echo and stream:
        raise ValueError("echo applies to non-streamed Together completions (stream=False)")
    tools = _normalise_tools(tool_calls, provider)
    shape: Shape = "anthropic" if provider == "anthropic" else "openai"
    if finish_reason is None:
        finish_reason = {"openai": "stop", "together": "eos", "anthropic": "end_turn"}[provider]
        if tools:
            finish_reason = "tool_use" if provider == "anthropic" else "tool_calls"
    finish = finish_reason_for(finish_reason, shape)
    model = model or _MODELS[provider]
    request = _request(provider, url or _URLS[provider], model, prompt, stream, seed, logprobs, echo)
    clock = _Clock(float(ttft), float(tokens_per_s))
    spec = _Spec(provider, model, contents, tools, finish, usage, prompt, seed, logprobs, echo)
    build = _anthropic if provider == "anthropic" else _openai
    response = build(spec, clock, stream)
    return Interaction(request=request, response=response, match_on=("method", "path"))


class _Spec:
    def __init__(
        self,
        provider: str,
        model: str,
        contents: list[str],
        tools: list[dict[str, Any]],
        finish: str,
        usage: bool,
        prompt: str,
        seed: int | None,
        logprobs: bool,
        echo: bool,
    ) -> None:
        self.provider = provider
        self.model = model
        self.contents = contents
        self.tools = tools
        self.finish = finish
        self.usage = usage
        self.prompt = prompt
        self.seed = seed
        self.logprobs = logprobs
        self.echo = echo
        self.id = _digest(provider, model, contents, [t["text"] for t in tools], finish)

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


# -- Anthropic ------------------------------------------------------------------------------


def _anthropic(spec: _Spec, clock: _Clock, stream: bool) -> Response:
    mid = "msg_" + spec.id[:24]
    text = spec.contents[0]
    blocks: list[dict[str, Any]] = []
    if text:
        blocks.append({"type": "text", "text": text})
    for tool in spec.tools:
        blocks.append(
            {"type": "tool_use", "id": tool["id"], "name": tool["name"], "input": tool["input"] or {}}
        )
    usage = {"input_tokens": spec.prompt_tokens, "output_tokens": spec.completion_tokens()}
    message: dict[str, Any] = {"id": mid, "type": "message", "role": "assistant", "model": spec.model}
    if not stream:
        for _ in range(spec.completion_tokens()):
            clock.next()
        t = clock.now()
        payload = {
            **message,
            "content": blocks,
            "stop_reason": spec.finish,
            "stop_sequence": None,
            "usage": usage,
        }
        return _json_response("anthropic", t, payload)

    chunks: list[Chunk] = []

    def emit(kind: str, payload: dict[str, Any], t: float) -> None:
        chunks.append(Chunk(t=t, data=_sse({"type": kind, **payload}, kind)))

    head_t = round(clock.ttft, 6)
    start = {**message, "content": [], "stop_reason": None, "stop_sequence": None}
    start["usage"] = {"input_tokens": spec.prompt_tokens, "output_tokens": 1}
    first_t = clock.next()
    emit("message_start", {"message": start}, first_t)
    index = 0
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
    emit(
        "message_delta",
        {
            "delta": {"stop_reason": spec.finish, "stop_sequence": None},
            "usage": {"output_tokens": usage["output_tokens"]},
        },
        t_end,
    )
    emit("message_stop", {}, t_end)
    return _stream_response("anthropic", head_t, chunks)


# -- errors and whole cassettes ---------------------------------------------------------------


def error(
    status: int,
    *,
    provider: Provider = "openai",
    retry_after: float | None = None,
    url: str | None = None,
    t: float = 0.1,
) -> Interaction:
    """An error response shaped like the provider's (body and headers), matched on method + path.

    Example usage::

        synth.cassette(synth.error(429, retry_after=2), synth.chat("ok")).save(path)
    """
    if provider not in PROVIDERS:
        raise ValueError(f"provider must be one of {', '.join(PROVIDERS)}, got {provider!r}")
    if isinstance(status, bool) or not isinstance(status, int) or not 400 <= status <= 599:
        raise ValueError(f"status must be an error status 400-599, got {status!r}")
    body = encode_json(error_payload(provider, status, retry_after=retry_after))
    request = _request(
        provider, url or _URLS[provider], _MODELS[provider], "Hello", False, None, False, False
    )
    response = Response(
        status=status,
        t=t,
        headers=error_headers(provider, status, retry_after, body),
        chunks=[Chunk(t=t, data=body)],
        synthetic_timing=True,
    )
    return Interaction(request=request, response=response, match_on=("method", "path"))


def cassette(*interactions: Interaction) -> Cassette:
    """A cassette holding these interactions, in order (save it with ``.save(path)``).

    Example usage::

        synth.cassette(synth.error(429, retry_after=2), synth.chat("ok")).save("cassettes/retry.yaml")
    """
    for i, item in enumerate(interactions):
        if not isinstance(item, Interaction):
            raise TypeError(
                f"cassette() takes Interaction values (from synth.chat/synth.error); #{i} is {item!r}"
            )
    return Cassette(interactions=list(interactions))
