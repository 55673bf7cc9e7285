"""A pytest plugin for the bench: each test's own time (setup + call + teardown), on the real clock.

Loaded into a measured pytest run with ``-p bench.pertest``; writes the durations, one per
line in seconds, to the file named by ``LLM_REPLAY_BENCH_PERTEST``. The clock is llm-replay's
``REAL`` one, which the virtual clock never touches (``time.perf_counter`` inside a test on
virtual timing reads virtual time).
"""

from __future__ import annotations

import os
from collections.abc import Generator

import pytest

from replay.timing.real import REAL

_DURATIONS: list[float] = []


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(
    item: pytest.Item, nextitem: pytest.Item | None
) -> Generator[None, object, object]:
    started = REAL.perf_counter()
    try:
        return (yield)
    finally:
        _DURATIONS.append(REAL.perf_counter() - started)


def pytest_unconfigure(config: pytest.Config) -> None:
    target = os.environ.get("LLM_REPLAY_BENCH_PERTEST")
    if target:
        with open(target, "w") as out:
            out.write("\n".join(f"{d:.9f}" for d in _DURATIONS))
