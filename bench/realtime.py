"""Target 4: `real` timing precision, sync and async, and the CPU it costs.

A 200-chunk schedule with random 1-50 ms gaps is waited out by:

- llm-replay's real-time schedule (``RealTiming().schedule()``: sleep, then spin to an absolute
  deadline), sync and async;
- the plain baselines: ``time.sleep`` / ``asyncio.sleep`` to the same absolute deadlines.

Per-chunk error = |arrival - deadline|, p50 and p99; CPU = process time per wait. Then the
same schedule end to end: a cassette replayed with ``timing="real"`` through an httpx2 client,
each chunk's arrival measured by the application relative to the response head (so the client's
own request processing, the same in recording and replay, is not counted).
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable

from .core import Context, Row, Target, median, percentile
from .data import Exchange, chat_exchange, write_native

__all__ = ["ROW_IDS", "run"]

ROW_IDS = [f"4.{mode}.{stat}" for mode in ("sync", "async") for stat in ("p50", "p99", "cpu")] + [
    f"4.e2e.{mode}.{stat}" for mode in ("sync", "async") for stat in ("p50", "p99")
]
P50 = Target("value", "<=", 0.05e-3, "<= 0.05 ms")
P99 = Target("value", "<=", 0.5e-3, "<= 0.5 ms")


def schedule(n: int, lo: float, hi: float, seed: int = 11) -> list[float]:
    rng = random.Random(seed)
    t, out = 0.002, []
    for _ in range(n):
        t += rng.uniform(lo, hi)
        out.append(round(t, 6))
    return out


def _sync_errors(times: list[float], wait_for: Callable[[float, float], None]) -> tuple[list[float], float]:
    perf = time.perf_counter
    cpu0 = time.process_time()
    base = perf()
    errors = []
    for t in times:
        wait_for(base, t)
        errors.append(abs(perf() - base - t))
    return errors, (time.process_time() - cpu0) / len(times)


async def _async_errors(
    times: list[float], wait_for: Callable[[float, float], Awaitable[None]]
) -> tuple[list[float], float]:
    perf = time.perf_counter
    cpu0 = time.process_time()
    base = perf()
    errors = []
    for t in times:
        await wait_for(base, t)
        errors.append(abs(perf() - base - t))
    return errors, (time.process_time() - cpu0) / len(times)


def run(ctx: Context) -> None:
    from replay.clock import RealTiming

    n = ctx.size(200, 20)
    times = schedule(n, 0.001, ctx.size(50, 5) / 1000)
    timing = RealTiming()

    def ours_sync() -> tuple[list[float], float]:
        perf = time.perf_counter
        cpu0 = time.process_time()
        base = perf()
        sched = timing.schedule()  # its base is taken a microsecond after ours
        errors = []
        for t in times:
            sched.wait(t)
            errors.append(abs(perf() - base - t))
        return errors, (time.process_time() - cpu0) / len(times)

    def plain_sleep(base: float, t: float) -> None:
        remaining = base + t - time.perf_counter()
        if remaining > 0:
            time.sleep(remaining)

    async def ours_async() -> tuple[list[float], float]:
        perf = time.perf_counter
        cpu0 = time.process_time()
        base = perf()
        sched = timing.schedule()
        errors = []
        for t in times:
            await sched.wait_async(t)
            errors.append(abs(perf() - base - t))
        return errors, (time.process_time() - cpu0) / len(times)

    async def plain_async(base: float, t: float) -> None:
        remaining = base + t - time.perf_counter()
        if remaining > 0:
            await asyncio.sleep(remaining)

    results: dict[str, tuple[list[float], float]] = {}
    # Interleaved: ours, baseline, ours, baseline... pooled per variant.
    for _ in range(ctx.size(1, 1)):
        for name, go in (
            ("ours.sync", ours_sync),
            ("plain.sync", lambda: _sync_errors(times, plain_sleep)),
            ("ours.async", lambda: asyncio.run(ours_async())),
            ("plain.async", lambda: asyncio.run(_async_errors(times, plain_async))),
        ):
            errors, cpu = go()
            prev = results.get(name, ([], 0.0))
            results[name] = (prev[0] + errors, cpu if not prev[0] else (prev[1] + cpu) / 2)

    span = f"{n} chunks, {times[-1]:.1f} s"
    for mode, base_label in (("sync", "time.sleep"), ("async", "asyncio.sleep")):
        ours_e, ours_cpu = results[f"ours.{mode}"]
        plain_e, plain_cpu = results[f"plain.{mode}"]
        for stat, q, target in (("p50", 50.0, P50), ("p99", 99.0, P99)):
            ctx.add(
                Row(
                    f"4.{mode}.{stat}",
                    f"real timing, {mode}, per-chunk offset error {stat} ({span})",
                    percentile(ours_e, q),
                    baseline_name=base_label,
                    baseline=percentile(plain_e, q),
                    target=target,
                )
            )
        ctx.add(
            Row(
                f"4.{mode}.cpu",
                f"real timing, {mode}, CPU time per wait",
                ours_cpu,
                baseline_name=base_label,
                baseline=plain_cpu,
                note=f"mean gap {times[-1] / n * 1e3:.1f} ms",
            )
        )
    _end_to_end(ctx, times)


def _end_to_end(ctx: Context, times: list[float]) -> None:
    import httpx2

    import replay

    base = chat_exchange(True, tokens=len(times) - 4)
    ex = Exchange(base.url, base.request_body, 200, base.headers, base.chunks, times, head_t=0.001)
    path = write_native(ctx.workdir / "realtime.yaml", [ex])
    expected = [t - ex.head_t for t in times]

    def sync_run() -> list[float]:
        perf = time.perf_counter
        with (
            replay.use_cassette(path, timing="real"),
            httpx2.Client() as client,
            client.stream("POST", ex.url, content=ex.request_body) as response,
        ):
            head = perf()
            arrivals = [perf() - head for _ in response.iter_raw()]
        return [abs(a - e) for a, e in zip(arrivals, expected, strict=True)]

    async def async_run() -> list[float]:
        perf = time.perf_counter
        async with httpx2.AsyncClient() as client:
            with replay.use_cassette(path, timing="real"):
                async with client.stream("POST", ex.url, content=ex.request_body) as response:
                    head = perf()
                    arrivals = [perf() - head async for _ in response.aiter_raw()]
        return [abs(a - e) for a, e in zip(arrivals, expected, strict=True)]

    sync_run()  # warm-up: first-use imports and allocations must not land on a chunk
    asyncio.run(async_run())
    for mode, errors in (("sync", sync_run()), ("async", asyncio.run(async_run()))):
        for stat, q in (("p50", 50.0), ("p99", 99.0)):
            ctx.add(
                Row(
                    f"4.e2e.{mode}.{stat}",
                    f"real timing end to end through httpx2, {mode}, chunk error {stat} (vs head)",
                    percentile(errors, q),
                    note=f"median {median(errors) * 1e6:.0f} us",
                )
            )
