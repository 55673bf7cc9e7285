"""Profiles of the hot paths: ``python -m bench.profiles [--quick] [--out DIR]``.

For each path it writes ``DIR/<name>.txt``: a flat table of the functions with the most own
time (cProfile) and the share of time spent in llm-replay's own code, then pyinstrument's call
tree (when pyinstrument is installed: the ``bench`` extra). Paths:

- ``replay_openai_stream``: instant replay of a streamed chat completion through the openai SDK;
- ``load_5000`` / ``load_20000``: ``replay.load_cassette`` of many-interaction cassettes;
- ``virtual_clock``: the virtual clock's start and stop with the SDKs imported;
- ``recording``: recording passthrough of 200-chunk streams from the local server.
"""

from __future__ import annotations

import argparse
import cProfile
import functools
import io
import pstats
import tempfile
from collections.abc import Callable
from pathlib import Path

from .core import ROOT, guard_network

__all__ = ["main", "profile"]


def _own_share(stats: pstats.Stats) -> tuple[float, float]:
    """(seconds in llm-replay's own functions, total seconds)."""
    raw = stats.stats  # type: ignore[attr-defined]
    own = sum(v[2] for k, v in raw.items() if f"{ROOT}/replay/" in k[0])
    total = sum(v[2] for v in raw.values())
    return own, total


def profile(name: str, fn: Callable[[], object], out: Path, *, top: int = 25) -> str:
    """Profile ``fn`` twice (cProfile flat, pyinstrument tree); write and return the report."""
    prof = cProfile.Profile()
    prof.enable()
    fn()
    prof.disable()
    buf = io.StringIO()
    stats = pstats.Stats(prof, stream=buf)
    own, total = _own_share(stats)
    stats.strip_dirs().sort_stats("tottime").print_stats(top)
    report = [
        f"# {name}",
        f"cProfile: {total:.3f} s of own time in all functions, {own:.3f} s ({own / total:.0%}) in replay/",
        buf.getvalue(),
    ]
    try:
        from pyinstrument import Profiler
    except ImportError:
        report.append("(pyinstrument not installed: pip install -e '.[dev,bench]')")
    else:
        profiler = Profiler(interval=0.0002)
        profiler.start()
        fn()
        profiler.stop()
        report.append(profiler.output_text(unicode=False, color=False, show_all=False))
    text = "\n".join(report)
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{name}.txt").write_text(text)
    return text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.profiles", description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "profiles")
    args = parser.parse_args(argv)
    guard_network()
    quick: bool = args.quick
    with tempfile.TemporaryDirectory(prefix="llm-replay-prof-") as tmp:
        work = Path(tmp)
        for name, fn in _paths(work, quick):
            text = profile(name, fn, args.out)
            print(text.split("\n", 2)[1])
            print(f"  -> {args.out / (name + '.txt')}")
    return 0


def _paths(work: Path, quick: bool) -> list[tuple[str, Callable[[], object]]]:
    import httpx2

    import replay
    from replay.timing.clock import VirtualClock

    from .data import MESSAGES, MODEL, chat_exchange, many_interactions, write_native
    from .overhead import make_client
    from .virtual import import_sdks

    paths: list[tuple[str, Callable[[], object]]] = []

    ex = chat_exchange(True)
    native = write_native(work / "stream.yaml", [ex])
    client = make_client("openai", ex.url, is_async=False)
    n_requests = 30 if quick else 500

    def replay_stream() -> None:
        with replay.use_cassette(native, timing="instant", allow_playback_repeats=True):
            for _ in range(n_requests):
                for _ in client.chat.completions.create(model=MODEL, messages=MESSAGES, stream=True):
                    pass

    paths.append(("replay_openai_stream", replay_stream))

    for n in (200, 500) if quick else (5_000, 20_000):
        path = write_native(work / f"many-{n}.yaml", many_interactions(n, identical=False))
        load: Callable[[], object] = functools.partial(replay.load_cassette, path)
        paths.append((f"load_{n}", load))

    import_sdks()
    VirtualClock.acquire().release()

    def clock() -> None:
        for _ in range(20 if quick else 200):
            VirtualClock.acquire().release()

    paths.append(("virtual_clock", clock))

    def recording() -> None:
        from .server import local_server

        script = {"tokens": ["tok"] * 200, "head_delay": 0.0, "first_delay": 0.0, "gaps": [0.0]}
        with local_server(**script) as base, httpx2.Client() as http:
            body = b'{"model":"m","messages":[{"role":"user","content":"hi"}],"stream":true}'
            with replay.use_cassette(work / "rec.yaml", record_mode="all"):
                for _ in range(3 if quick else 30):
                    with http.stream("POST", base + "/v1/chat/completions", content=body) as r:
                        for _ in r.iter_raw():
                            pass

    paths.append(("recording", recording))
    return paths


if __name__ == "__main__":
    raise SystemExit(main())
