"""Drive the real SDKs (sync or async, streaming or not) and report what the application saw."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

MESSAGES = [{"role": "user", "content": "Say hello from the test server"}]

# sdk name -> which HTTP client library it uses
SDK_LIBRARY = {"openai": "httpx2", "anthropic": "httpx2", "groq": "httpx", "together": "httpx"}


@dataclass
class ChatRun:
    """What the application observed: text, finish reason, usage, and per-chunk clock offsets."""

    text: str = ""
    finish_reason: str | None = None
    usage: tuple[int, int] | None = None
    offsets: list[float] = field(default_factory=list)  # time.monotonic() - start, per chunk/event
    chunks: int = 0
    head_offset: float | None = None


def make_client(sdk: str, base_url: str, *, is_async: bool, **kwargs: Any) -> Any:
    kwargs.setdefault("max_retries", 0)
    if sdk == "openai":
        import openai

        cls = openai.AsyncOpenAI if is_async else openai.OpenAI
        return cls(base_url=base_url + "/v1", **{"api_key": "sk-test-key", **kwargs})
    if sdk == "anthropic":
        import anthropic

        cls = anthropic.AsyncAnthropic if is_async else anthropic.Anthropic
        return cls(base_url=base_url, **{"api_key": "sk-ant-test", **kwargs})
    if sdk == "groq":
        import groq

        cls = groq.AsyncGroq if is_async else groq.Groq
        return cls(base_url=base_url, **{"api_key": "gsk_test", **kwargs})
    if sdk == "together":
        import together

        cls = together.AsyncTogether if is_async else together.Together
        return cls(base_url=base_url + "/v1", **{"api_key": "together-test", **kwargs})
    raise ValueError(sdk)


def _create(client: Any, sdk: str, stream: bool, model: str) -> Any:
    if sdk == "anthropic":
        return client.messages.create(model=model, max_tokens=64, messages=MESSAGES, stream=stream)
    kwargs: dict[str, Any] = {"model": model, "messages": MESSAGES}
    if stream:
        kwargs["stream"] = True
        if sdk == "openai":
            kwargs["stream_options"] = {"include_usage": True}
    return client.chat.completions.create(**kwargs)


def _absorb(run: ChatRun, sdk: str, item: Any, t0: float) -> None:
    run.offsets.append(time.monotonic() - t0)
    run.chunks += 1
    if sdk == "anthropic":
        kind = item.type
        if kind == "content_block_delta" and item.delta.type == "text_delta":
            run.text += item.delta.text
        elif kind == "message_delta":
            run.finish_reason = item.delta.stop_reason
            run.usage = (run.usage[0] if run.usage else 0, item.usage.output_tokens)
        elif kind == "message_start":
            run.usage = (item.message.usage.input_tokens, 0)
        return
    for choice in item.choices:
        if choice.delta.content:
            run.text += choice.delta.content
        if choice.finish_reason:
            run.finish_reason = choice.finish_reason
    usage = getattr(item, "usage", None)
    if usage is not None:
        run.usage = (usage.prompt_tokens, usage.completion_tokens)


def _absorb_whole(run: ChatRun, sdk: str, result: Any, t0: float) -> None:
    run.offsets.append(time.monotonic() - t0)
    if sdk == "anthropic":
        run.text = "".join(block.text for block in result.content if block.type == "text")
        run.finish_reason = result.stop_reason
        run.usage = (result.usage.input_tokens, result.usage.output_tokens)
        return
    run.text = result.choices[0].message.content or ""
    run.finish_reason = result.choices[0].finish_reason
    if result.usage is not None:
        run.usage = (result.usage.prompt_tokens, result.usage.completion_tokens)


def run_chat(sdk: str, base_url: str, *, stream: bool, is_async: bool, model: str = "test-model") -> ChatRun:
    """One chat request through the SDK; returns what the application observed."""
    if is_async:
        return asyncio.run(_run_async(sdk, base_url, stream=stream, model=model))
    run = ChatRun()
    client = make_client(sdk, base_url, is_async=False)
    with client:
        t0 = time.monotonic()
        result = _create(client, sdk, stream, model)
        if stream:
            with result:
                for item in result:
                    _absorb(run, sdk, item, t0)
        else:
            _absorb_whole(run, sdk, result, t0)
    return run


async def _run_async(sdk: str, base_url: str, *, stream: bool, model: str) -> ChatRun:
    run = ChatRun()
    client = make_client(sdk, base_url, is_async=True)
    async with client:
        t0 = time.monotonic()
        result = await _create(client, sdk, stream, model)
        if stream:
            async with result:
                async for item in result:
                    _absorb(run, sdk, item, t0)
        else:
            _absorb_whole(run, sdk, result, t0)
    return run


def raw_chunks(
    library: str, url: str, payload: dict[str, Any], *, is_async: bool
) -> tuple[list[bytes], list[float]]:
    """POST with the bare client library.

    Returns the decoded body pieces (one per network read) and their clock offsets.
    """
    import importlib

    lib = importlib.import_module(library)

    if is_async:

        async def go() -> tuple[list[bytes], list[float]]:
            chunks: list[bytes] = []
            offsets: list[float] = []
            async with lib.AsyncClient() as client:
                t0 = time.monotonic()
                async with client.stream("POST", url, json=payload) as response:
                    async for chunk in response.aiter_bytes():
                        offsets.append(time.monotonic() - t0)
                        chunks.append(chunk)
            return chunks, offsets

        return asyncio.run(go())
    chunks: list[bytes] = []
    offsets: list[float] = []
    with lib.Client() as client:
        t0 = time.monotonic()
        with client.stream("POST", url, json=payload) as response:
            for chunk in response.iter_bytes():
                offsets.append(time.monotonic() - t0)
                chunks.append(chunk)
    return chunks, offsets
