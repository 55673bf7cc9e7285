"""Clocks and timing policies: when a replayed chunk reaches the application.

- :class:`VirtualTiming` (:mod:`replay.timing.virtual`) runs the process's virtual timeline:
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

from ..modes import Timing, parse_timing
from .base import REAL, InstantTiming, RealTiming, Schedule, TimingPolicy
from .virtual import VIRTUAL_IGNORE, VirtualClock, VirtualTiming

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
