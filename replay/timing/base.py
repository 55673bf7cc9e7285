"""What every timing is: the real clock (never frozen), the Schedule and TimingPolicy protocols,
and the instant and real-time policies."""

from __future__ import annotations

import ctypes
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from ..modes import Timing
from .real import REAL

__all__ = ["REAL", "TIMER_SLACK", "InstantTiming", "RealTiming", "Schedule", "TimingPolicy"]


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
