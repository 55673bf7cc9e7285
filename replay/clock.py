"""Clocks and timing policies: when a replayed chunk reaches the application.

- :class:`VirtualTiming` (in :mod:`replay.timing.virtual`) runs the process's virtual timeline:
  each chunk is delivered at exactly ``request sent + t / speed`` on one clock shared by every
  thread and event loop; the clock jumps to the earliest pending deadline when everything that
  takes part is blocked, so no wall time passes and concurrent streams are not serialised.
- :class:`RealTiming` waits on the real clock for absolute deadlines (sleep, then spin for the
  last stretch), so errors never accumulate from chunk to chunk.
- :class:`InstantTiming` does not wait.

The real ``time`` functions are kept as attributes of :data:`REAL` (:mod:`replay.timing.real`),
an object the virtual clock does not touch.
"""

from __future__ import annotations

import ctypes
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from .modes import Timing, parse_timing
from .timing.real import REAL
from .timing.virtual import VIRTUAL_IGNORE, VirtualClock, VirtualTiming

__all__ = [
    "REAL",
    "VIRTUAL_IGNORE",
    "InstantTiming",
    "RealTiming",
    "Schedule",
    "TimingPolicy",
    "VirtualClock",
    "VirtualTiming",
    "make_timing",
]


class Schedule(Protocol):
    """The timing of one replayed response: waits until ``t`` seconds after the request."""

    def wait(self, t: float) -> None: ...

    async def wait_async(self, t: float) -> None: ...

    def now(self) -> float:
        """Seconds since the request, as the application's clock sees it."""
        ...

    def release(self) -> None:
        """The response is done (read, closed or failed): idempotent."""
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

    def release(self) -> None:
        return None


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

    def release(self) -> None:
        return None


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
