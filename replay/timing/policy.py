"""A timing policy from its name: the one constructor every entry point shares.

The virtual clock's module is imported only when virtual timing is asked for: a session that
replays instantly (the pytest-recording drop-in's default) never loads it.

Example usage::

    policy = make_timing("real", speed=2.0)
"""

from __future__ import annotations

from ..modes import Timing, parse_timing
from .base import InstantTiming, RealTiming, TimingPolicy

__all__ = ["make_timing"]


def make_timing(timing: Timing | str, speed: float = 1.0) -> TimingPolicy:
    """The policy object for a timing name; ``speed`` must be a positive number."""
    kind = parse_timing(timing)
    if isinstance(speed, bool) or not isinstance(speed, (int, float)) or not speed > 0:
        raise ValueError(f"speed must be a number > 0 (2.0 replays twice as fast), got {speed!r}")
    if kind is Timing.VIRTUAL:
        from .virtual import VirtualTiming

        return VirtualTiming(float(speed))
    if kind is Timing.REAL:
        return RealTiming(float(speed))
    return InstantTiming()
