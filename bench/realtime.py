"""Target 4: `real` timing precision, sync and async, and the CPU it costs.

Each waiting strategy waits out 200 deadlines with random 1-50 ms gaps. The strategies are
interleaved deadline by deadline (deadline i is served by strategy i mod k), so they share the
machine's noise; each has its own 200 deadlines. Strategies:

- llm-replay's real-time schedule (``RealTiming().schedule()``), sync and async. Sync: on Linux
  the thread's timer slack is set to 1 ns while it sleeps (``prctl(PR_SET_TIMERSLACK)``; the
  default 50 us slack is most of ``time.sleep``'s overshoot), then it spins the last 0.2 ms to
  the absolute deadline. Async: ``asyncio.sleep`` to 3 ms before the deadline, then it yields to
  the loop until the deadline passes;
- the plain baselines: ``time.sleep`` / ``asyncio.sleep`` to the same absolute deadlines;
- alternatives, for comparison: timer slack alone (no spin), the same slack + 200 us spin as
  written here, and an async wait that busy-yields only the last 1.5 ms (the event loop's timer
  granularity is 1 ms) instead of 3 ms.

Per-deadline error = |arrival - deadline|, p50 and p99; CPU = process time per wait. Then end to
end: a cassette replayed with ``timing="real"`` through an httpx2 client, each chunk's arrival
measured by the application relative to the response head; the constant part (the client's own
processing of the head and of each chunk, the same when recording and replaying) is the median
offset, reported apart, and the error is each chunk's distance from it (jitter).
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import random
import sys
import time
from collections.abc import Awaitable, Callable

from .core import Context, Row, Target, median, percentile
from .data import Exchange, chat_exchange, write_native

__all__ = ["ROW_IDS", "TimerSlack", "run"]

SYNC = ("llm-replay", "time.sleep", "slack", "slack+spin200")
ASYNC = ("llm-replay", "asyncio.sleep", "spin1.5ms")
ROW_IDS = (
    [f"4.{mode}.{stat}" for mode in ("sync", "async") for stat in ("p50", "p99", "cpu")]
    + [f"4.proto.sync.{v}.{stat}" for v in SYNC[2:] for stat in ("p50", "p99", "cpu")]
    + [f"4.proto.async.{v}.{stat}" for v in ASYNC[2:] for stat in ("p50", "p99", "cpu")]
    + [f"4.e2e.{mode}.{stat}" for mode in ("sync", "async") for stat in ("p50", "p99")]
)
P50 = Target("value", "<=", 0.05e-3, "<= 0.05 ms")
P99 = Target("value", "<=", 0.5e-3, "<= 0.5 ms")
TARGETS = {"p50": P50, "p99": P99}
_LABELS = {
    "slack": "alternative: timer slack 1 ns + time.sleep, no spin",
    "slack+spin200": "alternative: timer slack 1 ns + sleep, then 200 us spin (written here)",
    "spin1.5ms": "alternative: asyncio.sleep, then busy-yield only the last 1.5 ms",
}


class TimerSlack:
    """Linux per-thread timer slack (``prctl``): how late the kernel may fire a sleeping timer."""

    PR_SET_TIMERSLACK = 29
    PR_GET_TIMERSLACK = 30

    def __init__(self) -> None:
        self._prctl: Callable[..., int] | None = None
        if sys.platform.startswith("linux"):
            libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
            self._prctl = libc.prctl

    @property
    def available(self) -> bool:
        return self._prctl is not None

    def get(self) -> int:
        return self._prctl(self.PR_GET_TIMERSLACK, 0, 0, 0, 0) if self._prctl else 0

    def set(self, ns: int) -> None:
        if self._prctl is not None:
            self._prctl(self.PR_SET_TIMERSLACK, ns, 0, 0, 0)


def schedule(n: int, lo: float, hi: float, seed: int = 11) -> list[float]:
    rng = random.Random(seed)
    t, out = 0.002, []
    for _ in range(n):
        t += rng.uniform(lo, hi)
        out.append(round(t, 6))
    return out


Stats = dict[str, tuple[list[float], list[float]]]  # strategy -> (errors, CPU per wait)


def _sync_strategies(slack: TimerSlack) -> dict[str, Callable[[float], None]]:
    """Each takes an absolute perf_counter deadline and returns once it has passed."""
    perf = time.perf_counter
    default_slack = slack.get()

    def plain(deadline: float) -> None:
        remaining = deadline - perf()
        if remaining > 0:
            time.sleep(remaining)

    def slack_sleep(deadline: float) -> None:
        slack.set(1)
        try:
            plain(deadline)
        finally:
            slack.set(default_slack)

    def slack_spin(deadline: float) -> None:
        slack.set(1)
        try:
            remaining = deadline - perf()
            if remaining > 200e-6:
                time.sleep(remaining - 200e-6)
            while perf() < deadline:
                pass
        finally:
            slack.set(default_slack)

    return {"time.sleep": plain, "slack": slack_sleep, "slack+spin200": slack_spin}


def run_sync(n: int, hi: float) -> Stats:
    from replay.timing.clock import RealTiming

    perf = time.perf_counter
    strategies = _sync_strategies(TimerSlack())
    names = list(SYNC)
    k = len(names)
    stats: Stats = {name: ([], []) for name in names}
    # Every strategy gets the same 200 gaps; deadline i*k+j belongs to strategy j.
    all_times = schedule(n * k, 0.001, hi)
    base = perf()
    sched = RealTiming().schedule()  # its own base is taken a microsecond after ours
    for i, t in enumerate(all_times):
        name = names[i % k]
        cpu = time.process_time()
        if name == "llm-replay":
            sched.wait(t)
        else:
            strategies[name](base + t)
        arrived = perf()
        stats[name][1].append(time.process_time() - cpu)
        stats[name][0].append(abs(arrived - base - t))
    return stats


async def _run_async(n: int, hi: float) -> Stats:
    from replay.timing.clock import RealTiming

    perf = time.perf_counter

    async def plain(deadline: float) -> None:
        remaining = deadline - perf()
        if remaining > 0:
            await asyncio.sleep(remaining)

    async def short_spin(deadline: float) -> None:
        remaining = deadline - perf()
        if remaining > 1.5e-3:
            await asyncio.sleep(remaining - 1.5e-3)
        while perf() < deadline:
            await asyncio.sleep(0)

    strategies: dict[str, Callable[[float], Awaitable[None]]] = {
        "asyncio.sleep": plain,
        "spin1.5ms": short_spin,
    }
    names = list(ASYNC)
    k = len(names)
    stats: Stats = {name: ([], []) for name in names}
    all_times = schedule(n * k, 0.001, hi, seed=12)
    base = perf()
    sched = RealTiming().schedule()
    for i, t in enumerate(all_times):
        name = names[i % k]
        cpu = time.process_time()
        if name == "llm-replay":
            await sched.wait_async(t)
        else:
            await strategies[name](base + t)
        arrived = perf()
        stats[name][1].append(time.process_time() - cpu)
        stats[name][0].append(abs(arrived - base - t))
    return stats


def run(ctx: Context) -> None:
    n = ctx.size(200, 20)
    hi = ctx.size(50, 5) / 1000
    times = schedule(n, 0.001, hi)
    mean_gap = (0.001 + hi) / 2
    for mode, stats, baseline in (
        ("sync", run_sync(n, hi), "time.sleep"),
        ("async", asyncio.run(_run_async(n, hi)), "asyncio.sleep"),
    ):
        ours_e, ours_cpu = stats["llm-replay"]
        base_e, base_cpu = stats[baseline]
        span = f"{len(ours_e)} waits, gaps 1-{ctx.size(50, 5)} ms, interleaved"
        ctx.add_percentiles(
            f"4.{mode}",
            f"real timing, {mode}, per-chunk offset error {{stat}} ({span})",
            ours_e,
            baseline_name=baseline,
            baseline=base_e,
            targets=TARGETS,
        )
        ctx.add(
            Row(
                f"4.{mode}.cpu",
                f"real timing, {mode}, CPU time per wait",
                median(ours_cpu),
                baseline_name=baseline,
                baseline=median(base_cpu),
                note=f"mean gap {mean_gap * 1e3:.1f} ms",
            )
        )
        for name in (SYNC if mode == "sync" else ASYNC)[2:]:
            errors, cpu = stats[name]
            ctx.add_percentiles(
                f"4.proto.{mode}.{name}",
                f"{_LABELS[name]}, {mode}: error {{stat}}",
                errors,
                baseline_name="llm-replay today",
                baseline=ours_e,
                targets=TARGETS,
            )
            ctx.add(
                Row(
                    f"4.proto.{mode}.{name}.cpu",
                    f"{_LABELS[name]}, {mode}: CPU per wait",
                    median(cpu),
                    baseline_name="llm-replay today",
                    baseline=median(ours_cpu),
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
        return [a - e for a, e in zip(arrivals, expected, strict=True)]

    async def async_run() -> list[float]:
        perf = time.perf_counter
        async with httpx2.AsyncClient() as client:
            with replay.use_cassette(path, timing="real"):
                async with client.stream("POST", ex.url, content=ex.request_body) as response:
                    head = perf()
                    arrivals = [perf() - head async for _ in response.aiter_raw()]
        return [a - e for a, e in zip(arrivals, expected, strict=True)]

    sync_run()  # warm-up: first-use imports and allocations must not land on a chunk
    asyncio.run(async_run())
    for mode, offsets in (("sync", sync_run()), ("async", asyncio.run(async_run()))):
        constant = median(offsets)
        jitter = [abs(o - constant) for o in offsets]
        for stat, q in (("p50", 50.0), ("p99", 99.0)):
            ctx.add(
                Row(
                    f"4.e2e.{mode}.{stat}",
                    f"real timing end to end through httpx2, {mode}, chunk jitter {stat}",
                    percentile(jitter, q),
                    note=f"constant offset from the head {constant * 1e6:+.0f} us",
                )
            )
