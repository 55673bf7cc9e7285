"""Clocks and timing policies: when a replayed chunk reaches the application.

- :class:`VirtualTiming` drives freezegun's clock. Each chunk is delivered with the frozen
  clock set to exactly ``request sent + t / speed``; no wall time passes. While it is active,
  ``time.sleep``, ``asyncio.sleep`` and ``anyio.sleep`` called by the thread that opened the
  cassette advance the virtual clock instead of waiting (the SDKs' retry back-off included).
  asyncio and anyio event loops keep real time (freezegun's ``real_asyncio``), so they never
  hang on a frozen clock.
- :class:`RealTiming` waits on the real clock for absolute deadlines (sleep, then spin for the
  last stretch), so errors never accumulate from chunk to chunk.
- :class:`InstantTiming` does not wait.

freezegun rewrites module globals bound to the real ``time`` functions, including ours; the real
functions are therefore kept as attributes of :data:`REAL`, an object it does not touch.
"""

from __future__ import annotations

import asyncio
import ctypes
import sys
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Protocol

from ..modes import Timing, parse_timing

__all__ = [
    "REAL",
    "InstantTiming",
    "RealTiming",
    "Schedule",
    "TimingPolicy",
    "VirtualClock",
    "VirtualTiming",
    "make_timing",
]


class _RealClock:
    """The real time functions, captured before anyone patches them."""

    def __init__(self) -> None:
        self.perf_counter: Callable[[], float] = time.perf_counter
        self.monotonic: Callable[[], float] = time.monotonic
        self.time: Callable[[], float] = time.time
        self.sleep: Callable[[float], None] = time.sleep
        self.asyncio_sleep: Callable[..., Awaitable[Any]] = asyncio.sleep


REAL = _RealClock()


class Schedule(Protocol):
    """The timing of one replayed response: waits until ``t`` seconds after the request."""

    def wait(self, t: float) -> None: ...

    async def wait_async(self, t: float) -> None: ...

    def now(self) -> float:
        """Seconds since the request, as the application's clock sees it."""
        ...


class TimingPolicy(Protocol):
    """Starts a :class:`Schedule` per request; ``activate``/``deactivate`` bracket a cassette."""

    name: Timing

    def activate(self) -> None: ...

    def deactivate(self) -> None: ...

    def schedule(self) -> Schedule: ...


# -- instant ---------------------------------------------------------------------------------


class _InstantSchedule:
    __slots__ = ()

    def wait(self, t: float) -> None:
        return None

    async def wait_async(self, t: float) -> None:
        return None

    def now(self) -> float:
        return 0.0


_INSTANT = _InstantSchedule()


class InstantTiming:
    """No delays: every chunk is available at once."""

    name = Timing.INSTANT

    def activate(self) -> None:
        return None

    def deactivate(self) -> None:
        return None

    def schedule(self) -> Schedule:
        return _INSTANT


# -- real ------------------------------------------------------------------------------------


class _TimerSlack:
    """Linux's per-thread timer slack: how late the kernel may fire a sleeping thread's timer.

    The default (50 us) is most of ``time.sleep``'s overshoot. Set to 1 ns around a precise
    wait, a sleep ends within tens of microseconds, so the final spin (which costs CPU) can be
    short: 0.2 ms instead of 1.5 ms. Elsewhere (or if prctl is unavailable) nothing changes.
    """

    PR_SET_TIMERSLACK = 29
    PR_GET_TIMERSLACK = 30

    def __init__(self) -> None:
        self._prctl: Callable[..., int] | None = None
        if sys.platform.startswith("linux"):
            try:
                self._prctl = ctypes.CDLL(None, use_errno=True).prctl
            except (OSError, AttributeError):
                self._prctl = None

    @property
    def available(self) -> bool:
        return self._prctl is not None

    def sleep(self, seconds: float) -> None:
        """``time.sleep`` with 1 ns timer slack for this thread, restored afterwards."""
        prctl = self._prctl
        if prctl is None:
            REAL.sleep(seconds)
            return
        previous = prctl(self.PR_GET_TIMERSLACK, 0, 0, 0, 0)
        prctl(self.PR_SET_TIMERSLACK, 1, 0, 0, 0)
        try:
            REAL.sleep(seconds)
        finally:
            prctl(self.PR_SET_TIMERSLACK, previous if previous > 0 else 0, 0, 0, 0)


TIMER_SLACK = _TimerSlack()
_ASYNC_MARGIN = 0.003  # seconds before a deadline that an async wait stops sleeping


@dataclass(slots=True)
class _RealSchedule:
    base: float
    speed: float
    spin: float

    def _deadline(self, t: float) -> float:
        return self.base + t / self.speed

    def wait(self, t: float) -> None:
        deadline = self._deadline(t)
        perf = REAL.perf_counter
        remaining = deadline - perf()
        if remaining > self.spin:
            TIMER_SLACK.sleep(remaining - self.spin)
        # A sleep still overshoots a little; spinning the last stretch against the absolute
        # deadline keeps each chunk within microseconds of its recorded offset.
        while perf() < deadline:
            pass

    async def wait_async(self, t: float) -> None:
        deadline = self._deadline(t)
        perf = REAL.perf_counter
        remaining = deadline - perf()
        # The event loop's timers round to whole milliseconds; sleep short of the deadline, then
        # yield to the loop until it passes, so other tasks keep running while we wait.
        if remaining > _ASYNC_MARGIN:
            await REAL.asyncio_sleep(remaining - _ASYNC_MARGIN)
        while perf() < deadline:
            await REAL.asyncio_sleep(0)

    def now(self) -> float:
        return (REAL.perf_counter() - self.base) * self.speed


class RealTiming:
    """Chunks arrive at their recorded offsets (divided by ``speed``) on the real clock.

    ``spin`` is how long before each deadline the wait stops sleeping and spins; a longer spin
    costs CPU and buys precision against the OS timer's overshoot.
    """

    name = Timing.REAL

    def __init__(self, speed: float = 1.0, spin: float | None = None) -> None:
        self.speed = speed
        # With 1 ns timer slack a sleep ends close enough for a 0.2 ms spin; without it the OS
        # timer can be a millisecond late.
        self.spin = spin if spin is not None else (0.0002 if TIMER_SLACK.available else 0.0015)

    def activate(self) -> None:
        return None

    def deactivate(self) -> None:
        return None

    def schedule(self) -> Schedule:
        return _RealSchedule(REAL.perf_counter(), self.speed, self.spin)


# -- virtual ---------------------------------------------------------------------------------

# Modules whose own calls to time functions keep seeing real time while the clock is virtual.
# Besides freezegun's defaults, these are HTTP clients and SDK internals: skipping them makes
# freezegun's start an order of magnitude cheaper (anthropic alone is ~3,000 modules), and none
# of them reads the clock on the application's behalf. Application code and test code always
# see the virtual clock. (llm-replay itself is not listed: it never calls the patched functions,
# it keeps the real ones in REAL.) freezegun matches these as name prefixes.
VIRTUAL_IGNORE: tuple[str, ...] = (
    "httpx",
    "httpx2",
    "httpcore",
    "httpcore2",
    "h11",
    "h2",
    "openai",
    "anthropic",
    "groq",
    "together",
    "mistralai",
    "cohere",
    "writerai",
    "litellm",
    "pydantic",
    "pydantic_core",
    "jiter",
    "yaml",
    "vcr",
    "rich",
    "pygments",
)


class VirtualClock:
    """One virtual clock per process, shared by nested cassettes (reference counted).

    The frozen time is always ``anchor + offset`` with a whole-second anchor, so the offsets
    the application computes are exact to the microsecond.
    """

    _lock = threading.RLock()
    _current: VirtualClock | None = None

    def __init__(self) -> None:
        self._users = 0
        self._offset = 0.0
        self._freezer: Any = None
        self._factory: Any = None
        self._anchor = datetime(2000, 1, 1)
        self._owner: int | None = None
        self._undo: list[tuple[Any, str, Any]] = []

    @classmethod
    def acquire(cls) -> VirtualClock:
        with cls._lock:
            clock = cls._current
            if clock is None:
                clock = cls._current = VirtualClock()
            clock._users += 1
            if clock._users == 1:
                clock._start()
            return clock

    def release(self) -> None:
        with VirtualClock._lock:
            self._users -= 1
            if self._users == 0:
                self._stop()
                VirtualClock._current = None

    @property
    def active(self) -> bool:
        return self._users > 0

    def _start(self) -> None:
        from ._freeze import make_freezer

        _teach_pydantic_fake_dates()
        now = datetime.fromtimestamp(REAL.time(), tz=timezone.utc).replace(microsecond=0, tzinfo=None)
        self._anchor = now
        self._offset = 0.0
        self._freezer = make_freezer(now, VIRTUAL_IGNORE)
        self._factory = self._freezer.start()
        self._owner = threading.get_ident()
        self._patch_sleeps()

    def _stop(self) -> None:
        for obj, name, original in reversed(self._undo):
            setattr(obj, name, original)
        self._undo.clear()
        if self._freezer is not None:
            self._freezer.stop()
        self._freezer = self._factory = None
        self._owner = None

    def now(self) -> float:
        """Seconds since the clock was frozen, as the application sees them."""
        return self._offset

    def advance_to(self, offset: float) -> None:
        """Move the clock forward to ``offset`` (never backwards)."""
        offset = round(offset, 6)
        if offset <= self._offset or self._factory is None:
            return
        self._offset = offset
        self._factory.move_to(self._anchor + timedelta(microseconds=round(offset * 1_000_000)))

    def advance_by(self, seconds: float) -> None:
        self.advance_to(self._offset + max(0.0, seconds))

    # Sleeps in the cassette's own thread advance the virtual clock; other threads (a server
    # in the test, a worker pool) keep sleeping for real.
    def _patch_sleeps(self) -> None:
        owner = self._owner

        def sleep(seconds: float) -> None:
            if threading.get_ident() != owner:
                return REAL.sleep(seconds)
            if seconds < 0:
                raise ValueError("sleep length must be non-negative")
            self.advance_by(seconds)
            return None

        async def asyncio_sleep(delay: float, result: Any = None) -> Any:
            if threading.get_ident() == owner and delay > 0:
                self.advance_by(delay)
            # Still yield to the loop, as a real sleep would.
            return await REAL.asyncio_sleep(0, result)

        self._replace(time, "sleep", sleep)
        self._replace(asyncio, "sleep", asyncio_sleep)
        import sys

        anyio = sys.modules.get("anyio")
        if anyio is not None:

            async def anyio_sleep(delay: float) -> None:
                await asyncio_sleep(delay)

            self._replace(anyio, "sleep", anyio_sleep)

    def _replace(self, obj: Any, name: str, value: Any) -> None:
        self._undo.append((obj, name, getattr(obj, name)))
        setattr(obj, name, value)


def _teach_pydantic_fake_dates() -> None:
    """Let pydantic build schemas for freezegun's ``FakeDatetime``/``FakeDate``.

    While the clock is frozen, ``datetime.datetime`` *is* ``FakeDatetime``; an SDK module first
    imported then (many load lazily, e.g. cohere's ``TypeAdapter(dt.datetime)``) hands that class
    to pydantic, which refuses unknown types. The fakes validate as the real types do.
    """
    from freezegun.api import FakeDate, FakeDatetime
    from pydantic_core import core_schema

    def hook(schema: Callable[[], Any]) -> Any:
        return classmethod(lambda cls, source, handler: schema())

    if "__get_pydantic_core_schema__" not in FakeDatetime.__dict__:
        FakeDatetime.__get_pydantic_core_schema__ = hook(core_schema.datetime_schema)  # type: ignore[attr-defined]
    if "__get_pydantic_core_schema__" not in FakeDate.__dict__:
        FakeDate.__get_pydantic_core_schema__ = hook(core_schema.date_schema)  # type: ignore[attr-defined]


@dataclass(slots=True)
class _VirtualSchedule:
    clock: VirtualClock
    base: float
    speed: float

    def wait(self, t: float) -> None:
        self.clock.advance_to(self.base + t / self.speed)

    async def wait_async(self, t: float) -> None:
        self.clock.advance_to(self.base + t / self.speed)

    def now(self) -> float:
        return (self.clock.now() - self.base) * self.speed


class VirtualTiming:
    """Chunks arrive at their recorded offsets on freezegun's clock; the test waits for nothing."""

    name = Timing.VIRTUAL

    def __init__(self, speed: float = 1.0) -> None:
        self.speed = speed
        self._clock: VirtualClock | None = None

    @property
    def clock(self) -> VirtualClock | None:
        return self._clock

    def activate(self) -> None:
        if self._clock is None:
            self._clock = VirtualClock.acquire()

    def deactivate(self) -> None:
        if self._clock is not None:
            self._clock.release()
            self._clock = None

    def schedule(self) -> Schedule:
        if self._clock is None:
            raise RuntimeError("virtual timing used outside an active cassette")
        return _VirtualSchedule(self._clock, self._clock.now(), self.speed)


def make_timing(timing: Timing | str, speed: float = 1.0) -> TimingPolicy:
    """The policy object for a timing name; ``speed`` must be a positive number."""
    kind = parse_timing(timing)
    if isinstance(speed, bool) or not isinstance(speed, (int, float)) or not speed > 0:
        raise ValueError(f"speed must be a number > 0 (2.0 replays twice as fast), got {speed!r}")
    if kind is Timing.VIRTUAL:
        return VirtualTiming(float(speed))
    if kind is Timing.REAL:
        return RealTiming(float(speed))
    return InstantTiming()
