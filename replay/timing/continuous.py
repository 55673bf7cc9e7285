"""Clocks for pytest's own durations: real time plus every second replayed so far.

The application's clock is virtual inside a cassette and real outside, so it jumps at the
boundaries (forward when the cassette opens late in real terms, back when it closes). pytest's
durations must neither go negative nor read the epoch: these clocks go on from the last virtual
reading instead, continuous and never decreasing.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from .real import REAL

if TYPE_CHECKING:
    from .timeline import Timeline

__all__ = ["continuous_perf_counter", "continuous_time", "follow", "unfollow"]

_LOCK = threading.Lock()
_SKEW = [0.0]  # virtual seconds minus real seconds, summed over the timelines that have ended
_CURRENT: list[Timeline | None] = [None]


def _skew() -> float:
    timeline = _CURRENT[0]
    if timeline is None:
        return _SKEW[0]
    return _SKEW[0] + timeline.now_us / 1_000_000 - (REAL.perf_counter() - timeline.origin.perf_counter)


def continuous_perf_counter() -> float:
    """A perf counter that reads real time plus every second replayed so far in this process.

    pytest's durations read it (the plugin installs it), so a virtual test's call shows what
    really elapsed plus what was replayed.
    """
    return REAL.perf_counter() + _skew()


def continuous_time() -> float:
    """``time.time()`` plus every second replayed so far in this process (see above)."""
    return REAL.time() + _skew()


def follow(timeline: Timeline) -> None:
    """The continuous clocks follow ``timeline`` while it runs."""
    with _LOCK:
        _CURRENT[0] = timeline


def unfollow(timeline: Timeline) -> None:
    """Fold ``timeline``'s lead over real time into the skew; the clocks go on from there."""
    with _LOCK:
        if _CURRENT[0] is timeline:
            _SKEW[0] = _skew()
            _CURRENT[0] = None
