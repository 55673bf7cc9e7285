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

from ..modes import Timing, parse_timing
from .base import REAL, InstantTiming, RealTiming, Schedule, TimingPolicy
from .virtual import VirtualClock, VirtualTiming

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
