"""Absolute deadlines on an asyncio loop, precise to a fraction of a millisecond.

The asyncio form of :class:`replay.clock.RealTiming`'s policy (sleep, then spin the last
stretch against an absolute deadline). An event loop's timers fire up to a millisecond late
(``epoll`` takes whole milliseconds, rounded up), so each waiter sleeps on the loop until
:data:`MARGIN` before its deadline, then hands the deadline to one shared spinner. The spinner
yields to the loop between clock readings, so a hundred streams waiting at once cost one spin,
not a hundred, and other tasks keep running while it spins.

Every deadline is absolute (request arrival + offset / speed): a late chunk never delays the
next one.
"""

from __future__ import annotations

import asyncio
import ctypes
import heapq
import itertools
import math
import sys

from .engine_link import REAL

__all__ = ["MARGIN", "PreciseTimer", "reduce_timer_slack"]

MARGIN = 0.0015  # seconds before a deadline that a waiter stops sleeping on the loop's timers


def reduce_timer_slack() -> bool:
    """Set this thread's Linux timer slack to 1 ns (the default 50 us is most of a sleep's
    overshoot); the server's loop thread does nothing else, so it is set once. False elsewhere."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return False
    return bool(prctl(29, 1, 0, 0, 0) == 0)  # PR_SET_TIMERSLACK


class PreciseTimer:
    """Waits on one event loop until absolute ``REAL.perf_counter()`` deadlines.

    Example usage::

        timer = PreciseTimer()
        base = REAL.perf_counter()
        await timer.wait_until(base + 0.120)   # within tens of microseconds of base + 120 ms
    """

    def __init__(self, margin: float = MARGIN) -> None:
        self.margin = margin
        self._heap: list[tuple[float, int, asyncio.Future[None]]] = []
        self._seq = itertools.count()
        self._spinner: asyncio.Task[None] | None = None

    async def wait_until(self, deadline: float) -> None:
        """Return at ``deadline`` (never before); an infinite deadline waits until cancelled."""
        if math.isinf(deadline):
            await asyncio.Event().wait()  # silence until the client or the server goes away
            return
        remaining = deadline - REAL.perf_counter()
        if remaining <= 0:
            return
        if remaining > self.margin:
            await REAL.asyncio_sleep(remaining - self.margin)
            if REAL.perf_counter() >= deadline:
                return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._heap, (deadline, next(self._seq), future))
        if self._spinner is None or self._spinner.done():
            self._spinner = asyncio.get_running_loop().create_task(self._spin())
        await future

    async def _spin(self) -> None:
        heap = self._heap
        perf = REAL.perf_counter
        while heap:
            now = perf()
            while heap and heap[0][0] <= now:
                _, _, future = heapq.heappop(heap)
                if not future.done():  # a cancelled waiter (its client hung up) is skipped
                    future.set_result(None)
            if heap:
                await REAL.asyncio_sleep(0)
