"""Reading the rest of a small body the application closed early, while recording.

An SDK that gets a 429 or a 500 and retries (or raises without looking) closes the response
without reading its body. Recorded as it was read, the interaction would have no body and end
``closed_early``, and a later replay to an SDK that does read it (``max_retries=0``) would fail.
A bounded body (a Content-Length, or an error status, up to :data:`DRAIN_LIMIT` bytes) is
therefore read to its end on close, in a background thread (sync) or task (asyncio), so the
application is never delayed: its ``close()`` returns at once (asyncio: after a few loop turns
without a timer, :func:`yield_to`). The cassette waits for the drains when it closes
(:func:`wait_for_drains`), and so does closing the client (:func:`settle_drains`,
:func:`settle_drains_async`): closing its pool would close the connections being drained.
"""

from __future__ import annotations

import asyncio
import threading
import weakref
from collections.abc import AsyncIterable, Iterable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from ..model.cassette import StreamEnd, header_value

if TYPE_CHECKING:
    from .streams import PendingRecording

__all__ = [
    "DRAIN_LIMIT",
    "DRAIN_WAIT",
    "drain_async",
    "drain_budget",
    "drain_sync",
    "settle_drains",
    "settle_drains_async",
    "wait_for_drains",
    "yield_to",
]

DRAIN_LIMIT = 256 * 1024  # error bodies are small; a larger one is left closed_early
DRAIN_WAIT = 10.0  # seconds the cassette waits, at close, for a drain still reading

# Drains still reading, so that closing a client can let them finish first.
_threads: weakref.WeakSet[threading.Thread] = weakref.WeakSet()
_tasks: weakref.WeakSet[asyncio.Task[None]] = weakref.WeakSet()


def drain_budget(pending: PendingRecording) -> int | None:
    """How many more bytes a body closed early may still be read for, or None: do not drain."""
    if pending.done:
        return None
    length = _content_length(pending)
    if length is not None:
        rest = length - _received(pending)
        return rest if 0 < rest <= DRAIN_LIMIT else None
    # No length: only an error body is bounded in practice (a 200 may be an endless stream).
    return DRAIN_LIMIT if pending.status >= 400 else None


def _content_length(pending: PendingRecording) -> int | None:
    length = header_value(pending.headers, "content-length")
    return int(length) if length is not None and length.strip().isdigit() else None


def _received(pending: PendingRecording) -> int:
    return sum(len(d) for _, d in pending.raw)


class _Intake:
    """A drain's reads recorded into ``pending`` up to ``budget`` bytes, and how it ends: whole,
    or ``closed_early`` (over budget, or the read failed)."""

    __slots__ = ("left", "pending", "whole")

    def __init__(self, pending: PendingRecording, budget: int) -> None:
        self.pending = pending
        self.left = budget
        self.whole = True

    def take(self, chunk: bytes) -> bool:
        """Record ``chunk``; False once reading should stop."""
        if self.pending.done:
            self.whole = False  # the cassette closed meanwhile and kept what it had
        else:
            self.pending.add(chunk)
            self.left -= len(chunk)
            self.whole = self.left >= 0
        return self.whole

    @contextmanager
    def reading(self) -> Iterator[None]:
        """Around the reads: a failed read ends the drain, the body cut short."""
        try:
            yield
        except Exception:
            self.whole = False

    def finish(self) -> None:
        # A read that ended quietly short of the Content-Length (the connection closed under
        # it) is cut short too, not a whole empty body.
        length = _content_length(self.pending)
        short = length is not None and _received(self.pending) != length
        self.pending.finish(None if self.whole and not short else StreamEnd(kind="closed_early"))


def drain_sync(inner: Any, pending: PendingRecording, budget: int) -> threading.Thread:
    """Read the rest of ``inner`` into ``pending`` in a daemon thread, then close it."""

    def run() -> None:
        intake = _Intake(pending, budget)
        try:
            with intake.reading():
                for chunk in inner if isinstance(inner, Iterable) else ():
                    if not intake.take(chunk):
                        break
        finally:
            try:
                inner.close()
            finally:
                intake.finish()

    thread = threading.Thread(target=run, name="llm-replay-drain", daemon=True)
    _threads.add(thread)
    thread.start()
    return thread


def drain_async(inner: Any, pending: PendingRecording, budget: int) -> asyncio.Task[None] | None:
    """Read the rest of ``inner`` in a task of the running asyncio loop (None: no such loop,
    e.g. under trio; the body then stays ``closed_early``)."""
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return None

    async def run() -> None:
        intake = _Intake(pending, budget)
        try:
            with intake.reading():
                async for chunk in inner if isinstance(inner, AsyncIterable) else _nothing():
                    if not intake.take(chunk):
                        break
        finally:
            try:
                await inner.aclose()
            finally:
                intake.finish()

    task = loop.create_task(run(), name="llm-replay-drain")
    _tasks.add(task)
    return task


async def _nothing() -> Any:
    return
    yield  # an empty async generator


async def yield_to(task: asyncio.Task[None], turns: int = 16) -> None:
    """Give ``task`` a few turns of the loop (no timer, so no wall time): a body already in the
    socket buffer, the usual case for an error sent with its head, is read before the app goes
    on and can close the client (which would close the connection being drained)."""
    for _ in range(turns):
        if task.done():
            return
        await asyncio.sleep(0)


def wait_for_drains(drains: list[Any]) -> None:
    """Let drain threads finish (a task cannot be awaited from here: one still running when
    the cassette closes leaves its recording ``closed_early``)."""
    for drain in drains:
        if isinstance(drain, threading.Thread):
            drain.join(DRAIN_WAIT)


def settle_drains() -> None:
    """Before a client closes its connections: let the drain threads still reading finish."""
    wait_for_drains([t for t in list(_threads) if t.is_alive()])


async def settle_drains_async() -> None:
    """Before an async client closes its connections: let this loop's drain tasks finish."""
    loop = asyncio.get_running_loop()
    running = [t for t in list(_tasks) if not t.done() and t.get_loop() is loop]
    if running:
        await asyncio.wait(running, timeout=DRAIN_WAIT)
    settle_drains()
