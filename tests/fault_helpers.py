"""An "application" for fault tests: one chat call through a real SDK, sync or async, streamed
or not, reporting exactly what the application observed, exceptions included."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sdk_helpers import MESSAGES, make_client

import replay
from replay.timing.clock import REAL, VirtualClock

__all__ = ["Seen", "ask", "raw_reads", "record_chat", "snapshot", "transport_cause"]


@dataclass
class Seen:
    """What the application saw: text, finish reason, usage, chunk shapes, or the exception."""

    text: str | None = None
    finish: str | None = None
    usage: tuple[int, int] | None = None
    items: int = 0
    choice_counts: list[int] = field(default_factory=list)  # len(choices) per streamed chunk
    contents: list[Any] = field(default_factory=list)  # delta.content of choice 0 per chunk
    n_choices: int | None = None  # non-stream: len(choices) (None when choices is None)
    error: type[BaseException] | None = None
    cause: type[BaseException] | None = None
    message: str = ""
    head_at: float | None = None  # app clock (time.monotonic) when create() returned
    item_at: list[float] = field(default_factory=list)  # app clock per streamed item
    elapsed: float = 0.0  # app clock from before create() to the end
    wall: float = 0.0  # real seconds the call took
    # Each read of the response body as the HTTP library handed it to the SDK:
    # (app clock since before create(), bytes).
    reads: list[tuple[float, bytes]] = field(default_factory=list)


def transport_cause(exc: BaseException) -> type[BaseException] | None:
    """The exception ``exc`` was raised from (``raise ... from``) or while handling, if any."""
    under = exc.__cause__
    if under is None and not exc.__suppress_context__:
        under = exc.__context__
    return None if under is None else type(under)


def _now() -> float:
    """The application's clock, also from inside the HTTP libraries: freezegun serves them real
    time (they are on its ignore list), so the virtual clock is read directly when it runs."""
    clock = VirtualClock._current
    return clock.now() if clock is not None and clock.active else REAL.perf_counter()


@contextlib.contextmanager
def raw_reads(into: list[tuple[float, bytes]]) -> Iterator[None]:
    """Record every raw body read of httpx and httpx2 responses (what the network delivered),
    with its time on the application's clock since this block started.

    The response's byte stream is wrapped as the response is built: ``iter_raw``/``aiter_raw``
    are not on every read path (httpx2 2.17's ``aiter_bytes`` iterates the stream itself).
    """
    import httpx
    import httpx2

    t0 = _now()
    originals = []
    for lib in (httpx, httpx2):
        init = lib.Response.__init__
        originals.append((lib, init))
        wrapper = _reads_stream_class(lib, into, t0)

        def recording_init(
            self: Any, *args: Any, _init: Any = init, _wrap: Any = wrapper, **kwargs: Any
        ) -> None:
            _init(self, *args, **kwargs)
            if not isinstance(self.stream, _wrap):  # a response rebuilt around a recorded stream
                self.stream = _wrap(self.stream)

        lib.Response.__init__ = recording_init  # type: ignore[method-assign]
    try:
        yield
    finally:
        for lib, init in originals:
            lib.Response.__init__ = init  # type: ignore[method-assign]


def _reads_stream_class(lib: Any, into: list[tuple[float, bytes]], t0: float) -> Any:
    class ReadsStream(lib.SyncByteStream, lib.AsyncByteStream):  # type: ignore[misc]
        def __init__(self, inner: Any) -> None:
            self.inner = inner

        def __iter__(self) -> Iterator[bytes]:
            for data in self.inner:
                into.append((_now() - t0, data))
                yield data

        async def __aiter__(self) -> AsyncIterator[bytes]:
            async for data in self.inner:
                into.append((_now() - t0, data))
                yield data

        def close(self) -> None:
            if hasattr(self.inner, "close"):
                self.inner.close()

        async def aclose(self) -> None:
            if hasattr(self.inner, "aclose"):
                await self.inner.aclose()

    return ReadsStream


def _absorb_openai(seen: Seen, chunk: Any) -> None:
    choices = chunk.choices or []
    seen.choice_counts.append(len(choices))
    if choices:
        seen.contents.append(choices[0].delta.content)
    for choice in choices:
        if choice.delta.content:
            seen.text = (seen.text or "") + choice.delta.content
        if choice.finish_reason:
            seen.finish = choice.finish_reason
    if getattr(chunk, "usage", None) is not None:
        seen.usage = (chunk.usage.prompt_tokens, chunk.usage.completion_tokens)


def _absorb_anthropic(seen: Seen, event: Any) -> None:
    if event.type == "content_block_delta" and event.delta.type == "text_delta":
        seen.text = (seen.text or "") + event.delta.text
    elif event.type == "message_start":
        seen.usage = (event.message.usage.input_tokens, 0)
    elif event.type == "message_delta":
        seen.finish = event.delta.stop_reason
        seen.usage = ((seen.usage or (0, 0))[0], event.usage.output_tokens)


def _whole(seen: Seen, sdk: str, result: Any) -> None:
    if sdk == "anthropic":
        content = result.content
        seen.text = None if content is None else "".join(b.text for b in content if b.type == "text")
        seen.finish = result.stop_reason
        if result.usage is not None:
            seen.usage = (result.usage.input_tokens, result.usage.output_tokens)
        return
    choices = result.choices
    seen.n_choices = None if choices is None else len(choices)
    if choices:
        seen.text = choices[0].message.content
        seen.finish = choices[0].finish_reason
    if result.usage is not None:
        seen.usage = (result.usage.prompt_tokens, result.usage.completion_tokens)


def _kwargs(sdk: str, stream: bool, usage_chunk: bool) -> dict[str, Any]:
    if sdk == "anthropic":
        return {"model": "claude-test", "max_tokens": 64, "messages": MESSAGES, "stream": stream}
    kwargs: dict[str, Any] = {"model": "test-model", "messages": MESSAGES}
    if stream:
        kwargs["stream"] = True
        if usage_chunk and sdk == "openai":
            kwargs["stream_options"] = {"include_usage": True}
    return kwargs


def _call(client: Any, sdk: str, kwargs: dict[str, Any]) -> Any:
    if sdk == "anthropic":
        return client.messages.create(**kwargs)
    return client.chat.completions.create(**kwargs)


def ask(
    sdk: str,
    base_url: str,
    *,
    stream: bool,
    is_async: bool,
    usage_chunk: bool = False,
    **client_kwargs: Any,
) -> Seen:
    """One chat call as an application makes it; exceptions are caught and reported."""
    seen = Seen()
    kwargs = _kwargs(sdk, stream, usage_chunk)
    absorb = _absorb_anthropic if sdk == "anthropic" else _absorb_openai
    wall0 = REAL.perf_counter()  # the application's time.perf_counter may be virtual
    t0 = time.monotonic()
    try:
        with raw_reads(seen.reads):
            _run(_Call(seen, sdk, base_url, stream, kwargs, absorb, t0, client_kwargs), is_async)
    except Exception as exc:
        seen.error = type(exc)
        seen.cause = transport_cause(exc)
        seen.message = str(exc)
    seen.elapsed = time.monotonic() - t0
    seen.wall = REAL.perf_counter() - wall0
    return seen


@dataclass
class _Call:
    """One chat call in flight: what it asks, and where what it sees goes."""

    seen: Seen
    sdk: str
    base_url: str
    stream: bool
    kwargs: dict[str, Any]
    absorb: Any
    t0: float
    client_kwargs: dict[str, Any]

    def client(self, is_async: bool) -> Any:
        return make_client(self.sdk, self.base_url, is_async=is_async, **self.client_kwargs)

    def answered(self) -> None:
        self.seen.head_at = time.monotonic() - self.t0

    def item(self, item: Any) -> None:
        self.seen.items += 1
        self.seen.item_at.append(time.monotonic() - self.t0)
        self.absorb(self.seen, item)


def _run(call: _Call, is_async: bool) -> None:
    if is_async:
        asyncio.run(_ask_async(call))
        return
    with call.client(is_async=False) as client:
        result = _call(client, call.sdk, call.kwargs)
        call.answered()
        if not call.stream:
            _whole(call.seen, call.sdk, result)
            return
        with result:
            for item in result:
                call.item(item)


async def _ask_async(call: _Call) -> None:
    async with call.client(is_async=True) as client:
        result = await _call(client, call.sdk, call.kwargs)
        call.answered()
        if not call.stream:
            _whole(call.seen, call.sdk, result)
            return
        async with result:
            async for item in result:
                call.item(item)


def record_chat(sdk: str, base_url: str, path: Path, *, stream: bool, usage_chunk: bool = False) -> Seen:
    """Record one chat call from the local server into ``path``."""
    with replay.use_cassette(path, record_mode="once"):
        seen = ask(sdk, base_url, stream=stream, is_async=False, usage_chunk=usage_chunk)
    assert seen.error is None, seen.message
    return seen


def snapshot(paths: list[Path]) -> dict[Path, tuple[bytes, int]]:
    """Bytes and modification time of each file, to prove faults never touch the cassette."""
    return {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in paths}
