"""Target 5: recording passes chunks through without cost or delay.

Against the local streaming server (its own process, loopback): the same client streams the
same response with and without llm-replay recording it (``record_mode="all"``; the cassette is
written when the block ends, outside the timed part). Per chunk: the difference in time per
request divided by the chunks the application received. First chunk: the time from sending the
request to the first chunk in the application's hands.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from .core import Context, Row, Target, Variant, compare, median
from .server import local_server

__all__ = ["ROW_IDS", "run"]

CASES = (("httpx2", False), ("httpx2", True), ("httpx", False))
ROW_IDS = [
    f"5.{lib}.{'async' if is_async else 'sync'}.{what}"
    for lib, is_async in CASES
    for what in ("per_chunk", "cpu_per_chunk", "first_chunk")
]
PER_CHUNK = Target("value", "<=", 50e-6, "<= 50 us")
FIRST = Target("ratio", "<=", 1.05, "<= 1.05x")


def run(ctx: Context) -> None:
    tokens = ctx.size(200, 20)
    script = {
        "tokens": ["tok"] * tokens,
        "head_delay": 0.0,
        "first_delay": 0.0,
        "gaps": [0.0],
        "gzip_json": False,
    }
    with local_server(**script) as url:
        for lib, is_async in CASES:
            _case(ctx, url, lib, is_async)


def _case(ctx: Context, base: str, lib_name: str, is_async: bool) -> None:
    import importlib

    import replay

    lib = importlib.import_module(lib_name)
    url = base + "/v1/chat/completions"
    body = json.dumps(
        {"model": "m", "messages": [{"role": "user", "content": "hi"}], "stream": True}
    ).encode()
    headers = {"content-type": "application/json"}
    # per variant: first-chunk latencies, chunks per request, client CPU seconds per request
    stats: dict[str, tuple[list[float], list[int], list[float]]] = {
        "llm-replay": ([], [], []),
        "plain": ([], [], []),
    }

    if is_async:
        loop = asyncio.new_event_loop()
        client: Any = lib.AsyncClient()

        async def astream(name: str) -> None:
            perf = time.perf_counter
            cpu = time.process_time()
            start = perf()
            first = None
            n = 0
            async with client.stream("POST", url, content=body, headers=headers) as response:
                async for _ in response.aiter_raw():
                    if first is None:
                        first = perf() - start
                    n += 1
            stats[name][0].append(first or 0.0)
            stats[name][1].append(n)
            stats[name][2].append(time.process_time() - cpu)

        def call_for(name: str) -> Callable[[], None]:
            return lambda: loop.run_until_complete(astream(name))

    else:
        client = lib.Client()

        def stream(name: str) -> None:
            perf = time.perf_counter
            cpu = time.process_time()
            start = perf()
            first = None
            n = 0
            with client.stream("POST", url, content=body, headers=headers) as response:
                for _ in response.iter_raw():
                    if first is None:
                        first = perf() - start
                    n += 1
            stats[name][0].append(first or 0.0)
            stats[name][1].append(n)
            stats[name][2].append(time.process_time() - cpu)

        def call_for(name: str) -> Callable[[], None]:
            return lambda: stream(name)

    counter = iter(range(1_000_000))

    @contextlib.contextmanager
    def recording() -> Iterator[None]:
        path = ctx.workdir / f"rec-{lib_name}-{is_async}-{next(counter)}.yaml"
        with replay.use_cassette(path, record_mode="all"):
            yield
        Path(path).unlink(missing_ok=True)

    comp = compare(
        {"llm-replay": Variant(call_for("llm-replay"), recording), "plain": call_for("plain")},
        rounds=ctx.size(30, 2),
        inner=ctx.size(5, 1),
    )
    chunks = median([float(n) for n in stats["llm-replay"][1] + stats["plain"][1]])
    label = f"{lib_name} {'async' if is_async else 'sync'}"
    ours, plain = comp.median("llm-replay"), comp.median("plain")
    ctx.add(
        Row(
            f"5.{label.replace(' ', '.')}.per_chunk",
            f"recording passthrough, {label}: added time per chunk ({chunks:.0f} chunks/request)",
            (ours - plain) / chunks,
            baseline_name="request without llm-replay, per chunk",
            baseline=plain / chunks,
            ratio=comp.ratio("llm-replay", "plain"),
            target=PER_CHUNK,
        )
    )
    cpu_ours, cpu_plain = median(stats["llm-replay"][2]), median(stats["plain"][2])
    ctx.add(
        Row(
            f"5.{label.replace(' ', '.')}.cpu_per_chunk",
            f"recording passthrough, {label}: added client CPU per chunk",
            (cpu_ours - cpu_plain) / chunks,
            baseline_name="client CPU per chunk without llm-replay",
            baseline=cpu_plain / chunks,
            ratio=cpu_ours / cpu_plain if cpu_plain else None,
            note="the server runs in another process; steadier than wall time",
        )
    )
    first_ours, first_plain = median(stats["llm-replay"][0]), median(stats["plain"][0])
    ctx.add(
        Row(
            f"5.{label.replace(' ', '.')}.first_chunk",
            f"recording, {label}: request to first chunk in the app",
            first_ours,
            baseline_name="without llm-replay",
            baseline=first_plain,
            target=FIRST,
            note=f"difference {(first_ours - first_plain) * 1e6:+.0f} us",
        )
    )
    if is_async:
        loop.run_until_complete(client.aclose())
        loop.close()
    else:
        client.close()
