"""The virtual timeline: continuity with the real clock, every thread and depth, bindings, real clock.

Concurrency and event loops are in test_timeline_concurrency.py.
"""

from __future__ import annotations

import datetime
import sys
import textwrap
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx2
import pytest
from cassette_factory import BODY, URL, stream_interaction, write_cassette

import replay
from replay.hygiene.silence import CassetteUnusedWarning
from replay.timing.clock import REAL

TIMES = [0.25, 0.5, 1.0, 1.5]

# Most cassettes here are opened for their clock alone: no request is the point
# (see replay.hygiene.silence).
pytestmark = pytest.mark.filterwarnings("ignore::replay.hygiene.silence.CassetteUnusedWarning")


def _stream(client: httpx2.Client) -> list[float]:
    t0 = time.monotonic()
    with client.stream("POST", URL, json=BODY) as response:
        return [time.monotonic() - t0 for _ in response.iter_raw()]


# -- 1. continuity ------------------------------------------------------------------------------


def test_the_clock_starts_at_the_real_readings_and_only_moves_forward(tmp_path: Path) -> None:
    path = write_cassette(tmp_path / "c.yaml", stream_interaction(TIMES))
    readers: dict[str, Callable[[], float]] = {
        "monotonic": lambda: time.monotonic(),
        "perf_counter": lambda: time.perf_counter(),
        "time": lambda: time.time(),
        "monotonic_ns": lambda: time.monotonic_ns() / 1e9,
        "datetime": lambda: datetime.datetime.now().timestamp(),
    }
    before = {name: read() for name, read in readers.items()}
    wall0 = REAL.perf_counter()
    with replay.use_cassette(path), httpx2.Client() as client:
        opened = {name: read() for name, read in readers.items()}
        real_elapsed = REAL.perf_counter() - wall0
        offsets = _stream(client)
        after = {name: read() for name, read in readers.items()}
    for name in readers:
        # Across the boundary: what really elapsed (a little), not ~1.8e9 s.
        assert 0 <= opened[name] - before[name] <= real_elapsed + 0.01, name
        # Inside: exactly what was replayed.
        assert after[name] - opened[name] == pytest.approx(1.5, abs=1e-6), name
    assert offsets == pytest.approx(TIMES, abs=1e-6)


def test_nested_and_successive_cassettes_never_move_the_clock_back(tmp_path: Path) -> None:
    path = write_cassette(tmp_path / "c.yaml", stream_interaction(TIMES))
    seen = [time.monotonic()]
    with replay.use_cassette(path, allow_playback_repeats=True) as outer:
        seen.append(time.monotonic())
        time.sleep(2)
        with replay.use_cassette(path):
            seen.append(time.monotonic())
        seen.append(time.monotonic())
        assert outer.timing.name.value == "virtual"
    assert seen == sorted(seen)
    assert seen[2] - seen[1] == pytest.approx(2, abs=1e-6)


# -- 2. every thread, any depth -----------------------------------------------------------------


def _deep(n: int) -> float:
    return _deep(n - 1) if n else time.monotonic()


def test_threads_see_the_same_clock_at_any_stack_depth(tmp_path: Path) -> None:
    path = write_cassette(tmp_path / "c.yaml", stream_interaction(TIMES))
    rows: list[list[float]] = []

    def work() -> None:
        rows.append([time.monotonic(), *(_deep(n) for n in (0, 1, 3, 5, 8, 20, 60))])

    with replay.use_cassette(path):
        time.sleep(100)  # the clock is now far from the real one
        expected = time.monotonic()
        thread = threading.Thread(target=work)
        thread.start()
        thread.join()
        with ThreadPoolExecutor(2) as pool:
            pool.submit(work).result()
        threading.Timer(0, work).run()
    assert len(rows) == 3
    for row in rows:
        assert row == pytest.approx([expected] * len(row), abs=1e-6)


def test_a_thread_pool_measures_the_recorded_time_to_first_token(tmp_path: Path) -> None:
    path = write_cassette(tmp_path / "c.yaml", stream_interaction(TIMES))
    with replay.use_cassette(path), httpx2.Client() as client, ThreadPoolExecutor(1) as pool:
        offsets = pool.submit(_stream, client).result()
    assert offsets == pytest.approx(TIMES, abs=1e-6)


def test_standard_library_waits_keep_real_time(tmp_path: Path) -> None:
    """Event.wait(timeout) computes its deadline on the real clock: on a virtual one it would
    never expire (frozen) or spin."""
    path = write_cassette(tmp_path / "c.yaml", stream_interaction(TIMES))
    with replay.use_cassette(path):
        start = REAL.perf_counter()
        assert threading.Event().wait(0.05) is False
        waited = REAL.perf_counter() - start
    assert 0.04 <= waited < 5


# -- 5. bindings ----------------------------------------------------------------------------------

BINDINGS = """
import dataclasses
import functools
import time
from time import monotonic, perf_counter as pc


def default(clock=time.monotonic):
    return clock()


def keyword(*, clock=time.perf_counter):
    return clock()


def make_closure():
    clock = time.monotonic
    return lambda: clock()


closure = make_closure()


class Timer:
    clock = time.monotonic

    def read(self, clock=time.time):
        return clock()

    @staticmethod
    def static(clock=time.monotonic):
        return clock()


@dataclasses.dataclass
class Stamp:
    at: float = dataclasses.field(default_factory=time.monotonic)


class Holder:
    def __init__(self, clock):
        self.clock = clock


HELD = Holder(time.perf_counter)
"""


@pytest.fixture
def bindings(tmp_path: Path) -> object:
    folder = tmp_path / "mods"
    folder.mkdir()
    (folder / "bindings_app.py").write_text(BINDINGS)
    sys.path.insert(0, str(folder))
    try:
        import bindings_app

        yield bindings_app
    finally:
        sys.path.remove(str(folder))
        sys.modules.pop("bindings_app", None)


def test_default_arguments_closures_and_attributes_see_the_virtual_clock(
    tmp_path: Path, bindings: object
) -> None:
    app: object = bindings
    readers: dict[str, Callable[[], float]] = {
        "from time import": lambda: app.monotonic(),  # type: ignore[attr-defined]
        "aliased import": lambda: app.pc(),  # type: ignore[attr-defined]
        "default": lambda: app.default(),  # type: ignore[attr-defined]
        "keyword default": lambda: app.keyword(),  # type: ignore[attr-defined]
        "closure": lambda: app.closure(),  # type: ignore[attr-defined]
        "class attribute": lambda: app.Timer.clock(),  # type: ignore[attr-defined]
        "method default": lambda: app.Timer().read(),  # type: ignore[attr-defined]
        "staticmethod default": lambda: app.Timer.static(),  # type: ignore[attr-defined]
        "dataclass default_factory": lambda: app.Stamp().at,  # type: ignore[attr-defined]
        "object attribute": lambda: app.HELD.clock(),  # type: ignore[attr-defined]
    }
    path = write_cassette(tmp_path / "c.yaml", stream_interaction(TIMES))
    with replay.use_cassette(path):
        before = {name: read() for name, read in readers.items()}
        time.sleep(7.25)
        after = {name: read() for name, read in readers.items()}
    for name in readers:
        assert after[name] - before[name] == pytest.approx(7.25, abs=1e-6), name
    # And real again afterwards.
    assert app.default() == pytest.approx(REAL.monotonic(), abs=0.5)  # type: ignore[attr-defined]
    assert app.Stamp().at == pytest.approx(REAL.monotonic(), abs=0.5)  # type: ignore[attr-defined]


def test_a_binding_that_cannot_follow_is_named_in_one_warning(tmp_path: Path) -> None:
    folder = tmp_path / "mods"
    folder.mkdir()
    (folder / "partial_app.py").write_text(
        textwrap.dedent(
            """
            import functools, time
            CLOCK = functools.partial(time.monotonic)
            """
        )
    )
    sys.path.insert(0, str(folder))
    path = write_cassette(tmp_path / "c.yaml", stream_interaction(TIMES))
    try:
        import partial_app  # noqa: F401

        with pytest.warns(replay.ReplayWarning) as caught, replay.use_cassette(path):
            pass
    finally:
        sys.path.remove(str(folder))
        sys.modules.pop("partial_app", None)
    # The cassette itself goes unused here, which is reported too (replay.hygiene.silence).
    messages = [str(w.message) for w in caught if w.category is not CassetteUnusedWarning]
    assert len(messages) == 1
    assert "partial_app.CLOCK holds the real time.monotonic" in messages[0]
    assert "functools.partial" in messages[0] and "\n" not in messages[0]


# -- 6. the real clock, exported ------------------------------------------------------------------


def test_real_clock_functions_read_wall_time_under_virtual_timing(tmp_path: Path) -> None:
    path = write_cassette(tmp_path / "c.yaml", stream_interaction(TIMES))
    with replay.use_cassette(path):
        real0 = (replay.real_monotonic(), replay.real_perf_counter(), replay.real_time())
        virtual0 = time.monotonic()
        time.sleep(30)
        REAL.sleep(0.02)
        real1 = (replay.real_monotonic(), replay.real_perf_counter(), replay.real_time())
        real = [b - a for a, b in zip(real0, real1, strict=True)]
        virtual = time.monotonic() - virtual0
    assert virtual == pytest.approx(30.0, abs=1e-6)
    for elapsed in real:
        assert 0.015 <= elapsed < 5
