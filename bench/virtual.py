"""Target 3: `virtual` timing.

- a recorded 60-second stream replayed through the openai SDK: wall time of the whole test
  (open the cassette, stream, close) and the offsets the application observed;
- the per-test fixed cost of the virtual clock (freezegun start + stop) with openai, anthropic,
  groq and together imported, and the same for freezegun's own ``freeze_time``;
- what one virtual ``time.monotonic()`` call costs the application;
- concurrent streams and loop timeouts: :mod:`bench.virtual_concurrency`.
"""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

from .core import Context, Row, Target, compare
from .data import chat_exchange, long_stream, write_native
from .overhead import make_client

__all__ = ["ROW_IDS", "run"]

ROW_IDS = [
    "3.stream60.wall",
    "3.stream60.httpx2",
    "3.stream60.exact",
    "3.clock.current",
    "3.clock.use_cassette",
    "3.clock.vs_freezegun",
    "3.clock.e2e",
    "3.clock.e2e_exact",
    "3.frozen_call",
    "3.concurrent3.gather",
    "3.concurrent3.threads",
    "3.concurrent3.exact",
    "3.wait_for.moment",
    "3.wait_for.wall",
]
UNDER_50MS = Target("value", "<", 0.050, "< 50 ms")
UNDER_1MS = Target("value", "<=", 0.001, "<= 1 ms")


def import_sdks() -> int:
    """Import the SDKs a user's suite would have loaded; returns the number of loaded modules."""
    import anthropic  # noqa: F401
    import groq  # noqa: F401
    import openai  # noqa: F401
    import together  # noqa: F401

    return len(sys.modules)


def _observe(client: Any) -> list[float]:
    """Offsets (application's ``time.monotonic``) at which the SDK yields each chunk."""
    from .data import MESSAGES, MODEL

    t0 = time.monotonic()
    return [
        time.monotonic() - t0
        for _ in client.chat.completions.create(model=MODEL, messages=MESSAGES, stream=True)
    ]


def _exact(offsets: list[float], times: list[float]) -> float:
    """Largest difference between observed offsets and the recorded times ([DONE] yields none)."""
    expected = times[: len(offsets)]
    if len(offsets) != len(times) - 1:
        return float("inf")
    return max(abs(a - b) for a, b in zip(offsets, expected, strict=True))


def run(ctx: Context) -> None:
    import replay
    from replay.timing.clock import VirtualClock

    modules = import_sdks()
    ctx.log(f"  ({modules} modules loaded)")

    # -- a 60-second stream ----------------------------------------------------------------
    ex = long_stream(60.0, ctx.size(0.1, 1.0))
    path = write_native(ctx.workdir / "stream60.yaml", [ex])
    client = make_client("openai", ex.url, is_async=False)
    seen: dict[str, list[float]] = {}

    def test(timing: str) -> Callable[[], None]:
        def go() -> None:
            with replay.use_cassette(path, timing=timing):
                seen[timing] = _observe(client)

        return go

    comp = compare({"virtual": test("virtual"), "instant": test("instant")}, rounds=ctx.size(15, 2))
    ctx.add(
        comp.row(
            "3.stream60.wall",
            f"a recorded {ex.times[-1]:.0f}-second stream ({len(ex.chunks)} chunks), virtual, whole test",
            "virtual",
            "instant",
            baseline_label="instant timing",
            target=UNDER_50MS,
        )
    )
    import httpx2

    http = httpx2.Client()

    def raw(timing: str) -> Callable[[], None]:
        def go() -> None:
            with (
                replay.use_cassette(path, timing=timing),
                http.stream("POST", ex.url, content=ex.request_body) as response,
            ):
                for _ in response.iter_raw():
                    pass

        return go

    comp = compare({"virtual": raw("virtual"), "instant": raw("instant")}, rounds=ctx.size(15, 2))
    ctx.add(
        comp.row(
            "3.stream60.httpx2",
            f"the same {ex.times[-1]:.0f}-second stream through a bare httpx2 client, virtual, whole test",
            "virtual",
            "instant",
            baseline_label="instant timing",
            target=UNDER_50MS,
            note="without the SDK's own parsing",
        )
    )
    error = _exact(seen["virtual"], ex.times)
    ctx.add(
        Row(
            "3.stream60.exact",
            "largest error of the offsets the app observed (time.monotonic) vs the recording",
            error,
            target=Target("value", "<=", 1e-6, "<= 1 us"),
        )
    )

    # -- per-test fixed cost ---------------------------------------------------------------
    rounds = ctx.size(30, 2)
    inner = ctx.size(10, 2)

    def clock_cycle() -> None:
        VirtualClock.acquire().release()

    empty = write_native(ctx.workdir / "one.yaml", [chat_exchange(True)])

    def open_close(timing: str) -> Callable[[], None]:
        def go() -> None:
            with replay.use_cassette(empty, timing=timing):
                pass

        return go

    clock_cycle()  # the first start after importing the SDKs fills freezegun's caches
    comp = compare(
        {"virtual": open_close("virtual"), "instant": open_close("instant"), "clock": clock_cycle},
        rounds=rounds,
        inner=inner,
    )
    ctx.add(
        Row(
            "3.clock.current",
            f"virtual clock start+stop (VirtualClock.acquire/release), {modules} modules loaded",
            comp.median("clock"),
            target=UNDER_1MS,
        )
    )
    ctx.add(
        comp.row(
            "3.clock.use_cassette",
            "use_cassette open+close, virtual vs instant timing",
            "virtual",
            "instant",
            baseline_label="instant",
            note=f"difference {(comp.median('virtual') - comp.median('instant')) * 1e3:.2f} ms",
        )
    )

    # freezegun's own freeze_time with the same options and ignore list, for comparison: what
    # the library's incremental binding index (replay/_freeze.py) saves per test.
    from datetime import datetime

    import freezegun

    from replay.timing._freeze import AVAILABLE, FastFreezer
    from replay.timing.virtual import VIRTUAL_IGNORE

    if not AVAILABLE:
        raise RuntimeError("replay.timing._freeze fell back to freeze_time: freezegun's internals changed")

    def freezegun_cycle() -> None:
        freezer = freezegun.freeze_time(
            datetime(2026, 1, 1), tick=False, real_asyncio=True, ignore=list(VIRTUAL_IGNORE)
        )
        freezer.start()
        freezer.stop()

    def fast_cycle() -> None:
        freezer = FastFreezer(datetime(2026, 1, 1), ignore=VIRTUAL_IGNORE)
        freezer.start()
        freezer.stop()

    freezegun_cycle()
    fast_cycle()
    comp = compare({"fast": fast_cycle, "freezegun": freezegun_cycle}, rounds=rounds, inner=inner)
    ctx.add(
        comp.row(
            "3.clock.vs_freezegun",
            "frozen clock start+stop: llm-replay's (replay/timing/_freeze.py) vs freezegun's freeze_time",
            "fast",
            "freezegun",
            baseline_label="freezegun.freeze_time",
            target=UNDER_1MS,
        )
    )

    stream = chat_exchange(True)
    one = write_native(ctx.workdir / "e2e.yaml", [stream])
    observed: list[float] = []

    def e2e(timing: str) -> Callable[[], None]:
        def go() -> None:
            with replay.use_cassette(one, timing=timing):
                observed[:] = _observe(client)

        return go

    comp = compare({"virtual": e2e("virtual"), "instant": e2e("instant")}, rounds=rounds, inner=inner)
    ctx.add(
        comp.row(
            "3.clock.e2e",
            "per test: open + 1 openai stream + close, virtual vs instant timing",
            "virtual",
            "instant",
            baseline_label="instant",
            note=f"difference {(comp.median('virtual') - comp.median('instant')) * 1e3:.2f} ms",
        )
    )
    e2e("virtual")()
    ctx.add(
        Row(
            "3.clock.e2e_exact",
            "largest error of the offsets the app observed vs the recording (openai SDK)",
            _exact(observed, stream.times),
            target=Target("value", "<=", 1e-6, "<= 1 us"),
        )
    )

    # -- one frozen clock read -------------------------------------------------------------
    n = ctx.size(100_000, 1_000)

    def reads() -> None:
        mono = time.monotonic
        for _ in range(n):
            mono()

    def frozen() -> Iterator[None]:
        with replay.use_cassette(empty, timing="virtual"):
            yield

    comp = compare(
        {"frozen": _variant(reads, contextlib.contextmanager(frozen)), "real": reads},
        rounds=ctx.size(7, 1),
    )
    ctx.add(
        Row(
            "3.frozen_call",
            "one time.monotonic() call from application code, virtual clock",
            comp.median("frozen") / n,
            baseline_name="real clock",
            baseline=comp.median("real") / n,
            ratio=comp.ratio("frozen", "real"),
            note="the call site's module decides real or virtual (one frame, cached)",
        )
    )
    from .virtual_concurrency import run_concurrency

    run_concurrency(ctx)


def _variant(call: Callable[[], object], context: Callable[[], Any]) -> Any:
    from .core import Variant

    return Variant(call, context)
