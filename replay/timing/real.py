"""The real clock, captured before anything patches ``time``.

freezegun and the virtual timeline replace ``time.monotonic`` and friends while a cassette is
active, and rewrite module globals bound to them; the real functions are therefore kept as
attributes of :data:`REAL`, an object nothing rewrites.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

__all__ = ["REAL", "real_monotonic", "real_perf_counter", "real_time"]


class _RealClock:
    """The real time functions, captured at import."""

    def __init__(self) -> None:
        self.perf_counter: Callable[[], float] = time.perf_counter
        self.perf_counter_ns: Callable[[], int] = time.perf_counter_ns
        self.monotonic: Callable[[], float] = time.monotonic
        self.monotonic_ns: Callable[[], int] = time.monotonic_ns
        self.time: Callable[[], float] = time.time
        self.time_ns: Callable[[], int] = time.time_ns
        self.sleep: Callable[[float], None] = time.sleep
        self.asyncio_sleep: Callable[..., Awaitable[Any]] = asyncio.sleep


REAL = _RealClock()


def real_monotonic() -> float:
    """``time.monotonic()`` of the real clock, even while a virtual cassette is active.

    Example usage::

        with replay.use_cassette(path):           # virtual timing
            wall0 = replay.real_monotonic()
            run_app()                              # 30 s of recorded stream
            assert replay.real_monotonic() - wall0 < 1
    """
    return REAL.monotonic()


def real_perf_counter() -> float:
    """``time.perf_counter()`` of the real clock, even while a virtual cassette is active."""
    return REAL.perf_counter()


def real_time() -> float:
    """``time.time()`` of the real clock (seconds since the epoch), even under virtual timing."""
    return REAL.time()
