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

import math
from collections.abc import Mapping, Sequence
from typing import Any

from ..chat.shapes import Shape
from ..faults.providers import (
    PROVIDERS,
    Provider,
    encode_json,
    error_headers,
    error_payload,
    finish_reason_for,
)
from ..model.cassette import Cassette, Chunk, Interaction, Response
from .anthropic import _anthropic
from .base import _MODELS, _URLS, _Clock, _normalise_tools, _request, _Spec
from .openai import _openai

__all__ = ["cassette", "chat", "error"]


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
    contents = _contents(content, n)
    _check_timing(ttft, tokens_per_s)
    _check_provider_options(provider, len(contents), usage=usage, seed=seed, logprobs=logprobs, echo=echo)
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


def _contents(content: str | Sequence[str], n: int | None) -> list[str]:
    """One answer per choice: ``content`` as given, or repeated ``n`` times."""
    contents = [content] if isinstance(content, str) else list(content)
    if not contents or not all(isinstance(c, str) for c in contents):
        raise ValueError(f"content must be a string or a non-empty list of strings, got {content!r}")
    if n is None:
        return contents
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"n must be a whole number >= 1, got {n!r}")
    if len(contents) == 1:
        return contents * n
    if len(contents) != n:
        raise ValueError(f"n={n} but {len(contents)} contents were given; give one, or n of them")
    return contents


def _check_timing(ttft: float, tokens_per_s: float) -> None:
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


def _check_provider_options(
    provider: Provider, choices: int, *, usage: bool, seed: int | None, logprobs: bool, echo: bool
) -> None:
    """Options only some providers have, refused where the provider's API has no such thing."""
    if provider == "anthropic":
        if choices > 1:
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
