"""Target 8 (issue 20): a pytest-recording suite switched to llm-replay gets faster.

Generates a suite written for pytest-recording (``@pytest.mark.vcr``, module-level ``vcr_config``,
default cassette paths, several interactions per cassette, gzip and SSE bodies) from the shared
real cassettes (copied into the bench's temp dir, never into the repo) and synthetic ones, then
runs it as whole pytest processes, paired and interleaved, median of the per-pair ratios:

- ``8.dropin_wall``: llm-replay as the drop-in (``-p no:recording``) vs pytest-recording itself;
- ``8.fixed_cost``: per-test cost of llm-replay's plugin opening and closing a cassette: the
  median test of a run with the marker minus that of a run without, timed inside the process
  (``bench.pertest``); ``8.fixed_cost_process``: the same seen from outside, whole processes of
  n and 2n tests; ``8.fixed_cost_dropin``: the first figure through the drop-in, against
  pytest-recording;
- ``8.xdist``: a 70-test suite shaped like the one reported in the issue (an ``openai`` client
  per test, as fixtures make them, streaming a replayed completion on the virtual clock) with
  ``-n 2`` vs serially;
- ``8.xdist_instant``: the 70-test drop-in suite of the other rows with ``-n 2`` vs serially, for
  information: its tests take ~1 ms each, so the whole serial run is start-up, which two workers
  only double (no tool makes xdist pay off there).

``python -m bench.dropin [--quick]`` runs this section alone; ``--keep DIR`` leaves the suite there.
"""

from __future__ import annotations

import gzip
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from statistics import median
from typing import Any

import yaml

from .core import Context, Row, Target, child_env
from .data import REAL

__all__ = ["ROW_IDS", "make_sdk_suite", "make_suite", "run"]

ROW_IDS = [
    "8.dropin_wall",
    "8.fixed_cost",
    "8.fixed_cost_process",
    "8.fixed_cost_dropin",
    "8.xdist",
    "8.xdist_instant",
]

_SSE_EVENTS = 12
# One client per module, as suites do: a client per test would time the TLS context (~60 ms).
_CLIENT = "import httpx\n\nimport pytest\n\nCLIENT = httpx.Client()\n\n"


def _interaction(
    method: str, uri: str, status: int, headers: dict[str, list[str]], body: bytes
) -> dict[str, Any]:
    return {
        "request": {
            "method": method,
            "uri": uri,
            "body": '{"model": "m"}',
            "headers": {"Content-Type": ["application/json"]},
        },
        "response": {
            "status": {"code": status, "message": "OK"},
            "headers": headers,
            "body": {"string": body},
        },
    }


def _synthetic(index: int) -> list[dict[str, Any]]:
    """Three interactions: plain JSON, gzip JSON, and an SSE stream."""
    answer = json.dumps(
        {"id": f"chatcmpl-{index}", "choices": [{"message": {"content": "hi " * 40}}]}
    ).encode()
    events = b"".join(
        b"data: "
        + json.dumps({"id": index, "choices": [{"delta": {"content": f"tok{n} "}}]}).encode()
        + b"\n\n"
        for n in range(_SSE_EVENTS)
    )
    host = f"https://api{index % 5}.example.com"
    return [
        _interaction(
            "POST", f"{host}/v1/chat/completions", 200, {"Content-Type": ["application/json"]}, answer
        ),
        _interaction(
            "POST",
            f"{host}/v1/embeddings",
            200,
            {"Content-Type": ["application/json"], "Content-Encoding": ["gzip"]},
            gzip.compress(answer, mtime=0),
        ),
        _interaction(
            "POST",
            f"{host}/v1/stream",
            200,
            {"Content-Type": ["text/event-stream"]},
            events + b"data: [DONE]\n\n",
        ),
    ]


def _test_source(name: str, requests: list[tuple[str, str, int]], marker: str | None) -> str:
    lines = [f"@pytest.mark.{marker}" if marker else "", f"def {name}():", "    client = CLIENT"]
    if not requests:
        lines.append("    assert client is not None")
    for method, uri, status in requests:
        lines += [
            f"    r = client.request({method!r}, {uri!r}, content=b'{{}}')",
            f"    assert r.status_code == {status} and r.content is not None",
        ]
    return "\n".join(line for line in lines if line) + "\n\n\n"


def _real() -> list[tuple[str, list[dict[str, Any]]]]:
    if not REAL.is_dir():
        return []
    found = []
    for path in sorted(REAL.rglob("*.yaml")):
        data = yaml.load(path.read_text(), Loader=yaml.CSafeLoader)
        found.append((path.stem, data["interactions"]))
    return found


def make_suite(
    root: Path, tests: int, *, marker: str | None = "vcr", requests: bool = True, per_module: int = 10
) -> int:
    """Writes a pytest-recording suite of ``tests`` tests under ``root``; returns how many are real.

    ``marker``: ``"vcr"`` (pytest-recording's), ``"replay"`` (llm-replay's own, on the same
    vcrpy cassettes at the same default paths) or None (the same tests without a cassette).
    """
    real = _real()
    root.mkdir(parents=True, exist_ok=True)
    (root / "conftest.py").write_text("")
    # A cassette opened by a test that makes no request is reported as unused: not what is timed.
    (root / "pytest.ini").write_text(
        "[pytest]\nfilterwarnings = ignore::replay.hygiene.silence.CassetteUnusedWarning\n"
        if marker == "replay"
        else "[pytest]\n"
    )
    cassettes: list[tuple[str, list[dict[str, Any]]]] = []
    for index in range(tests):
        if index % 8 == 0 and real:
            stem, interactions = real[(index // 8) % len(real)]
            cassettes.append((re.sub(r"\W", "_", f"test_real_{index}_{stem}")[:80], interactions))
        else:
            cassettes.append((f"test_synthetic_{index}", _synthetic(index)))
    modules = [cassettes[i : i + per_module] for i in range(0, len(cassettes), per_module)]
    for number, group in enumerate(modules):
        module = f"test_mod{number:03d}"
        source = _CLIENT + (
            "@pytest.fixture(scope='module')\ndef vcr_config():\n"
            "    return {'filter_headers': ['authorization'], 'decode_compressed_response': False}\n\n\n"
        )
        for name, interactions in group:
            folder = root / "cassettes" / module
            folder.mkdir(parents=True, exist_ok=True)
            with (folder / f"{name}.yaml").open("w") as out:
                yaml.dump({"interactions": interactions, "version": 1}, out, Dumper=yaml.CSafeDumper)
            calls = [
                (i["request"]["method"], i["request"]["uri"], int(i["response"]["status"]["code"]))
                for i in interactions
            ]
            source += _test_source(name, calls if requests else [], marker)
        (root / f"{module}.py").write_text(source)
    return sum(1 for name, _ in cassettes if name.startswith("test_real_"))


_SDK_TEST = """
@pytest.mark.replay("cassettes/chat.yaml", allow_playback_repeats=True)
def test_chat_{n}():
    client = openai.OpenAI(api_key="sk-test", max_retries=0)
    stream = client.chat.completions.create(
        model="gpt-4o-mini", messages=[{{"role": "user", "content": "Hello"}}], stream=True
    )
    text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    assert text.startswith("Sure")
"""


def make_sdk_suite(root: Path, tests: int, per_module: int = 10) -> None:
    """``tests`` tests that each build an ``openai`` client and stream a replayed completion."""
    from replay import synth

    root.mkdir(parents=True, exist_ok=True)
    (root / "conftest.py").write_text("")
    (root / "pytest.ini").write_text("[pytest]\n")
    answer = "Sure, here is a short answer spread over a realistic number of streamed tokens. " * 3
    synth.cassette(synth.chat(answer, tokens_per_s=60.0)).save(root / "cassettes" / "chat.yaml")
    for start in range(0, tests, per_module):
        body = "".join(_SDK_TEST.format(n=n) for n in range(start, min(start + per_module, tests)))
        (root / f"test_sdk{start // per_module:03d}.py").write_text("import openai\nimport pytest\n\n" + body)


def _pytest(root: Path, *args: str, extra_env: dict[str, str] | None = None) -> float:
    # pytest's temporary folders go beside the suite: an xdist controller creates one and
    # deletes old ones, and deleting what earlier test runs left in the user's temp folder
    # (thousands of files after this project's own suite) is not the tool's cost.
    temp_root = root.parent / f"{root.name}-tmp"
    temp_root.mkdir(exist_ok=True)
    env = {**child_env(), "PYTEST_DEBUG_TEMPROOT": str(temp_root), **(extra_env or {})}
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:randomly", *args]
    started = time.perf_counter()
    proc = subprocess.run(command, cwd=root, env=env, capture_output=True, text=True, timeout=900)
    seconds = time.perf_counter() - started
    if proc.returncode != 0:
        raise RuntimeError(
            f"pytest {' '.join(args)} in {root} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-2000:]}"
        )
    return seconds


def _paired(
    rounds: int, a: tuple[Path, tuple[str, ...]], b: tuple[Path, tuple[str, ...]], *, warm: bool = True
) -> tuple[list[float], list[float]]:
    """Alternates a and b (which one goes first alternates too), ``rounds`` pairs."""
    times_a: list[float] = []
    times_b: list[float] = []
    if warm:  # the file cache and .pyc files, as a developer's second run has them
        _pytest(a[0], *a[1])
        _pytest(b[0], *b[1])
    for n in range(rounds):
        if n % 2:
            times_b.append(_pytest(b[0], *b[1]))
            times_a.append(_pytest(a[0], *a[1]))
        else:
            times_a.append(_pytest(a[0], *a[1]))
            times_b.append(_pytest(b[0], *b[1]))
    return times_a, times_b


def _ratio(a: list[float], b: list[float]) -> float:
    return median([x / y for x, y in zip(a, b, strict=True)])


def _load() -> str:
    one = os.getloadavg()[0]
    return f"load {one:.1f} on {os.cpu_count()} cores"


def run(ctx: Context) -> None:
    tests = ctx.size(200, 24)
    rounds = ctx.size(3, 1)
    suite = ctx.workdir / "dropin"
    real = make_suite(suite, tests)
    ctx.log(f"   suite: {tests} tests ({real} over real cassettes), {_load()}")
    replay_args = ("-p", "no:recording")
    # Whole processes 1.3-1.7 s long vary by ±10% on a shared machine: seven pairs for the target.
    wall_rounds = ctx.size(7, 1)
    ours, theirs = _paired(wall_rounds, (suite, replay_args), (suite, ()), warm=not ctx.quick)
    ctx.add(
        Row(
            "8.dropin_wall",
            f"{tests}-test pytest-recording suite, llm-replay drop-in (whole process)",
            median(ours),
            baseline_name="pytest-recording",
            baseline=median(theirs),
            ratio=_ratio(ours, theirs),
            target=Target("ratio", "<=", 0.8, "<= 0.8x"),
            note=f"median of {wall_rounds} paired runs; {_load()}",
        )
    )
    _fixed_costs(ctx, tests, rounds)
    _xdist(ctx, rounds, replay_args)


def _xdist(ctx: Context, rounds: int, replay_args: tuple[str, ...]) -> None:
    count = ctx.size(70, 16)
    sdk = ctx.workdir / "xdist-sdk"
    make_sdk_suite(sdk, count)
    small = ctx.workdir / "xdist"
    make_suite(small, count)
    rounds = max(rounds, ctx.size(5, 1))
    for row_id, figure, root, args, target in (
        (
            "8.xdist",
            f"{count}-test suite (an openai client per test, streamed replay, virtual time), -n 2",
            sdk,
            (),
            Target("ratio", "<", 1.0, "< 1.0x"),
        ),
        ("8.xdist_instant", f"{count}-test drop-in suite of ~1 ms tests, -n 2", small, replay_args, None),
    ):
        parallel, serial = _paired(rounds, (root, (*args, "-n", "2")), (root, args), warm=not ctx.quick)
        ctx.add(
            Row(
                row_id,
                figure,
                median(parallel),
                baseline_name="serial",
                baseline=median(serial),
                ratio=_ratio(parallel, serial),
                target=target,
                note=f"median of {rounds} paired runs; {_load()}",
            )
        )


def _test_times(root: Path, args: tuple[str, ...]) -> float:
    """The median of one run's per-test times (setup + call + teardown, real clock), leaving
    out the first tests, which pay what a session pays once (imports, first scans)."""
    with tempfile.NamedTemporaryFile("r", suffix=".txt") as out:
        _pytest(root, "-p", "bench.pertest", *args, extra_env={"LLM_REPLAY_BENCH_PERTEST": out.name})
        durations = [float(line) for line in out.read().split()]
    return median(durations[_WARM_TESTS:])


_WARM_TESTS = 10


def _per_test(ctx: Context, tests: int, rounds: int, marker: str, args: tuple[str, ...]) -> list[float]:
    """What a test with a cassette (opened and closed, no request) costs over the same test
    without one: per round, the median test of a run with the marker minus that of a run
    without, both measured inside the process."""
    suites = {}
    for kind in (marker, None):
        suites[kind] = root = ctx.workdir / f"fixed-{marker}-{kind}"
        make_suite(root, tests, marker=kind, requests=False)
    if not ctx.quick:
        _test_times(suites[marker], args)
    return [_test_times(suites[marker], args) - _test_times(suites[None], args) for _ in range(rounds)]


def _process_marginal(
    ctx: Context, tests: int, rounds: int, marker: str, args: tuple[str, ...]
) -> list[float]:
    """The same cost seen from outside: whole processes of ``tests`` and ``2 * tests`` tests
    (what a process pays once cancels out), marker minus none; one value per round. Noisier,
    but it includes what the tests leave to the rest of the session (garbage collection...)."""
    suites = {}
    for size in (tests, 2 * tests):
        for kind in (marker, None):
            suites[size, kind] = root = ctx.workdir / f"marginal-{marker}-{kind}-{size}"
            make_suite(root, size, marker=kind, requests=False)
    warm = not ctx.quick
    with_marker = _paired(rounds, (suites[2 * tests, marker], args), (suites[tests, marker], args), warm=warm)
    without = _paired(rounds, (suites[2 * tests, None], args), (suites[tests, None], args), warm=warm)
    return [
        ((big - small) - (big_bare - small_bare)) / tests
        for big, small, big_bare, small_bare in zip(*with_marker, *without, strict=True)
    ]


def _fixed_costs(ctx: Context, tests: int, rounds: int) -> None:
    native = ("-p", "no:recording")
    ours = _per_test(ctx, tests, max(rounds, 3), "replay", native)
    ctx.add(
        Row(
            "8.fixed_cost",
            "llm-replay plugin per test with a cassette (@pytest.mark.replay: open, close; no request)",
            median(ours),
            target=Target("value", "<=", 0.001, "<= 1 ms"),
            note=f"median test with the marker minus without, in process (first {_WARM_TESTS} left out), "
            f"median of {max(rounds, 3)} runs; {_load()}",
        )
    )
    marginal = _process_marginal(ctx, tests, rounds, "replay", native)
    ctx.add(
        Row(
            "8.fixed_cost_process",
            "the same, whole processes: ((2n - n tests) with marker - (2n - n) without) / n",
            median(marginal),
            note=f"n = {tests}, median of {rounds} rounds; {_load()}",
        )
    )
    dropin = _per_test(ctx, tests, max(rounds, 3), "vcr", native)
    theirs = _per_test(ctx, tests, max(rounds, 3), "vcr", ())
    ctx.add(
        Row(
            "8.fixed_cost_dropin",
            "the same through the drop-in (@pytest.mark.vcr, native engine)",
            median(dropin),
            baseline_name="pytest-recording",
            baseline=median(theirs),
            ratio=median(dropin) / median(theirs) if median(theirs) > 0 else None,
            note=f"in process, as 8.fixed_cost; {_load()}",
        )
    )


def main() -> None:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--keep", type=Path, help="write the 200-test suite here and stop")
    args = parser.parse_args()
    if args.keep:
        shutil.rmtree(args.keep, ignore_errors=True)
        make_suite(args.keep, 200)
        return
    with tempfile.TemporaryDirectory(prefix="llm-replay-dropin-") as tmp:
        ctx = Context(quick=args.quick, workdir=Path(tmp), log=print)
        run(ctx)
        for row in ctx.rows:
            print(row)


if __name__ == "__main__":
    main()
