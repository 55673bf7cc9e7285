"""Fault injection, measured: what a fault costs per request, and what SDK retries cost in
virtual time.

    python bench/bench_faults.py            # prints one line per measurement

Numbers: wall time on this machine (``REAL.perf_counter``, which freezegun does not touch) and
the time the application observed (``time.monotonic`` inside the cassette, virtual).
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

import openai

import replay
from replay import synth
from replay.faults import FinishReason, HTTPError, Rechunk, Stall, Truncate
from replay.faults.draft import FaultContext
from replay.faults.injector import FaultInjector
from replay.timing.clock import REAL

MESSAGES: list[Any] = [{"role": "user", "content": "hi"}]


def _median_ms(fn: Callable[[], object], n: int) -> tuple[float, float]:
    samples = []
    for _ in range(n):
        t0 = REAL.perf_counter()
        fn()
        samples.append((REAL.perf_counter() - t0) * 1000)
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.95) - 1]


def build_costs() -> None:
    """Plan-building cost per request (no HTTP), for a 500-token stream."""
    interaction = synth.chat(" ".join(f"tok{i}" for i in range(500)))
    ctx = FaultContext(interaction.request, interaction, 0, "bench", 600.0)
    body = len(interaction.response.body)
    for label, faults in (
        ("no fault", []),
        ("FinishReason('length')", [FinishReason("length")]),
        ("Truncate(after_events=250)", [Truncate(after_events=250)]),
        ("Rechunk(64)", [Rechunk(64)]),
        ("Rechunk(1)", [Rechunk(1)]),
        ("Rechunk(1, eol=CRLF) + FinishReason", [Rechunk(1, eol="\r\n"), FinishReason("length")]),
    ):

        def build(f: list[Any] = faults) -> object:
            return FaultInjector(f).build(interaction.response, ctx)

        median, p95 = _median_ms(build, 30)
        print(
            f"plan, 500-token stream ({body} bytes), {label:38s}: median {median:7.2f} ms  p95 {p95:7.2f} ms"
        )


def retries() -> None:
    """429 with retry-after: 20, then success, through the real openai SDK (virtual timing)."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "c.yaml"
        synth.cassette(synth.chat("Hello after the rate limit.")).save(path)
        for times in (1, 2):
            walls, observed = [], []
            for _ in range(20):
                with replay.use_cassette(path, faults=[HTTPError(429, retry_after=20, times=times)]):
                    client = openai.OpenAI(api_key="k", base_url="http://127.0.0.1:9/v1", max_retries=2)
                    w0, t0 = REAL.perf_counter(), time.monotonic()
                    for _chunk in client.chat.completions.create(model="m", messages=MESSAGES, stream=True):
                        pass
                    observed.append(time.monotonic() - t0)
                    walls.append((REAL.perf_counter() - w0) * 1000)
                    client.close()
            print(
                f"openai sync, {times} x 429 retry-after 20 then success: app observed "
                f"{statistics.median(observed):.3f} s, wall median {statistics.median(walls):.1f} ms "
                f"max {max(walls):.1f} ms"
            )


def stall() -> None:
    """A stall past openai's default 600 s read timeout, in virtual timing."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "c.yaml"
        synth.cassette(synth.chat("Stalled stream.")).save(path)
        walls, observed = [], []
        for _ in range(20):
            with replay.use_cassette(path, faults=[Stall(after_events=2)]):
                client = openai.OpenAI(api_key="k", base_url="http://127.0.0.1:9/v1", max_retries=0)
                w0, t0 = REAL.perf_counter(), time.monotonic()
                try:
                    for _chunk in client.chat.completions.create(model="m", messages=MESSAGES, stream=True):
                        pass
                except openai.APITimeoutError:
                    pass
                observed.append(time.monotonic() - t0)
                walls.append((REAL.perf_counter() - w0) * 1000)
                client.close()
        print(
            "openai sync, Stall() past the 600 s read timeout: app observed "
            f"{statistics.median(observed):.6f} s, wall median {statistics.median(walls):.1f} ms"
        )


if __name__ == "__main__":
    build_costs()
    retries()
    stall()
