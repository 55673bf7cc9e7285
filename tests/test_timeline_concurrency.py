"""N streams in flight on one virtual timeline, and event loops on the same clock.

Each stream must deliver chunk i at exactly its own request's send time + t_i on the shared
clock, whatever runs them (asyncio.gather, anyio task groups, threads, a thread pool), with no
serialisation and no real waiting; loop timers (wait_for, asyncio.timeout, anyio.fail_after,
call_later) fire at the virtual moment they would have fired live.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import anyio
import httpx
import httpx2
import pytest
from cassette_factory import BODY, URL, stream_interaction, write_cassette

import replay
from replay.timing.clock import REAL

# Three streams of different shapes (ends at 1.5, 1.2, 1.5 s), started at different moments.
TIMES = [[0.3, 0.6, 1.0, 1.5], [0.2, 0.7, 1.1, 1.2], [0.5, 0.9, 1.2, 1.5]]
STARTS = [0.0, 0.4, 0.25]
LIBRARIES = pytest.mark.parametrize("lib", [httpx2, httpx], ids=["httpx2", "httpx"])
MODES = ["gather", "anyio", "threads", "pool"]


def _cassette(tmp_path: Path) -> Path:
    interactions = [stream_interaction(t, body={**BODY, "n": i}) for i, t in enumerate(TIMES)]
    return write_cassette(tmp_path / "three.yaml", *interactions)


def _sync_stream(lib: Any, client: Any, i: int, origin: float, stagger: bool) -> list[float]:
    if stagger:
        time.sleep(STARTS[i])
    with client.stream("POST", URL, json={**BODY, "n": i}) as response:
        return [time.monotonic() - origin for _ in response.iter_raw()]


async def _async_stream(client: Any, i: int, origin: float, stagger: bool) -> list[float]:
    if stagger:
        await asyncio.sleep(STARTS[i])
    async with client.stream("POST", URL, json={**BODY, "n": i}) as response:
        return [time.monotonic() - origin async for _ in response.aiter_raw()]


def _run(mode: str, lib: Any, stagger: bool) -> tuple[list[list[float]], float, float]:
    """Three streams at once; (per stream: chunk readings on the shared clock, virtual total, wall)."""
    results: list[list[float]] = [[], [], []]
    if mode in ("gather", "anyio"):

        async def main() -> tuple[float, float]:
            async with lib.AsyncClient() as client:
                origin, wall = time.monotonic(), REAL.perf_counter()
                if mode == "gather":
                    found = await asyncio.gather(
                        *(_async_stream(client, i, origin, stagger) for i in range(3))
                    )
                    results[:] = found
                else:
                    async with anyio.create_task_group() as group:
                        for i in range(3):

                            async def one(i: int = i) -> None:
                                results[i] = await _async_stream(client, i, origin, stagger)

                            group.start_soon(one)
                return time.monotonic() - origin, REAL.perf_counter() - wall

        total, wall = asyncio.run(main()) if mode == "gather" else anyio.run(main)
        return results, total, wall
    with lib.Client() as client:
        origin, wall0 = time.monotonic(), REAL.perf_counter()
        if mode == "threads":

            def one(i: int) -> None:
                results[i] = _sync_stream(lib, client, i, origin, stagger)

            threads = [threading.Thread(target=one, args=(i,)) for i in range(3)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
        else:
            with ThreadPoolExecutor(3) as pool:
                results[:] = pool.map(lambda i: _sync_stream(lib, client, i, origin, stagger), range(3))
        return results, time.monotonic() - origin, REAL.perf_counter() - wall0


@LIBRARIES
@pytest.mark.parametrize("mode", MODES)
def test_concurrent_streams_each_keep_their_own_offsets(tmp_path: Path, mode: str, lib: Any) -> None:
    with replay.use_cassette(_cassette(tmp_path)):
        results, total, wall = _run(mode, lib, stagger=False)
    for seen, times in zip(results, TIMES, strict=True):
        assert seen == pytest.approx(times, abs=1e-6)
    # Not serialised: the three 1.5/1.2/1.5 s streams took 1.5 s together, not 4.2 s...
    assert total == pytest.approx(1.5, abs=1e-6)
    # ...and no real waiting (a real-time wait alone would take 1.5 s; exact figure in bench/).
    assert wall < 1.0


@pytest.mark.parametrize("mode", ["gather", "threads"])
def test_streams_started_at_different_moments_deliver_at_send_time_plus_t(tmp_path: Path, mode: str) -> None:
    with replay.use_cassette(_cassette(tmp_path)):
        results, total, _ = _run(mode, httpx2, stagger=True)
    for seen, times, start in zip(results, TIMES, STARTS, strict=True):
        assert seen == pytest.approx([start + t for t in times], abs=1e-6)
    assert total == pytest.approx(max(s + t[-1] for s, t in zip(STARTS, TIMES, strict=True)), abs=1e-6)


# -- the event loop on the same timeline ----------------------------------------------------------

TEN_SECONDS = [float(i) for i in range(1, 11)]


async def _read_all(client: Any, seen: list[float], origin: float) -> None:
    async with client.stream("POST", URL, json=BODY) as response:
        async for _ in response.aiter_raw():
            seen.append(time.monotonic() - origin)


def _timeout(kind: str) -> Callable[[Any, list[float], float], Any]:
    async def run(client: Any, seen: list[float], origin: float) -> None:
        if kind == "wait_for":
            await asyncio.wait_for(_read_all(client, seen, origin), 5)
        elif kind == "asyncio.timeout":
            async with asyncio.timeout(5):  # type: ignore[attr-defined]
                await _read_all(client, seen, origin)
        else:
            with anyio.fail_after(5):
                await _read_all(client, seen, origin)

    return run


@pytest.mark.parametrize("kind", ["wait_for", "asyncio.timeout", "anyio.fail_after"])
def test_a_timeout_around_a_long_stream_fires_at_the_virtual_moment(tmp_path: Path, kind: str) -> None:
    if kind == "asyncio.timeout" and not hasattr(asyncio, "timeout"):
        pytest.skip("asyncio.timeout is Python 3.11+")
    path = write_cassette(tmp_path / "ten.yaml", stream_interaction(TEN_SECONDS))
    seen: list[float] = []

    async def main() -> tuple[float, float]:
        loop = asyncio.get_running_loop()
        async with httpx2.AsyncClient() as client:
            origin, loop0 = time.monotonic(), loop.time()
            with pytest.raises(TimeoutError):
                await _timeout(kind)(client, seen, origin)
            return time.monotonic() - origin, loop.time() - loop0

    with replay.use_cassette(path):
        wall0 = REAL.perf_counter()
        fired, loop_fired = asyncio.run(main())
        wall = REAL.perf_counter() - wall0
    assert fired == pytest.approx(5.0, abs=1e-6)
    assert loop_fired == pytest.approx(5.0, abs=1e-6)
    assert seen == pytest.approx([1.0, 2.0, 3.0, 4.0, 5.0][: len(seen)], abs=1e-6)
    assert len(seen) in (4, 5)  # the chunk due at 5.0 and the timeout share that instant
    assert wall < 2


def test_call_later_and_sleeps_interleave_with_chunks_on_one_clock(tmp_path: Path) -> None:
    path = write_cassette(tmp_path / "ten.yaml", stream_interaction(TEN_SECONDS))
    events: list[tuple[str, float]] = []

    async def main() -> None:
        loop = asyncio.get_running_loop()
        async with httpx2.AsyncClient() as client:
            origin = time.monotonic()
            loop.call_later(2.25, lambda: events.append(("call_later", time.monotonic() - origin)))

            async def sleeper() -> None:
                await asyncio.sleep(3.5)
                events.append(("sleep", time.monotonic() - origin))

            async def reader() -> None:
                async with client.stream("POST", URL, json=BODY) as response:
                    async for _ in response.aiter_raw():
                        events.append(("chunk", time.monotonic() - origin))

            await asyncio.gather(sleeper(), reader())

    with replay.use_cassette(path):
        asyncio.run(main())
    names = [name for name, _ in events]
    assert names[:5] == ["chunk", "chunk", "call_later", "chunk", "sleep"]
    assert dict(events[2:5:2]) == pytest.approx({"call_later": 2.25, "sleep": 3.5}, abs=1e-6)
    chunk_times = [t for name, t in events if name == "chunk"]
    assert chunk_times == pytest.approx(TEN_SECONDS, abs=1e-6)


@pytest.mark.parametrize("runner", ["asyncio.to_thread", "anyio.to_thread"])
def test_work_in_a_thread_under_a_timeout_is_not_overtaken(tmp_path: Path, runner: str) -> None:
    """The loop's timer (30 s) must not fire while a worker thread prepares and streams."""
    path = write_cassette(tmp_path / "ten.yaml", stream_interaction(TEN_SECONDS))

    def blocking() -> list[float]:
        end = REAL.perf_counter() + 0.05
        while REAL.perf_counter() < end:  # real work before the request: the loop must wait for it
            pass
        with httpx2.Client() as client:
            origin = time.monotonic()
            with client.stream("POST", URL, json=BODY) as response:
                return [time.monotonic() - origin for _ in response.iter_raw()]

    async def main() -> tuple[list[float], float]:
        origin = time.monotonic()
        if runner == "asyncio.to_thread":
            seen = await asyncio.wait_for(asyncio.to_thread(blocking), 30)
        else:
            with anyio.fail_after(30):
                seen = await anyio.to_thread.run_sync(blocking)
        return seen, time.monotonic() - origin

    with replay.use_cassette(path):
        seen, total = anyio.run(main)
    assert seen == pytest.approx(TEN_SECONDS, abs=1e-6)
    assert total == pytest.approx(10.0, abs=1e-6)


def test_pytest_durations_of_a_virtual_test_are_sane(pytester: pytest.Pytester, tmp_path: Path) -> None:
    path = write_cassette(tmp_path / "one.yaml", stream_interaction([0.25, 0.5, 1.0, 1.5]))
    pytester.makepyfile(
        f"""
        import httpx2, pytest, time

        @pytest.mark.replay(path={str(path)!r}, timing="virtual")
        def test_streams():
            with httpx2.Client() as client, client.stream("POST", {URL!r}, json={BODY!r}) as r:
                for _ in r.iter_raw():
                    pass
        """
    )
    result = pytester.runpytest("--durations=0", "-vv", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    figures = {}
    for line in result.outlines:
        parts = line.split()
        if len(parts) == 3 and parts[1] in ("setup", "call", "teardown") and parts[0].endswith("s"):
            figures[parts[1]] = float(parts[0][:-1])
    assert set(figures) == {"setup", "call", "teardown"}, result.outlines
    # What really elapsed plus what was replayed: the call shows the 1.5 s stream; nothing is
    # negative or epoch-sized.
    assert 1.5 <= figures["call"] < 1.5 + 5
    assert 0 <= figures["setup"] < 5 and 0 <= figures["teardown"] < 5


def test_a_stream_held_open_by_a_blocked_thread_never_deadlocks_the_clock(tmp_path: Path) -> None:
    """Thread A holds a response open and blocks on a plain lock that B releases only after B's
    own stream ends: the clock waits for A at most a short real grace, then moves on."""
    path = _cassette(tmp_path)
    gate = threading.Lock()
    gate.acquire()
    seen: dict[str, list[float]] = {}

    def holder(client: Any, origin: float) -> None:
        with client.stream("POST", URL, json={**BODY, "n": 0}) as response:
            chunks = response.iter_raw()
            next(chunks)
            seen["a"] = [time.monotonic() - origin]
            gate.acquire()  # a lock, not a Condition: the timeline cannot know who will free it
            seen["a"] += [time.monotonic() - origin for _ in chunks]

    def releaser(client: Any, origin: float) -> None:
        with client.stream("POST", URL, json={**BODY, "n": 1}) as response:
            seen["b"] = [time.monotonic() - origin for _ in response.iter_raw()]
        gate.release()

    with replay.use_cassette(path), httpx2.Client() as client:
        origin = time.monotonic()
        threads = [threading.Thread(target=f, args=(client, origin)) for f in (holder, releaser)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        assert not any(thread.is_alive() for thread in threads), "the virtual clock deadlocked"
    assert seen["b"] == pytest.approx(TIMES[1], abs=1e-6)
    assert seen["a"][0] == pytest.approx(TIMES[0][0], abs=1e-6)
    # A's later chunks were due while it was blocked: it reads them at once, as it would live.
    assert seen["a"][1:] == pytest.approx([max(t, TIMES[1][-1]) for t in TIMES[0][1:]], abs=1e-6)


def test_a_recording_under_virtual_timing_is_not_cut_by_a_loop_timeout(
    tmp_path: Path, llm_server: Any
) -> None:
    """new_episodes: the recorded request runs in real time; a wait_for around it must not fire
    at a virtual jump while the real server is still answering."""
    path = write_cassette(tmp_path / "c.yaml", stream_interaction(TIMES[0]))
    url = llm_server.base_url + "/v1/chat/completions"
    payload = {"model": "m", "messages": [{"role": "user", "content": "hi"}], "stream": True}

    async def main() -> int:
        async with httpx2.AsyncClient() as client:

            async def read() -> int:
                async with client.stream("POST", url, json=payload) as response:
                    return len([chunk async for chunk in response.aiter_raw()])

            return await asyncio.wait_for(read(), 30)

    with replay.use_cassette(path, record_mode="new_episodes") as cassette:
        chunks = asyncio.run(main())
    assert chunks > 0
    assert len(replay.load_cassette(path).interactions) == 2, cassette
