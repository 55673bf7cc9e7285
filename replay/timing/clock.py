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

from .base import REAL, InstantTiming, RealTiming, Schedule, TimingPolicy
from .policy import make_timing
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
