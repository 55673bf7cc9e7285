"""Target 3, concurrency: N streams in flight on one virtual timeline, and loop timeouts.

- three streams of 1.5 / 1.2 / 1.5 s in flight at once (asyncio.gather, and three threads):
  wall time of the whole test vs instant timing, each stream's offsets vs its own recording
  (exact), and that together they took 1.5 s of virtual time (not serialised);
- ``asyncio.wait_for(..., 5)`` around a recorded 10-second stream: the virtual moment it fired
  and the wall time.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .core import Context, Row, Target, compare
from .data import long_stream, write_native

__all__ = ["run_concurrency"]

UNDER_50MS = Target("value", "<", 0.050, "< 50 ms")

# -- concurrency on one timeline ---------------------------------------------------------------

CONCURRENT_ENDS = (1.5, 1.2, 1.5)


def _concurrent_exchanges(gap: float) -> list[Any]:
    """Three streams ending at 1.5, 1.2 and 1.5 s, told apart by their request bodies."""
    import dataclasses
    import json

    out = []
    for i, end in enumerate(CONCURRENT_ENDS):
        ex = long_stream(end - 0.3 + gap, gap)
        times = [round(0.3 + (end - 0.3) * k / (len(ex.chunks) - 1), 6) for k in range(len(ex.chunks))]
        body = {**json.loads(ex.request_body), "user": f"stream-{i}"}
        out.append(dataclasses.replace(ex, request_body=json.dumps(body).encode(), times=times))
    return out


class _Three:
    """Three streams at once, under asyncio.gather or in three threads; what each observed."""

    def __init__(self, exchanges: list[Any], path: Path) -> None:
        import httpx2

        self.exchanges = exchanges
        self.path = path
        self.seen: dict[str, list[list[float]]] = {}
        self.totals: dict[str, float] = {}
        self.aclient = httpx2.AsyncClient()
        self.client = httpx2.Client()

    async def _one(self, i: int, origin: float) -> list[float]:
        ex = self.exchanges[i]
        async with self.aclient.stream("POST", ex.url, content=ex.request_body) as response:
            return [time.monotonic() - origin async for _ in response.aiter_raw()]

    def _sync_one(self, i: int, origin: float, out: list[list[float]]) -> None:
        ex = self.exchanges[i]
        with self.client.stream("POST", ex.url, content=ex.request_body) as response:
            out[i] = [time.monotonic() - origin for _ in response.iter_raw()]

    def gather(self, timing: str) -> Callable[[], None]:
        import replay

        async def main() -> list[list[float]]:
            origin = time.monotonic()
            found = await asyncio.gather(*(self._one(i, origin) for i in range(3)))
            self.totals[f"gather-{timing}"] = time.monotonic() - origin
            return list(found)

        def go() -> None:
            with replay.use_cassette(self.path, timing=timing):
                self.seen[f"gather-{timing}"] = asyncio.run(main())

        return go

    def threads(self, timing: str) -> Callable[[], None]:
        import replay

        def go() -> None:
            out: list[list[float]] = [[], [], []]
            with replay.use_cassette(self.path, timing=timing):
                origin = time.monotonic()
                workers = [threading.Thread(target=self._sync_one, args=(i, origin, out)) for i in range(3)]
                for worker in workers:
                    worker.start()
                for worker in workers:
                    worker.join()
                self.totals[f"threads-{timing}"] = time.monotonic() - origin
            self.seen[f"threads-{timing}"] = out

        return go


def run_concurrency(ctx: Context) -> None:
    """Rows 3.concurrent3.* and 3.wait_for.*."""
    exchanges = _concurrent_exchanges(ctx.size(0.1, 0.5))
    three = _Three(exchanges, write_native(ctx.workdir / "concurrent3.yaml", exchanges))
    seen, totals, aclient = three.seen, three.totals, three.aclient
    gather, threads = three.gather, three.threads
    rounds = ctx.size(15, 2)
    chunks = len(exchanges[0].chunks)
    for mode, make in (("gather", gather), ("threads", threads)):
        comp = compare({"virtual": make("virtual"), "instant": make("instant")}, rounds=rounds)
        ctx.add(
            comp.row(
                f"3.concurrent3.{mode}",
                f"three streams of 1.5/1.2/1.5 s ({chunks} chunks each) at once ({mode}), virtual, "
                "whole test",
                "virtual",
                "instant",
                baseline_label="instant timing",
                target=UNDER_50MS,
                note=f"virtual total {totals[mode + '-virtual']:.6f} s (1.5 s if not serialised)",
            )
        )
    ctx.add(_exact_row(seen, totals, exchanges))
    _wait_for_rows(ctx, aclient)


def _exact_row(seen: dict[str, list[list[float]]], totals: dict[str, float], exchanges: list[Any]) -> Row:
    error = 0.0
    for mode in ("gather", "threads"):
        for offsets, ex in zip(seen[f"{mode}-virtual"], exchanges, strict=True):
            error = max(error, _exact_all(offsets, ex.times))
        error = max(error, abs(totals[f"{mode}-virtual"] - max(CONCURRENT_ENDS)))
    return Row(
        "3.concurrent3.exact",
        "largest error of each concurrent stream's offsets vs its own recording, and of the total",
        error,
        target=Target("value", "<=", 1e-6, "<= 1 us"),
    )


def _exact_all(offsets: list[float], times: list[float]) -> float:
    if len(offsets) != len(times):
        return float("inf")
    return max(abs(a - b) for a, b in zip(offsets, times, strict=True))


def _wait_for_rows(ctx: Context, aclient: Any) -> None:
    import replay

    ex = long_stream(10.0, ctx.size(0.1, 0.5))
    path = write_native(ctx.workdir / "ten.yaml", [ex])
    fired: list[float] = []

    async def read() -> None:
        async with aclient.stream("POST", ex.url, content=ex.request_body) as response:
            async for _ in response.aiter_raw():
                pass

    async def main() -> None:
        origin = time.monotonic()
        try:
            await asyncio.wait_for(read(), 5)
        except asyncio.TimeoutError:
            fired.append(time.monotonic() - origin)

    def go() -> None:
        with replay.use_cassette(path, timing="virtual"):
            asyncio.run(main())

    comp = compare({"virtual": go}, rounds=ctx.size(15, 2))
    ctx.add(
        Row(
            "3.wait_for.moment",
            "asyncio.wait_for(..., 5) around a recorded 10 s stream: virtual moment it fired, error vs 5 s",
            abs(fired[-1] - 5.0) if fired else float("inf"),
            target=Target("value", "<=", 1e-6, "<= 1 us"),
        )
    )
    ctx.add(
        Row(
            "3.wait_for.wall",
            "the same, wall time of the whole test (open, stream until the timeout, close)",
            comp.median("virtual"),
            target=UNDER_50MS,
        )
    )
