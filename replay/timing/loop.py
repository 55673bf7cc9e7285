"""asyncio event loops on the virtual timeline: sleep, wait_for, timeouts, call_later, anyio.

A loop is *attached* when it starts running while the timeline is active (``run_forever`` is
patched for that), when the timeline starts inside a running loop, or when a replayed
response is first awaited in it. Attaching changes three attributes of that loop instance:

- ``loop.time()`` reads the timeline (monotonic), so every timer the loop schedules
  (``asyncio.sleep``, ``wait_for``, ``asyncio.timeout``, ``call_later``, anyio's sleeps, cancel
  scopes and ``fail_after``) is a deadline on the same clock as the application's
  ``time.monotonic()``;
- its selector: when the loop has nothing ready, it polls for I/O without blocking and then waits
  on the timeline for its next timer (:meth:`~replay.timing.timeline.Timeline.loop_wait`), so the
  clock jumps to that timer when every participant is blocked; real I/O and
  ``call_soon_threadsafe`` still wake it. While the loop watches a socket of its own (real I/O
  with a server the cassette does not serve), its waits last their real duration instead, so a
  timeout around real I/O does not fire early;
- ``run_in_executor`` (``asyncio.to_thread``, ``getaddrinfo``): the call holds the timeline from
  submission until its result is back in the loop, so a ``wait_for`` around work in a thread does
  not fire while that work runs;
- ``call_soon_threadsafe``: work handed to the loop by another thread (anyio's worker threads
  report results this way) makes the loop count as running at once, before it wakes up.

The loop's own thread takes part in the timeline while the loop runs. After the timeline ends the
loop keeps a constant offset from the real clock (its ``time()`` continues from the last virtual
reading), so timers scheduled inside the cassette stay valid and loop time never goes back.

Loops that are not selector loops (uvloop, Windows' proactor) are not attached: a replayed
chunk then waits on the timeline by blocking the loop's thread, and the loop's timers keep real
time.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import weakref
from collections.abc import Callable
from typing import Any

from .real import REAL
from .timeline import NEVER, Hold, Timeline, ceil_us

__all__ = ["LoopClock", "LoopDriver", "sleep_until"]

_SKEWS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, float] = weakref.WeakKeyDictionary()
_MISSING = object()
_ATTRS = ("time", "_selector", "run_in_executor", "call_soon_threadsafe")


def _noop() -> None:
    return None


class _Selector:
    """The loop's selector, waiting on the timeline instead of real time when idle."""

    __slots__ = ("_clock", "_inner")

    def __init__(self, inner: Any, clock: LoopClock) -> None:
        self._inner = inner
        self._clock = clock

    def select(self, timeout: float | None = None) -> list[Any]:
        clock = self._clock
        timeline = clock.timeline
        if (timeout is not None and timeout <= 0) or not timeline.active:
            return self._inner.select(timeout)  # type: ignore[no-any-return]
        events = self._inner.select(0)
        if events:
            return events  # type: ignore[no-any-return]
        deadline = NEVER if timeout is None else clock.next_deadline()
        # A socket besides the loop's own wake-up pipe: real I/O is in flight (a server the
        # cassette does not serve), so its timeouts must last their real duration.
        real_io = len(self._inner.get_map()) > 1
        return timeline.loop_wait(deadline, clock.wake, self._inner.select, real=real_io)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


class LoopClock:
    """One attached loop: its clock origin on the timeline and what to restore."""

    def __init__(self, loop: asyncio.AbstractEventLoop, timeline: Timeline) -> None:
        self.loop = loop
        self.timeline = timeline
        self.hold: Hold | None = None
        self.running = 0  # run_forever calls in progress (each holds the timeline itself)
        self.origin = timeline.origin.monotonic + _SKEWS.get(loop, 0.0)
        self._saved = {name: loop.__dict__.get(name, _MISSING) for name in _ATTRS}
        origin = self.origin
        loop_any: Any = loop
        loop_any.time = lambda: origin + timeline.now_us / 1_000_000
        loop_any._selector = _Selector(loop_any._selector, self)
        loop_any.run_in_executor = self._run_in_executor
        loop_any.call_soon_threadsafe = self._call_soon_threadsafe
        self.member = timeline.join()  # attached from the loop's own thread

    def when(self, deadline: int) -> float:
        """The loop time of a timeline deadline (microseconds)."""
        return self.origin + deadline / 1_000_000

    def next_deadline(self) -> int:
        scheduled: list[Any] = getattr(self.loop, "_scheduled", [])
        if not scheduled:
            return NEVER
        return ceil_us(scheduled[0].when() - self.origin)

    def wake(self) -> None:
        with contextlib.suppress(RuntimeError):  # closed meanwhile
            type(self.loop).call_soon_threadsafe(self.loop, _noop)

    def _call_soon_threadsafe(self, callback: Callable[..., Any], *args: Any, context: Any = None) -> Any:
        handle = type(self.loop).call_soon_threadsafe(self.loop, callback, *args, context=context)
        # Work handed over from another thread (a result, anyio's worker threads): the loop
        # runs from now on, so the clock cannot jump before it has seen the work.
        self.timeline.rouse(self.member)
        return handle

    def _run_in_executor(self, executor: Any, func: Callable[..., Any], *args: Any) -> asyncio.Future[Any]:
        hold = self.timeline.hold(detached=True)

        def call() -> Any:
            hold.to_current_thread()
            return func(*args)

        try:
            future = type(self.loop).run_in_executor(self.loop, executor, call)
        except BaseException:
            hold.release()
            raise
        # Released in the loop once the result is there, not when the worker returns: else the
        # clock could jump to a timeout between the two.
        future.add_done_callback(lambda _: hold.release())
        return future

    def detach(self) -> None:
        loop_any: Any = self.loop
        reading = loop_any.time()
        skew = reading - REAL.monotonic()
        _SKEWS[self.loop] = skew
        selector = loop_any.__dict__.get("_selector")
        for name, value in self._saved.items():
            if value is _MISSING:
                loop_any.__dict__.pop(name, None)
            else:
                setattr(loop_any, name, value)
        if isinstance(selector, _Selector) and self._saved["_selector"] is _MISSING:
            loop_any._selector = selector._inner
        real = REAL.monotonic
        loop_any.time = lambda: real() + skew
        if self.hold is not None:
            self.hold.release()
            self.hold = None


class LoopDriver:
    """Attaches the loops that run while a timeline is active; detaches them at its end."""

    def __init__(self, timeline: Timeline) -> None:
        self.timeline = timeline
        self._clocks: dict[int, LoopClock] = {}
        self._lock = threading.Lock()
        self._original_run_forever: Any = None

    def start(self) -> None:
        original = asyncio.BaseEventLoop.run_forever
        self._original_run_forever = original
        driver = self

        def run_forever(loop: asyncio.BaseEventLoop) -> None:
            clock = driver.attach(loop)
            if clock is None:
                return original(loop)
            hold = driver.timeline.hold()
            clock.running += 1
            try:
                return original(loop)
            finally:
                clock.running -= 1
                hold.release()

        run_forever.__wrapped__ = original  # type: ignore[attr-defined]
        asyncio.BaseEventLoop.run_forever = run_forever  # type: ignore[method-assign,assignment]
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            return
        self.attach(running, hold=True)

    def stop(self) -> None:
        if self._original_run_forever is not None:
            asyncio.BaseEventLoop.run_forever = self._original_run_forever  # type: ignore[method-assign]
            self._original_run_forever = None
        with self._lock:
            clocks = list(self._clocks.values())
            self._clocks.clear()
        for clock in clocks:
            if not clock.loop.is_closed():
                clock.detach()
                clock.wake()
            elif clock.hold is not None:
                clock.hold.release()

    def attach(self, loop: asyncio.AbstractEventLoop, *, hold: bool = False) -> LoopClock | None:
        """The loop's clock, attaching it first; None for loops that cannot be attached."""
        clock = self._clocks.get(id(loop))
        if clock is None or clock.loop is not loop:
            if not isinstance(loop, asyncio.BaseEventLoop) or not hasattr(loop, "_selector"):
                return None
            if isinstance(loop.__dict__.get("_selector"), _Selector):
                return None  # attached to another timeline (should not happen)
            with self._lock:
                clock = self._clocks[id(loop)] = LoopClock(loop, self.timeline)
        if hold and clock.hold is None and not clock.running:
            # A loop that was already running when it was attached: it takes part until the
            # timeline ends (its run_forever call is not ours to see end).
            clock.hold = self.timeline.hold()
        return clock


async def sleep_until(driver: LoopDriver, deadline: int) -> None:
    """Await the timeline reaching ``deadline`` (microseconds) in the running loop."""
    timeline = driver.timeline
    if deadline <= timeline.now_us:
        return
    loop = asyncio.get_running_loop()
    clock = driver.attach(loop, hold=True)
    if clock is None:
        timeline.wait_until(deadline)  # a loop we cannot drive: block its thread instead
        return
    future: asyncio.Future[None] = loop.create_future()
    handle = loop.call_at(clock.when(deadline), _resolve, future)
    try:
        await future
    finally:
        handle.cancel()


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)
