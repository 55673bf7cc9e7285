"""Never lost, never corrupted: kills and interrupts mid-write, parallel xdist workers,
new_episodes appends, failed tests, and streams cut off while recording."""

from __future__ import annotations

import json
import multiprocessing
import os
import random
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kill_harness import STOP_POINTS, kill_iterations, temp_files
from llm_server import LLMServer, Script
from sdk_helpers import MESSAGES, make_client
from xdist_project import URL_VARIABLE, losses, project_source

import replay
from replay.io import atomic, persist, storage

SYNC_ASYNC = pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])


def record_one(server: LLMServer, path: Path, model: str, mode: str = "new_episodes") -> None:
    import httpx2

    with replay.use_cassette(path, record_mode=mode), httpx2.Client() as client:
        client.post(server.base_url + "/v1/chat/completions", json={"model": model, "messages": MESSAGES})


def models(path: Path) -> list[str]:
    return [json.loads(i.request.body)["model"] for i in replay.load_cassette(path).interactions]


# -- KeyboardInterrupt and errors mid-write -------------------------------------------------


@pytest.mark.parametrize("where", ["dump", "write", "fsync", "replace"])
def test_keyboard_interrupt_mid_write_leaves_the_old_file(
    where: str, llm_server: LLMServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "c.yaml"
    record_one(llm_server, path, "m0")
    before = path.read_bytes()

    def interrupt(*args: Any, **kwargs: Any) -> Any:
        raise KeyboardInterrupt

    if where == "dump":
        monkeypatch.setattr(storage, "dump_cassette", interrupt)
    elif where == "write":
        real_fdopen = os.fdopen

        def fdopen(fd: int, *args: Any, **kwargs: Any) -> Any:
            f = real_fdopen(fd, *args, **kwargs)

            class Half:
                def __enter__(self) -> Any:
                    return self

                def __exit__(self, *exc: Any) -> None:
                    f.close()

                def write(self, data: bytes) -> int:
                    f.write(data[: len(data) // 2])  # half the file reaches the temp file
                    raise KeyboardInterrupt

            return Half()

        monkeypatch.setattr(os, "fdopen", fdopen)
    else:
        monkeypatch.setattr(os, where, interrupt)
    with pytest.raises(KeyboardInterrupt):
        record_one(llm_server, path, "m1")
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert models(path) == ["m0"]
    assert temp_files(path) == []  # the half-written temporary file was removed


def test_an_oserror_mid_write_is_a_clear_error_and_keeps_the_old_file(
    llm_server: LLMServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "c.yaml"
    record_one(llm_server, path, "m0")
    before = path.read_bytes()

    def full(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(
        replay.CassetteWriteError, match=rf"Cannot write cassette {path}: No space left on device"
    ):
        record_one(llm_server, path, "m1")
    monkeypatch.undo()
    assert path.read_bytes() == before and temp_files(path) == []


def test_a_keyboard_interrupt_inside_the_block_saves_nothing(llm_server: LLMServer, tmp_path: Path) -> None:
    import httpx2

    path = tmp_path / "c.yaml"
    record_one(llm_server, path, "m0")
    before = path.read_bytes()
    with pytest.raises(KeyboardInterrupt), replay.use_cassette(path, record_mode="new_episodes"):
        with httpx2.Client() as client:
            client.post(llm_server.base_url + "/v1/chat/completions", json={"model": "m1"})
        raise KeyboardInterrupt
    assert path.read_bytes() == before


def test_stale_temporary_files_of_a_killed_writer_are_removed_by_the_next_save(
    llm_server: LLMServer, tmp_path: Path
) -> None:
    path = tmp_path / "c.yaml"
    record_one(llm_server, path, "m0")
    stale = tmp_path / ".c.yaml.abc123.tmp"
    stale.write_bytes(b"format: llm-replay\nversion: 1\ninteractions:\n- request: {meth")
    fresh = tmp_path / ".c.yaml.def456.tmp"  # may belong to a writer that is alive
    fresh.write_bytes(b"...")
    old = time.time() - 3600
    os.utime(stale, (old, old))
    record_one(llm_server, path, "m1")
    assert temp_files(path) == [fresh]
    assert models(path) == ["m0", "m1"]


def test_a_fresh_temporary_file_is_removed_when_its_writer_is_gone(
    llm_server: LLMServer, tmp_path: Path
) -> None:
    import subprocess
    import sys

    path = tmp_path / "c.yaml"
    record_one(llm_server, path, "m0")
    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, check=True
    )
    dead = tmp_path / f".c.yaml.{int(gone.stdout)}-abc123.tmp"  # its writer has exited
    alive = tmp_path / f".c.yaml.{os.getpid()}-def456.tmp"  # may be mid-write (Cassette.save)
    for tmp in (dead, alive):
        tmp.write_bytes(b"format: llm-replay\nversion: 1\ninteractions:\n- request: {meth")
    record_one(llm_server, path, "m1")
    assert temp_files(path) == [alive]
    assert models(path) == ["m0", "m1"]
    assert atomic.temp_writer_pid(alive, path) == os.getpid()
    assert atomic.temp_writer_pid(tmp_path / ".c.yaml.abc123.tmp", path) is None


# -- SIGKILL / SIGINT at random points ------------------------------------------------------


@pytest.fixture(scope="module")
def forkserver() -> Iterator[Any]:
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(["replay", "httpx2", "kill_harness", "kill_warmup"])
    yield ctx


KILL_PLAN = (
    [("kill", "random")] * 15
    + [("kill", stop) for stop in STOP_POINTS] * 5
    + [("int", "random")] * 6
    + [("int", stop) for stop in STOP_POINTS] * 3
)


def test_killing_a_recorder_at_random_points_never_corrupts_the_cassette(
    forkserver: Any, tmp_path: Path
) -> None:
    plan = list(KILL_PLAN)
    random.Random(6).shuffle(plan)
    with LLMServer(Script(head_delay=0.0, first_delay=0.0, gaps=[0.0], gzip_json=False)) as server:
        stats = kill_iterations(forkserver, server, tmp_path / "killed.yaml", plan, seed=6)
    print(f"kill-during-write stats: {stats}")
    # kill_iterations checked after every step that the file is the old cassette or the new
    # one; the steps inside the write were driven there, so they are all covered.
    assert stats["steps"] == len(KILL_PLAN)
    assert stats["parked"] == sum(when != "random" for _, when in KILL_PLAN), stats
    assert stats["saves"] >= stats["parked"] // 2, stats


def test_thirty_writers_killed_mid_save_leave_at_most_one_temporary_file(
    forkserver: Any, tmp_path: Path
) -> None:
    path = tmp_path / "killed.yaml"
    plan = [("kill", "partial"), ("kill", "fsynced")] * 15
    with LLMServer(Script(head_delay=0.0, first_delay=0.0, gaps=[0.0], gzip_json=False)) as server:
        stats = kill_iterations(forkserver, server, path, plan, seed=30)
        # Every step left its writer's temporary file, and the next save removed the previous
        # one (kill_iterations asserts the file and the writer's pid after each step).
        assert stats["steps"] == 30 and stats["temp_left"] == 30 and stats["max_temps"] == 1, stats
        record_one(server, path, "last")
    assert temp_files(path) == []


# -- new_episodes, record_on_failure --------------------------------------------------------


def test_new_episodes_appends_without_dropping_or_changing_earlier_interactions(
    llm_server: LLMServer, tmp_path: Path
) -> None:
    path = tmp_path / "c.yaml"
    record_one(llm_server, path, "m0", mode="once")
    record_one(llm_server, path, "m1")
    first = replay.load_cassette(path).interactions
    record_one(llm_server, path, "m0")  # matches: replayed, nothing new
    record_one(llm_server, path, "m2")
    after = replay.load_cassette(path).interactions
    assert models(path) == ["m0", "m1", "m2"]
    assert after[:2] == first


def test_a_failing_test_leaves_no_partial_recording_unless_asked(
    pytester: pytest.Pytester, llm_server: LLMServer
) -> None:
    pytester.makepyfile(
        test_fail=f"""
        import httpx2, pytest

        URL = "{llm_server.base_url}/v1/chat/completions"

        def chat(model):
            with httpx2.Client() as client:
                return client.post(URL, json={{"model": model}})

        @pytest.mark.replay
        def test_fails_midway():
            chat("first")
            assert False, "boom"

        @pytest.mark.replay(record_on_failure=True)
        def test_fails_but_keeps():
            chat("first")
            assert False, "boom"

        @pytest.mark.replay("cassettes/existing.yaml")
        def test_fails_on_existing():
            chat("second")
            assert False, "boom"
        """
    )
    existing = pytester.path / "cassettes" / "existing.yaml"
    record_one(llm_server, existing, "first", mode="once")
    before = existing.read_bytes()
    result = pytester.runpytest("--replay-record-mode=new_episodes", "-p", "no:cacheprovider")
    result.assert_outcomes(failed=3)
    folder = pytester.path / "cassettes" / "test_fail"
    assert not (folder / "test_fails_midway.yaml").exists()
    assert models(folder / "test_fails_but_keeps.yaml") == ["first"]
    assert existing.read_bytes() == before


# -- pytest-xdist ---------------------------------------------------------------------------

XDIST_TESTS = 200
XDIST_SHARED = 3


def test_xdist_workers_recording_into_shared_and_distinct_cassettes_lose_nothing(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, source in project_source(XDIST_TESTS, XDIST_SHARED).items():
        (pytester.path / name).write_text(source)
    with LLMServer(Script(head_delay=0.005, first_delay=0.0, gaps=[0.0])) as server:
        monkeypatch.setenv(URL_VARIABLE, server.base_url)
        result = pytester.runpytest_subprocess(
            "-n", "4", "--replay-record-mode=new_episodes", "-p", "no:cacheprovider", "-q"
        )
        result.assert_outcomes(passed=XDIST_TESTS)
    assert losses(pytester.path, XDIST_TESTS, XDIST_SHARED) == {}
    assert len(list((pytester.path / "cassettes" / "test_parallel").glob("*.yaml"))) == XDIST_TESTS // 2
    assert not list(pytester.path.rglob(".*.tmp"))
    # The server is gone: the merged cassettes replay every test, in parallel again.
    result = pytester.runpytest_subprocess("-n", "4", "-p", "no:cacheprovider", "-q")
    result.assert_outcomes(passed=XDIST_TESTS)


def test_a_save_merges_with_what_another_process_wrote_meanwhile(
    llm_server: LLMServer, tmp_path: Path
) -> None:
    import httpx2

    path = tmp_path / "c.yaml"
    record_one(llm_server, path, "m0", mode="once")
    with replay.use_cassette(path, record_mode="new_episodes"), httpx2.Client() as client:
        client.post(
            llm_server.base_url + "/v1/chat/completions", json={"model": "mine", "messages": MESSAGES}
        )
        record_one(llm_server, path, "theirs")  # another writer saves while this block runs
    assert models(path) == ["m0", "theirs", "mine"]


def test_rewrite_keeps_what_other_workers_added_but_drops_its_own_old_interactions(
    llm_server: LLMServer, tmp_path: Path
) -> None:
    import httpx2

    path = tmp_path / "c.yaml"
    record_one(llm_server, path, "old", mode="once")
    with replay.use_cassette(path, record_mode="rewrite"), httpx2.Client() as client:
        client.post(
            llm_server.base_url + "/v1/chat/completions", json={"model": "mine", "messages": MESSAGES}
        )
        record_one(llm_server, path, "theirs")
    assert models(path) == ["theirs", "mine"]


def test_a_cassette_corrupted_meanwhile_is_not_overwritten(llm_server: LLMServer, tmp_path: Path) -> None:
    import httpx2

    path = tmp_path / "c.yaml"
    record_one(llm_server, path, "m0", mode="once")
    with (
        pytest.raises(replay.CassetteFormatError, match="The new recordings were not saved"),
        replay.use_cassette(path, record_mode="new_episodes"),
        httpx2.Client() as client,
    ):
        client.post(llm_server.base_url + "/v1/chat/completions", json={"model": "m1", "messages": MESSAGES})
        path.write_text("format: llm-replay\nversion: 1\ninteractions: [{request: ")  # a bad hand edit
    assert path.read_text().endswith("[{request: ")


def test_the_lock_times_out_with_a_clear_error(tmp_path: Path) -> None:
    from filelock import FileLock

    path = tmp_path / "c.yaml"
    holder = FileLock(persist.lock_path(path))
    with (
        holder,
        pytest.raises(replay.CassetteWriteError, match=r"Timed out after 0\.2s waiting to write cassette"),
        persist.cassette_lock(path, timeout=0.2),
    ):
        pass


def test_a_session_that_saved_exits_without_lock_finalizer_noise(pytester: pytest.Pytester) -> None:
    # The locks of earlier saves outlive a pytester inline run; finalized at interpreter exit
    # they found filelock's globals cleared and printed a traceback each (filelock 3.32).
    pytester.makeconftest('pytest_plugins = ["pytester"]')
    pytester.makepyfile(
        test_saves="""
        from replay.io.persist import cassette_lock

        def test_save(tmp_path):
            for i in range(3):
                with cassette_lock(tmp_path / f"c{i}.yaml"):
                    pass

        def test_inline(pytester):
            pytester.makepyfile("def test_x():\\n    pass\\n")
            pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)
    assert "Exception ignored" not in result.stderr.str()


# -- a stream cut off while recording -------------------------------------------------------


@SYNC_ASYNC
@pytest.mark.parametrize("sdk", ["openai", "groq"])
def test_a_disconnect_while_recording_replays_as_the_same_failure(
    sdk: str, is_async: bool, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    path = tmp_path / "cut.yaml"
    script = Script(head_delay=0.01, first_delay=0.0, gaps=[0.005], disconnect_after=3)
    with LLMServer(script) as server:
        base = server.base_url
        with replay.use_cassette(path, record_mode="once"):
            live = stream_until_failure(sdk, base, is_async)
    recorded = replay.load_cassette(path).interactions[0].response
    assert recorded.end is not None and recorded.end.kind == "remote_protocol_error"
    assert len(recorded.events()) == 3
    request.getfixturevalue("no_network")
    with replay.use_cassette(path):
        again = stream_until_failure(sdk, base, is_async)
    assert again == live
    assert live[1] != "no error" and len(live[0]) == 3


def stream_until_failure(sdk: str, base: str, is_async: bool) -> tuple[list[str], str]:
    """Stream a chat completion; return the contents received and the exception type raised."""
    import asyncio

    client = make_client(sdk, base, is_async=is_async)
    got: list[str] = []

    def absorb(chunk: Any) -> None:
        got.extend(c.delta.content or "" for c in chunk.choices)

    if is_async:

        async def go() -> str:
            async with client:
                try:
                    stream = await client.chat.completions.create(model="m", messages=MESSAGES, stream=True)
                    async for chunk in stream:
                        absorb(chunk)
                except Exception as exc:
                    return type(exc).__module__ + "." + type(exc).__qualname__
            return "no error"

        error = asyncio.run(go())
    else:
        with client:
            try:
                for chunk in client.chat.completions.create(model="m", messages=MESSAGES, stream=True):
                    absorb(chunk)
            except Exception as exc:
                error = type(exc).__module__ + "." + type(exc).__qualname__
            else:
                error = "no error"
    return got, error
