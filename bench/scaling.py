"""Target 2: cassettes of 10 to 20,000 interactions.

- load time (``replay.load_cassette``), per interaction, and vcrpy loading the same data;
- per-request replay cost at random positions (requests matched by body), through a bare
  httpx2 client so that the library's own cost is not hidden behind an SDK's;
- repeated identical requests served in recorded order;
- vcrpy on the same requests, at the sizes where it finishes in reasonable time.

Cassettes of different sizes cannot be open at once (one would shadow the other), so instead of
interleaving round by round each size is measured twice, in ascending then descending order,
and the two halves' samples are pooled.
"""

from __future__ import annotations

import functools
import gc
import json
import random
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .core import Context, Row, Target, compare, median
from .data import OPENAI_URL, Exchange, many_interactions, write_native, write_vcr

__all__ = ["ROW_IDS", "run"]

FULL_SIZES = (10, 100, 1_000, 5_000, 20_000)
QUICK_SIZES = (10, 60)
FLAT = Target("ratio", "<=", 1.5, "<= 1.5x")
HALF = Target("ratio", "<", 0.5, "< 0.5x")


def sizes(ctx: Context) -> tuple[int, ...]:
    return QUICK_SIZES if ctx.quick else FULL_SIZES


def row_ids(quick: bool) -> list[str]:
    ns = QUICK_SIZES if quick else FULL_SIZES
    ids = [f"2.load.{n}" for n in ns]
    ids += ["2.load.linear", "2.load.vs_vcr"]
    ids += [f"2.load.part.{part}" for part in LOAD_PARTS]
    ids += [f"2.random.{n}" for n in ns]
    ids += [f"2.ordered.{n}" for n in ns]
    ids += ["2.random.vcr", "2.ordered.vcr"]
    return ids


LOAD_PARTS = ("yaml", "alias_scan", "alias_fast", "validate", "no_gc", "json_cache", "pickle")
ROW_IDS = row_ids(False)
_HEADERS = {"content-type": "application/json"}


def _timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def _vcr_load(path: Path) -> Callable[[], object]:
    from vcr.cassette import Cassette as VcrCassette

    return lambda: VcrCassette.load(path=str(path), match_on=["method", "uri", "body"])


def run(ctx: Context) -> None:
    import httpx2

    import replay

    ns = sizes(ctx)
    paths: dict[int, Path] = {}
    same: dict[int, Path] = {}
    bodies: dict[int, list[bytes]] = {}
    for n in ns:
        distinct = many_interactions(n, identical=False)
        bodies[n] = [e.request_body for e in distinct]
        paths[n] = write_native(ctx.workdir / f"scale-{n}.yaml", distinct)
        same[n] = write_native(ctx.workdir / f"same-{n}.yaml", many_interactions(n, identical=True))
    ctx.log(f"  (built cassettes of {', '.join(map(str, ns))} interactions)")

    # -- load -------------------------------------------------------------------------------
    loads: dict[int, float] = {}
    for n in ns:
        rounds = 5 if n <= 1_000 else 3
        load: Callable[[], object] = functools.partial(replay.load_cassette, paths[n])
        comp = compare({"load": load}, rounds=rounds, warmup=0)
        loads[n] = comp.median("load")
        ctx.add(
            Row(
                f"2.load.{n}",
                f"load a {n:,}-interaction cassette ({paths[n].stat().st_size / 1e6:.2f} MB)",
                loads[n],
                note=f"{loads[n] / n * 1e6:.0f} us/interaction",
            )
        )
    small = 1_000 if 1_000 in loads else ns[0]
    big = ns[-1]
    ctx.add(
        Row(
            "2.load.linear",
            f"load time per interaction, {big:,} vs {small:,} interactions",
            loads[big] / big,
            baseline_name=f"at {small:,}",
            baseline=loads[small] / small,
            target=FLAT,
            note="linear load means about 1.0x",
        )
    )
    vn = 5_000 if 5_000 in paths else ns[-1]
    vcr_path = write_vcr(ctx.workdir / f"scale-{vn}.vcr.yaml", many_interactions(vn, identical=False))
    comp = compare(
        {"llm-replay": lambda: replay.load_cassette(paths[vn]), "vcrpy": _vcr_load(vcr_path)},
        rounds=ctx.size(3, 1),
        warmup=0,
    )
    ctx.add(
        comp.row("2.load.vs_vcr", f"load a {vn:,}-interaction cassette", "llm-replay", "vcrpy", target=HALF)
    )
    _load_breakdown(ctx, paths[vn], vn)

    # -- per request -----------------------------------------------------------------------
    client = httpx2.Client()
    k = ctx.size(200, 20)
    rng = random.Random(3)

    def random_batch(n: int) -> Callable[[], None]:
        picks = [bodies[n][rng.randrange(n)] for _ in range(k)]

        def go() -> None:
            for body in picks:
                client.post(OPENAI_URL, content=body, headers=_HEADERS).read()

        return go

    random_cost = _per_size(ns, ctx, lambda n: (paths[n], {"allow_playback_repeats": True}), random_batch, k)
    for n in ns:
        ctx.add(
            Row(
                f"2.random.{n}",
                f"per request, random position, {n:,} interactions (bare httpx2)",
                random_cost[n],
                baseline_name=f"at {ns[0]}",
                baseline=random_cost[ns[0]],
                target=FLAT if n == ns[-1] else None,
            )
        )

    same_body = many_interactions(1, identical=True)[0].request_body

    def ordered_batch(n: int) -> Callable[[], None]:
        def go() -> None:
            for _ in range(min(n, k)):
                client.post(OPENAI_URL, content=same_body, headers=_HEADERS).read()

        return go

    # A fresh cassette per batch (opened untimed), so every request is a first play in order.
    ordered_cost = _per_size(ns, ctx, lambda n: (same[n], {}), ordered_batch, k, fresh=True)
    for n in ns:
        ctx.add(
            Row(
                f"2.ordered.{n}",
                f"identical requests in recorded order, {n:,} interactions",
                ordered_cost[n],
                baseline_name=f"at {ns[0]}",
                baseline=ordered_cost[ns[0]],
                target=FLAT if n == ns[-1] else None,
            )
        )

    _vcr_rows(ctx, ns, paths, bodies, random_cost, ordered_cost, client)
    client.close()


def _per_size(
    ns: tuple[int, ...],
    ctx: Context,
    cassette: Callable[[int], tuple[Path, dict[str, Any]]],
    batch: Callable[[int], Callable[[], None]],
    k: int,
    *,
    fresh: bool = False,
) -> dict[int, float]:
    """Median seconds per request for each size; sizes visited ascending then descending."""
    import replay

    rounds = ctx.size(6, 1)
    samples: dict[int, list[float]] = {n: [] for n in ns}
    for n in [*ns, *reversed(ns)]:
        path, kwargs = cassette(n)
        go = batch(n)
        # requests per batch: k at random positions (repeats allowed), or one pass of min(n, k)
        per_batch = min(n, k) if fresh else k
        if fresh:
            # Every request must be a first play: reopen (untimed) once the cassette runs out.
            done = 0
            while done < rounds:
                with replay.use_cassette(path, timing="instant", **kwargs):
                    for _ in range(max(1, min(rounds - done, n // per_batch))):
                        gc.collect()
                        samples[n].append(_timed(go) / per_batch)
                        done += 1
        else:
            with replay.use_cassette(path, timing="instant", **kwargs):
                go()  # warm-up
                for _ in range(rounds):
                    gc.collect()
                    samples[n].append(_timed(go) / per_batch)
    return {n: median(v) for n, v in samples.items()}


def _vcr_rows(
    ctx: Context,
    ns: tuple[int, ...],
    paths: dict[int, Path],
    bodies: dict[int, list[bytes]],
    random_cost: dict[int, float],
    ordered_cost: dict[int, float],
    client: Any,
) -> None:
    """vcrpy on the same requests: quadratic, so only at 1,000 (or the largest quick size)."""
    import vcr

    n = 1_000 if 1_000 in paths else ns[-1]
    exchanges: list[Exchange] = many_interactions(n, identical=False)
    vcr_path = write_vcr(ctx.workdir / f"scale-{n}.vcr.yaml", exchanges)
    k = ctx.size(20, 5)
    rng = random.Random(5)
    picks = [bodies[n][rng.randrange(n)] for _ in range(k)]
    with vcr.use_cassette(str(vcr_path), match_on=["method", "uri", "body"], allow_playback_repeats=True):
        start = time.perf_counter()
        for body in picks:
            client.post(OPENAI_URL, content=body, headers=_HEADERS).read()
        per = (time.perf_counter() - start) / k
    ctx.add(
        Row(
            "2.random.vcr",
            f"per request, random position, {n:,} interactions, matched by body",
            random_cost[n],
            baseline_name="vcrpy",
            baseline=per,
        )
    )
    same_vcr = write_vcr(ctx.workdir / f"same-{n}.vcr.yaml", many_interactions(n, identical=True))
    same_body = json.dumps(json.loads(exchanges[0].request_body)).encode()  # any body: vcrpy matches on URL
    m = n
    with vcr.use_cassette(str(same_vcr)):
        start = time.perf_counter()
        for _ in range(m):
            client.post(OPENAI_URL, content=same_body, headers=_HEADERS).read()
        per = (time.perf_counter() - start) / m
    ctx.add(
        Row(
            "2.ordered.vcr",
            f"identical requests in recorded order, all {m:,} of {n:,} interactions",
            ordered_cost[n],
            baseline_name="vcrpy",
            baseline=per,
            note="vcrpy scans from the start for the first unplayed match",
        )
    )


def _load_breakdown(ctx: Context, path: Path, n: int) -> None:
    """Where load time goes, and what two cheap changes would give (measured side by side).

    ``yaml``: libyaml's safe loader alone (the floor of the YAML format); ``alias_scan``: the
    anchor/alias pre-scan; ``validate``: pydantic validation of already-parsed data; ``no_gc``:
    the whole load with the cyclic garbage collector paused (it rescans the growing heap of
    new containers again and again); ``pickle``: unpickling the loaded Cassette, the cost of
    a parsed-cassette cache keyed by the file's size, mtime and hash.
    """
    import pickle

    import yaml

    import replay
    from replay.io.storage import parse_cassette
    from replay.model import yamlio

    text = path.read_text()
    data = yamlio.load_data(text)
    blob = pickle.dumps(replay.load_cassette(path), protocol=pickle.HIGHEST_PROTOCOL)
    as_json = json.dumps(data)

    def json_cache() -> None:
        # A cache of the parsed file as JSON text: no code runs on load (unlike pickle), and
        # validation still checks every field.
        enabled = gc.isenabled()
        gc.disable()
        try:
            parse_cassette(json.loads(as_json), str(path))
        finally:
            if enabled:
                gc.enable()

    def alias_fast() -> None:
        # Only a document holding '&' or '*' can use anchors/aliases: two C-level scans
        # before the regex (which then runs on few cassettes).
        if "&" in text or "*" in text:
            yamlio.uses_aliases(text)

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

    def no_gc() -> None:
        enabled = gc.isenabled()
        gc.disable()
        try:
            replay.load_cassette(path)
        finally:
            if enabled:
                gc.enable()

    comp = compare(
        {
            "load": lambda: replay.load_cassette(path),
            "yaml": lambda: yaml.load(text, Loader=loader),
            "alias_scan": lambda: yamlio.uses_aliases(text),
            "validate": lambda: parse_cassette(data, str(path)),
            "alias_fast": alias_fast,
            "no_gc": no_gc,
            "json_cache": json_cache,
            "pickle": lambda: pickle.loads(blob),
        },
        rounds=ctx.size(3, 1),
        warmup=0,
    )
    labels = {
        "yaml": "PyYAML's own yaml.load with libyaml's safe loader (what load_cassette improves on)",
        "alias_scan": "anchor/alias check alone",
        "validate": "pydantic validation of parsed data alone",
        "alias_fast": "anchor/alias check behind a '&'/'*' substring test",
        "no_gc": "whole load inside an outer garbage-collector pause (load_cassette pauses it itself)",
        "json_cache": "not done: a parsed-file cache as JSON (json.loads + validation)",
        "pickle": "not done: unpickling the loaded cassette (a parsed-cassette cache)",
    }
    for part in LOAD_PARTS:
        ctx.add(
            comp.row(
                f"2.load.part.{part}",
                f"{n:,} interactions: {labels[part]}",
                part,
                "load",
                baseline_label="load_cassette",
            )
        )
