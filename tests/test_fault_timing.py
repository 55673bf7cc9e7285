"""Faults in time: SDK retries on a virtual clock, stalls ending at exactly the read timeout.

The openai and anthropic SDKs sleep between retries with ``time.sleep`` / ``anyio.sleep``; in
virtual timing those sleeps move the application's clock instead of waiting. A 429 with
``retry-after: 20`` then success must take well under a second of wall time while the
application observes the 20 s. (Wall-time limits here are loose on purpose: the precise numbers
are in ``bench/bench_faults.py``.)
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import anthropic
import httpx2
import openai
import pytest
from fault_helpers import ask, record_chat
from llm_server import LLMServer, Script

import replay
from replay.faults import Disconnect, FaultNotApplied, HTTPError, Latency, Stall

SYNC_ASYNC = pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
STREAM = pytest.mark.parametrize("stream", [True, False], ids=["stream", "json"])
SDK = pytest.mark.parametrize("sdk", ["openai", "anthropic"])
RATE_LIMITED = {"openai": openai.RateLimitError, "anthropic": anthropic.RateLimitError}


class Recordings(NamedTuple):
    base: str  # the local server's, stopped: every test replays
    paths: dict[tuple[str, bool], Path]  # (sdk, stream) -> its recording

    def at(self, sdk: str, stream: bool) -> tuple[str, Path]:
        """The base URL and the recording of ``sdk`` (streamed or not)."""
        return self.base, self.paths[sdk, stream]


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Recordings]:
    folder = tmp_path_factory.mktemp("timing")
    paths = {
        (sdk, stream): folder / f"{sdk}-{stream}.yaml"
        for sdk in ("openai", "anthropic")
        for stream in (True, False)
    }
    with LLMServer(Script(head_delay=0.02, first_delay=0.01, gaps=[0.005, 0.01, 0.015])) as server:
        base = server.base_url
        for (sdk, stream), path in paths.items():
            record_chat(sdk, base, path, stream=stream)
    yield Recordings(base, paths)


def _duration(path: Path) -> tuple[float, float]:
    """(head t, last chunk t) of the recording."""
    response = replay.load_cassette(path).interactions[0].response
    return response.t, response.chunks[-1].t


@SYNC_ASYNC
@STREAM
@SDK
def test_429_retry_after_20_then_success_in_virtual_time(
    sdk: str, stream: bool, is_async: bool, recorded: Recordings
) -> None:
    base, path = recorded.at(sdk, stream)
    head, last = _duration(path)
    with replay.use_cassette(path, faults=[HTTPError(429, retry_after=20, times=2)]) as cassette:
        seen = ask(sdk, base, stream=stream, is_async=is_async, max_retries=2)
    assert seen.error is None, seen.message
    assert seen.text == "Hello from the local test server."
    # Two 429s (each after the recorded time to headers), two 20 s back-offs, then the recording.
    assert seen.elapsed == pytest.approx(2 * head + 40 + last, abs=1e-5)
    assert seen.wall < 2.0  # observed 40 s; typically ~50 ms of wall time (see bench/)
    # The 429s did not use up the recorded interaction: the success replayed it.
    assert cassette.play_counts == [1]
    assert [s.applied for s in cassette.fault_report] == [2]


@SYNC_ASYNC
@SDK
def test_429_until_retries_run_out(sdk: str, is_async: bool, recorded: Recordings) -> None:
    base, path = recorded.at(sdk, True)
    head, _ = _duration(path)
    with replay.use_cassette(path, faults=[HTTPError(429, retry_after=20, times=3)]) as cassette:
        seen = ask(sdk, base, stream=True, is_async=is_async, max_retries=2)
        assert cassette.play_counts == [0]
        # The fault is used up; the recording is still there for the next request.
        again = ask(sdk, base, stream=True, is_async=is_async)
    assert seen.error is RATE_LIMITED[sdk]
    assert seen.elapsed == pytest.approx(3 * head + 40, abs=1e-5)
    assert again.error is None and again.text == "Hello from the local test server."
    assert cassette.play_counts == [1]


@SYNC_ASYNC
def test_anthropic_529_overloaded_is_retried(is_async: bool, recorded: Recordings) -> None:
    base, paths = recorded
    with replay.use_cassette(paths["anthropic", False], faults=[HTTPError(529, times=1)]) as cassette:
        seen = ask("anthropic", base, stream=False, is_async=is_async, max_retries=1)
    assert seen.error is None and seen.finish == "end_turn"
    assert [s.applied for s in cassette.fault_report] == [1]


@SYNC_ASYNC
@STREAM
@pytest.mark.parametrize("speed", [1.0, 2.0])
def test_stall_ends_at_exactly_the_read_timeout_in_virtual_time(
    stream: bool, is_async: bool, speed: float, recorded: Recordings
) -> None:
    base, path = recorded.at("openai", stream)
    response = replay.load_cassette(path).interactions[0].response
    fault = Stall(after_events=3) if stream else Stall()
    timeout = httpx2.Timeout(30.0, read=7.5)
    with replay.use_cassette(path, faults=[fault], speed=speed):
        seen = ask("openai", base, stream=stream, is_async=is_async, timeout=timeout)
    assert seen.error is openai.APITimeoutError
    assert seen.cause is httpx2.ReadTimeout
    # The last bytes before the stall (three events; the first half of the JSON body) arrived
    # at their recorded offset, and the read timeout counts from there.
    last_delivered = response.chunks[2].t if stream else response.chunks[0].t
    assert seen.elapsed == pytest.approx(last_delivered / speed + 7.5, abs=1e-5)
    assert seen.wall < 2.0
    if stream:
        assert seen.items == 3


@SYNC_ASYNC
def test_a_short_stall_only_delays(is_async: bool, recorded: Recordings) -> None:
    base, path = recorded.at("openai", True)
    response = replay.load_cassette(path).interactions[0].response
    with replay.use_cassette(path, faults=[Stall(after_events=3, seconds=5)]):
        seen = ask("openai", base, stream=True, is_async=is_async, timeout=httpx2.Timeout(30.0, read=7.5))
    assert seen.error is None
    expected = [c.t for c in response.chunks[:3]] + [c.t + 5 for c in response.chunks[3:]]
    assert seen.item_at == pytest.approx(expected[: len(seen.item_at)], abs=1e-5)


def test_latency_scale_stretches_every_gap(recorded: Recordings) -> None:
    base, path = recorded.at("openai", True)
    response = replay.load_cassette(path).interactions[0].response
    with replay.use_cassette(path, faults=[Latency(scale=3)]):
        seen = ask("openai", base, stream=True, is_async=False)
    assert seen.head_at == pytest.approx(response.t * 3, abs=1e-5)
    assert seen.item_at == pytest.approx([c.t * 3 for c in response.chunks][: seen.items], abs=1e-5)


def test_stall_in_real_timing_waits_for_the_real_read_timeout(
    recorded: Recordings,
) -> None:
    base, paths = recorded
    with replay.use_cassette(paths["openai", True], faults=[Stall(after_events=2)], timing="real"):
        seen = ask("openai", base, stream=True, is_async=False, timeout=httpx2.Timeout(5.0, read=0.3))
    assert seen.error is openai.APITimeoutError
    assert 0.25 < seen.wall < 3.0


def test_a_stall_without_end_and_no_read_timeout_is_refused(
    recorded: Recordings,
) -> None:
    base, paths = recorded
    with (
        pytest.raises(FaultNotApplied, match="no read timeout"),
        replay.use_cassette(paths["openai", True], faults=[Stall()]),
    ):
        seen = ask("openai", base, stream=True, is_async=False, timeout=None)
    assert seen.error is replay.ReplayError
    assert "no read timeout" in seen.message and "seconds=" in seen.message


def _byte_due(path: Path, pos: int) -> float:
    """When byte ``pos`` of the recorded body arrived (the chunk that carried it)."""
    end = 0
    for chunk in replay.load_cassette(path).interactions[0].response.chunks:
        end += len(chunk.data)
        if end > pos:
            return chunk.t
    raise AssertionError(f"the body has no byte {pos}")


@SYNC_ASYNC
@pytest.mark.parametrize("reset", [False, True], ids=["disconnect", "reset"])
@SDK
def test_a_disconnect_raises_when_the_next_bytes_were_due(
    sdk: str, reset: bool, is_async: bool, recorded: Recordings
) -> None:
    base, path = recorded.at(sdk, True)
    with replay.use_cassette(path, faults=[Disconnect(after_events=4, reset=reset)]):
        seen = ask(sdk, base, stream=True, is_async=is_async)
    assert seen.error is not None, "the disconnect raised nothing"
    # The application's (virtual) clock when the error reached it: exactly when the first
    # byte the network did not deliver was due, later than the head and the first event.
    delivered = b"".join(data for _, data in seen.reads)
    assert delivered.endswith(b"\n\n") and delivered.count(b"\n\n") >= 4
    due = _byte_due(path, len(delivered))
    assert due > _byte_due(path, 0) > 0
    assert seen.elapsed == pytest.approx(due, abs=1e-6), (seen.elapsed, due)
    assert seen.reads[-1][0] < due
