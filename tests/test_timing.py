"""Timing policies: virtual (freezegun), real (deadline-scheduled) and instant, plus speed."""

from __future__ import annotations

import asyncio
import datetime
import threading
import time
from pathlib import Path

import anyio
import httpx
import httpx2
import openai
import pytest
from cassette_factory import URL, even_times, stream_interaction, write_cassette
from timing_helpers import Stamps, assert_on_time, stamp

import replay
from replay.timing.clock import REAL

SYNC_ASYNC = pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])


def _observe_openai(is_async: bool) -> list[float]:
    """Stream through the openai SDK; the application's own clock offset per parsed chunk."""
    messages = [{"role": "user", "content": "hi"}]
    if not is_async:
        client = openai.OpenAI(base_url="https://api.openai.com/v1", api_key="sk-x", max_retries=0)
        t0 = time.monotonic()
        return [
            time.monotonic() - t0
            for _ in client.chat.completions.create(
                model="gpt-4o-mini",
                messages=messages,
                stream=True,  # type: ignore[arg-type]
            )
        ]

    async def go() -> list[float]:
        client = openai.AsyncOpenAI(base_url="https://api.openai.com/v1", api_key="sk-x", max_retries=0)
        t0 = time.monotonic()
        stream = await client.chat.completions.create(
            model="gpt-4o-mini",
            messages=messages,
            stream=True,  # type: ignore[arg-type]
        )
        return [time.monotonic() - t0 async for _ in stream]

    return asyncio.run(go())


@SYNC_ASYNC
def test_virtual_30s_stream_takes_no_wall_time_and_offsets_are_exact(tmp_path: Path, is_async: bool) -> None:
    times = even_times(301, first=0.35, gap=0.1)  # ~30 s of stream
    path = write_cassette(tmp_path / "long.yaml", stream_interaction(times))
    start = REAL.perf_counter()
    with replay.use_cassette(path, timing="virtual"):
        offsets = _observe_openai(is_async)
    wall = REAL.perf_counter() - start
    # The SDK yields one chunk per event except [DONE]: offsets match all but the last time.
    assert offsets == pytest.approx(times[:-1], abs=1e-6)
    assert times[-1] > 30
    assert wall < 10, f"a 30 s recorded stream took {wall:.1f}s of wall time in virtual timing"


def test_virtual_clock_is_seen_by_every_time_api(tmp_path: Path) -> None:
    times = [0.25, 1.5, 2.75, 4.0]
    path = write_cassette(tmp_path / "c.yaml", stream_interaction(times, ttfb=0.2))
    seen: list[tuple[float, float, float, float]] = []
    with replay.use_cassette(path):
        start = (time.time(), time.monotonic(), time.perf_counter(), datetime.datetime.now())
        with httpx2.Client() as client, client.stream("POST", URL, json=_body()) as response:
            head = time.monotonic() - start[1]
            for _ in response.iter_raw():
                now = datetime.datetime.now()
                seen.append(
                    (
                        time.time() - start[0],
                        time.monotonic() - start[1],
                        time.perf_counter() - start[2],
                        (now - start[3]).total_seconds(),
                    )
                )
    assert head == pytest.approx(0.2, abs=1e-6)
    for row, t in zip(seen, times, strict=True):
        assert row == pytest.approx((t, t, t, t), abs=1e-6)


@pytest.mark.parametrize("timing", ["virtual", "real"])
def test_speed_divides_the_recorded_offsets(tmp_path: Path, timing: str) -> None:
    times = [0.1, 0.2, 0.3, 0.4]
    path = write_cassette(tmp_path / "c.yaml", stream_interaction(times))
    expected = [t / 4 for t in times]

    def measure() -> Stamps:
        stamps: list[tuple[float, float]] = []
        with replay.use_cassette(path, timing=timing, speed=4.0), httpx2.Client() as client:
            start = stamp()
            with client.stream("POST", URL, json=_body()) as response:
                stamps.extend(stamp() for _ in response.iter_raw())
        return start, stamps

    if timing == "real":
        assert_on_time(measure, expected)
        return
    offsets: list[float] = []
    with replay.use_cassette(path, timing=timing, speed=4.0), httpx2.Client() as client:
        t0 = time.monotonic()
        with client.stream("POST", URL, json=_body()) as response:
            offsets.extend(time.monotonic() - t0 for _ in response.iter_raw())
    assert offsets == pytest.approx(expected, abs=1e-6)


@SYNC_ASYNC
@pytest.mark.parametrize("library", [httpx2, httpx], ids=["httpx2", "httpx"])
def test_real_timing_delivers_each_chunk_at_its_offset(
    tmp_path: Path, is_async: bool, library: object
) -> None:
    times = [0.03, 0.05, 0.09, 0.1, 0.14, 0.2]
    path = write_cassette(tmp_path / "c.yaml", stream_interaction(times, ttfb=0.02))
    lib = library

    def sync_run() -> Stamps:
        out = []
        with lib.Client() as client:  # type: ignore[attr-defined]
            start = stamp()
            with client.stream("POST", URL, json=_body()) as response:
                for _ in response.iter_raw():
                    out.append(stamp())
        return start, out

    async def async_run() -> Stamps:
        out = []
        async with lib.AsyncClient() as client:  # type: ignore[attr-defined]
            start = stamp()
            async with client.stream("POST", URL, json=_body()) as response:
                async for _ in response.aiter_raw():
                    out.append(stamp())
        return start, out

    def measure() -> Stamps:
        with replay.use_cassette(path, timing="real"):
            return asyncio.run(async_run()) if is_async else sync_run()

    assert_on_time(measure, times)


def test_instant_timing_neither_waits_nor_freezes_the_clock(tmp_path: Path) -> None:
    times = even_times(50, first=1.0, gap=1.0)  # 50 s recorded
    path = write_cassette(tmp_path / "c.yaml", stream_interaction(times))
    start = REAL.perf_counter()
    with replay.use_cassette(path, timing="instant"):
        t0 = time.monotonic()
        with httpx2.Client() as client, client.stream("POST", URL, json=_body()) as response:
            chunks = list(response.iter_raw())
        elapsed_seen = time.monotonic() - t0
    wall = REAL.perf_counter() - start
    assert len(chunks) == 50
    assert wall < 5
    assert 0 <= elapsed_seen < 5  # the real clock: neither frozen at 0 nor advanced to 50 s
    assert elapsed_seen > 0


def test_virtual_timing_keeps_asyncio_and_anyio_working(tmp_path: Path) -> None:
    times = [0.5, 1.0, 1.5, 2.0]
    path = write_cassette(tmp_path / "c.yaml", stream_interaction(times))

    async def main() -> tuple[bool, list[float], float]:
        # A timeout on a never-set event fires on the virtual timeline: neither at once nor never.
        event = asyncio.Event()
        loop_t0 = asyncio.get_running_loop().time()
        try:
            await asyncio.wait_for(event.wait(), timeout=0.05)
            timed_out = False
        except asyncio.TimeoutError:
            timed_out = True
        waited = asyncio.get_running_loop().time() - loop_t0
        results: list[float] = []

        async def one() -> None:
            async with httpx2.AsyncClient() as client:
                t0 = time.monotonic()
                async with client.stream("POST", URL, json=_body()) as response:
                    async for _ in response.aiter_raw():
                        pass
                results.append(time.monotonic() - t0)

        async with anyio.create_task_group() as tg:
            tg.start_soon(one)
        with anyio.fail_after(5):  # anyio's own timers follow the loop's (virtual) clock
            await anyio.sleep(0.01)
        return timed_out, results, waited

    with replay.use_cassette(path, timing="virtual"):
        start = REAL.perf_counter()
        timed_out, results, waited = asyncio.run(main())
        wall = REAL.perf_counter() - start
    assert timed_out and waited == pytest.approx(0.05, abs=1e-6)
    assert results == [pytest.approx(2.0, abs=1e-6)]
    assert wall < 5


# Cassettes opened only for their clock: no request is the point (see replay.hygiene.silence).
@pytest.mark.filterwarnings("ignore::replay.hygiene.silence.CassetteUnusedWarning")
def test_virtual_sleeps_advance_the_clock_in_threads_on_the_timeline_only(tmp_path: Path) -> None:
    path = write_cassette(tmp_path / "c.yaml", stream_interaction([0.1, 0.2, 0.3]))
    other: dict[str, float] = {}
    go = threading.Event()

    def outsider() -> None:
        go.wait()
        start = REAL.perf_counter()
        time.sleep(0.05)  # a thread started before the cassette, by no one on the timeline: real
        other["real"] = REAL.perf_counter() - start

    thread = threading.Thread(target=outsider)
    thread.start()
    with replay.use_cassette(path, timing="virtual"):
        t0 = time.monotonic()
        wall0 = REAL.perf_counter()
        time.sleep(120)  # the cassette's thread: virtual
        asyncio.run(asyncio.sleep(30))
        anyio.run(anyio.sleep, 15)
        seen = time.monotonic() - t0
        wall = REAL.perf_counter() - wall0
        go.set()
        thread.join()
    assert seen == pytest.approx(165, abs=1e-6)
    assert wall < 5
    assert other["real"] >= 0.045
    with pytest.raises(ValueError), replay.use_cassette(path, timing="virtual"):
        time.sleep(-1)


@pytest.mark.filterwarnings("ignore::replay.hygiene.silence.CassetteUnusedWarning")
def test_clock_is_restored_after_the_cassette(tmp_path: Path) -> None:
    path = write_cassette(tmp_path / "c.yaml", stream_interaction([0.1, 0.2, 0.3]))
    real_sleep = time.sleep
    with replay.use_cassette(path, timing="virtual"):
        assert time.sleep is not real_sleep
        assert isinstance(datetime.datetime.now(), datetime.datetime)
    assert time.sleep is real_sleep
    a = time.monotonic()
    real_sleep(0.01)
    assert time.monotonic() - a >= 0.009


@pytest.mark.filterwarnings("ignore::replay.hygiene.silence.CassetteUnusedWarning")
def test_nested_cassettes_share_one_virtual_clock(tmp_path: Path) -> None:
    outer = write_cassette(tmp_path / "outer.yaml", stream_interaction([1.0, 2.0, 3.0]))
    inner = write_cassette(tmp_path / "inner.yaml", stream_interaction([0.5, 1.0, 1.5]))
    with replay.use_cassette(outer):
        t0 = time.monotonic()
        time.sleep(10)
        with replay.use_cassette(inner):
            with httpx2.Client() as client, client.stream("POST", URL, json=_body()) as response:
                list(response.iter_raw())
            assert time.monotonic() - t0 == pytest.approx(11.5, abs=1e-6)
        # Leaving the inner cassette does not move time backwards.
        assert time.monotonic() - t0 == pytest.approx(11.5, abs=1e-6)


def test_invalid_timing_and_speed_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="Unknown timing 'fast'"):
        replay.use_cassette(tmp_path / "x.yaml", timing="fast")
    with pytest.raises(ValueError, match="speed must be a number > 0"):
        replay.use_cassette(tmp_path / "x.yaml", speed=0)
    with pytest.raises(ValueError, match="Unknown record mode 'sometimes'"):
        replay.use_cassette(tmp_path / "x.yaml", record_mode="sometimes")


def _body() -> dict[str, object]:
    from cassette_factory import BODY

    return BODY


def test_sdks_imported_lazily_under_the_virtual_clock_still_build_their_models(tmp_path: Path) -> None:
    """A module first imported while the clock is frozen sees freezegun's FakeDatetime."""
    import subprocess
    import sys
    import textwrap

    path = write_cassette(tmp_path / "c.yaml", stream_interaction([0.1, 0.2, 0.3]))
    code = textwrap.dedent(
        f"""
        import sys
        import replay
        assert "cohere" not in sys.modules
        with replay.use_cassette({str(path)!r}, timing="virtual"):
            import datetime, pydantic
            adapter = pydantic.TypeAdapter(datetime.datetime)   # what cohere does at import
            print(adapter.validate_python("2026-01-02T03:04:05Z").year)
            import cohere
            cohere.ClientV2(api_key="x", base_url="http://127.0.0.1:9")
        print("OK")
        """
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.split() == ["2026", "OK"]


@pytest.mark.filterwarnings("ignore::replay.hygiene.silence.CassetteUnusedWarning")
def test_the_fast_freezer_is_in_use_and_patches_module_level_bindings(tmp_path: Path) -> None:
    """`from time import monotonic` bindings are what freezegun's module scan exists for."""
    import sys
    import textwrap

    from replay.timing import _freeze
    from replay.timing.clock import VirtualClock

    assert _freeze.AVAILABLE, "freezegun's internals changed: the virtual clock fell back to freeze_time"
    folder = tmp_path / "mods"
    folder.mkdir()
    source = textwrap.dedent(
        """
        from time import monotonic, perf_counter, time as wall
        from datetime import datetime

        def now():
            return monotonic(), perf_counter(), wall(), datetime.now()
        """
    )
    (folder / "bound_before.py").write_text(source)
    (folder / "bound_during.py").write_text(source)
    sys.path.insert(0, str(folder))
    try:
        import bound_before

        path = write_cassette(tmp_path / "c.yaml", stream_interaction([0.1, 0.2, 0.3]))
        with replay.use_cassette(path, timing="virtual"):
            clock = VirtualClock._current
            assert clock is not None and isinstance(clock._freezer, _freeze.FastFreezer)
            import bound_during

            before = [bound_before.now(), bound_during.now()]
            time.sleep(2.5)  # virtual: advances the frozen clock
            after = [bound_before.now(), bound_during.now()]
            for (m0, p0, w0, d0), (m1, p1, w1, d1) in zip(before, after, strict=True):
                assert (m1 - m0, p1 - p0, w1 - w0) == pytest.approx((2.5, 2.5, 2.5), abs=1e-6)
                assert (d1 - d0).total_seconds() == pytest.approx(2.5, abs=1e-6)
        for module in (bound_before, bound_during):  # real functions again
            assert module.monotonic is REAL.monotonic
            assert module.perf_counter is REAL.perf_counter
            m0 = module.monotonic()
            REAL.sleep(0.01)
            assert module.monotonic() - m0 >= 0.009
    finally:
        sys.path.remove(str(folder))
        sys.modules.pop("bound_before", None)
        sys.modules.pop("bound_during", None)


def test_the_fast_freezer_nests_inside_the_users_own_freezegun(tmp_path: Path) -> None:
    from freezegun import freeze_time

    path = write_cassette(tmp_path / "c.yaml", stream_interaction([1.0, 2.0, 3.0]))
    with freeze_time("2020-02-02 02:02:02") as frozen:
        assert datetime.datetime.now() == datetime.datetime(2020, 2, 2, 2, 2, 2)
        with replay.use_cassette(path, timing="virtual"):
            t0 = time.monotonic()
            with httpx2.Client() as client, client.stream("POST", URL, json=_body()) as r:
                list(r.iter_raw())
            assert time.monotonic() - t0 == pytest.approx(3.0, abs=1e-6)
        # The user's own clock is untouched by ours and still frozen where they left it.
        assert datetime.datetime.now() == datetime.datetime(2020, 2, 2, 2, 2, 2)
        frozen.tick(5)
        assert datetime.datetime.now() == datetime.datetime(2020, 2, 2, 2, 2, 7)
    assert datetime.datetime.now().year >= 2026
