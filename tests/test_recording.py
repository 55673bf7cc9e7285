"""Recording: chunks pass through as they arrive, record modes, failures, streams cut short."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import httpx2
import pytest
from llm_server import LLMServer, Script
from sdk_helpers import raw_chunks, run_chat

import replay
from replay.timing.clock import REAL

PAYLOAD = {"model": "m", "messages": [{"role": "user", "content": "x"}], "stream": True}


@pytest.mark.parametrize("library", [httpx2, httpx], ids=["httpx2", "httpx"])
def test_app_sees_the_first_chunk_before_the_server_sends_the_last(
    library: object, llm_server: LLMServer, tmp_path: Path
) -> None:
    llm_server.hold_last.clear()  # the server waits for us before sending its final event
    seen_while_held: list[bool] = []
    url = llm_server.base_url + "/v1/chat/completions"
    client_cls = library.Client  # type: ignore[attr-defined]
    with (
        replay.use_cassette(tmp_path / "c.yaml", record_mode="once"),
        client_cls() as client,
        client.stream("POST", url, json=PAYLOAD) as r,
    ):
        for i, _chunk in enumerate(r.iter_raw()):
            if i == 0:
                seen_while_held.append(not llm_server.hold_last.is_set())
                llm_server.hold_last.set()
    assert seen_while_held == [True]
    recorded = replay.load_cassette(tmp_path / "c.yaml").interactions[0].response
    assert len(recorded.chunks) == 10
    assert recorded.end is None


@pytest.mark.parametrize("library", ["httpx2", "httpx"])
def test_recorded_times_follow_the_servers_schedule(library: str, tmp_path: Path) -> None:
    script = Script(head_delay=0.15, first_delay=0.05, gaps=[0.04, 0.08])
    with LLMServer(script) as server, replay.use_cassette(tmp_path / "c.yaml", record_mode="once"):
        pieces, seen = raw_chunks(library, server.base_url + "/v1/chat/completions", PAYLOAD, is_async=False)
    response = replay.load_cassette(tmp_path / "c.yaml").interactions[0].response
    assert server.head_sent_at is not None
    assert [c.data for c in response.chunks] == [data for _, data in server.sent] == pieces
    # Each recorded time lies between two clocks that bracket it whatever the machine's load:
    # the server's (when it flushed the bytes, from when the request line arrived: the
    # recorder's clock started earlier and read later) and the application's (when it got the
    # bytes, from just before its call: the recorder's clock started later and read earlier).
    # On loopback the two are within about a millisecond; a recorder that added 10 ms to its
    # times would pass the application's.
    assert response.t >= server.head_sent_at - 0.0005
    for chunk, (sent, _), got in zip(response.chunks, server.sent, seen, strict=True):
        assert sent - 0.0005 <= chunk.t <= got + 0.0005, (sent, chunk.t, got)
    assert response.t <= response.chunks[0].t


def test_recording_stores_request_and_response_faithfully(llm_server: LLMServer, tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    with replay.use_cassette(path, record_mode="once"):
        run_chat("openai", llm_server.base_url, stream=True, is_async=False)
    interaction = replay.load_cassette(path).interactions[0]
    assert interaction.request.method == "POST"
    assert interaction.request.url == llm_server.base_url + "/v1/chat/completions"
    assert interaction.request.body == llm_server.requests[0]["body"]
    assert interaction.request.header("content-type") == "application/json"
    assert interaction.response.header("x-request-id") == "req_1"
    assert interaction.recorded_at is not None
    assert b"".join(c.data for c in interaction.response.chunks).endswith(b"data: [DONE]\n\n")


def test_once_replays_an_existing_file_and_never_touches_it(llm_server: LLMServer, tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    with replay.use_cassette(path, record_mode="once"):
        run_chat("openai", llm_server.base_url, stream=False, is_async=False)
    before = path.read_bytes()
    with replay.use_cassette(path, record_mode="once"):
        run_chat("openai", llm_server.base_url, stream=False, is_async=False)
        with pytest.raises(replay.NoMatchingInteraction):
            run_chat("openai", llm_server.base_url, stream=False, is_async=False, model="other")
    assert len(llm_server.requests) == 1
    assert path.read_bytes() == before


def test_new_episodes_replays_matches_and_appends_the_rest(llm_server: LLMServer, tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    with replay.use_cassette(path, record_mode="once"):
        run_chat("openai", llm_server.base_url, stream=False, is_async=False, model="a")
    with replay.use_cassette(path, record_mode="new_episodes") as cassette:
        run_chat("openai", llm_server.base_url, stream=False, is_async=False, model="a")
        run_chat("openai", llm_server.base_url, stream=True, is_async=False, model="b")
    assert cassette.play_counts == [1]
    assert len(llm_server.requests) == 2  # "a" was replayed, "b" went to the server
    models = [i.request.body for i in replay.load_cassette(path).interactions]
    assert [b'"model":"a"' in m for m in models] == [True, False]
    assert b'"model":"b"' in models[1]


@pytest.mark.parametrize(("mode", "expected"), [("all", 2), ("rewrite", 1)])
def test_all_appends_and_rewrite_replaces(
    llm_server: LLMServer, tmp_path: Path, mode: str, expected: int
) -> None:
    path = tmp_path / "c.yaml"
    with replay.use_cassette(path, record_mode="once"):
        run_chat("openai", llm_server.base_url, stream=False, is_async=False)
    with replay.use_cassette(path, record_mode=mode) as cassette:
        run_chat("openai", llm_server.base_url, stream=False, is_async=False)
    assert len(llm_server.requests) == 2  # recorded again even though it matched
    assert cassette.play_counts == ([0] if mode == "all" else [])
    assert len(replay.load_cassette(path).interactions) == expected


@pytest.mark.parametrize("record_on_failure", [False, True])
def test_a_failing_block_does_not_save_unless_asked(
    llm_server: LLMServer, tmp_path: Path, record_on_failure: bool
) -> None:
    path = tmp_path / "c.yaml"
    context = replay.use_cassette(path, record_mode="once", record_on_failure=record_on_failure)
    with pytest.raises(RuntimeError, match="test failed"), context:
        run_chat("openai", llm_server.base_url, stream=False, is_async=False)
        raise RuntimeError("test failed")
    assert path.exists() is record_on_failure


def test_sdk_stopping_at_done_is_a_complete_recording(llm_server: LLMServer, tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    with replay.use_cassette(path, record_mode="once"):
        run_chat("groq", llm_server.base_url, stream=True, is_async=False)
    assert replay.load_cassette(path).interactions[0].response.end is None


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
def test_a_stream_abandoned_by_the_app_is_marked_and_replays_up_to_that_point(
    llm_server: LLMServer, tmp_path: Path, is_async: bool
) -> None:
    path = tmp_path / "c.yaml"
    url = llm_server.base_url + "/v1/chat/completions"

    def read(n: int | None) -> list[bytes]:
        got: list[bytes] = []
        with httpx2.Client() as client, client.stream("POST", url, json=PAYLOAD) as r:
            for chunk in r.iter_raw():
                got.append(chunk)
                if n is not None and len(got) == n:
                    break
        return got

    with replay.use_cassette(path, record_mode="once"):
        first = read(3)
    response = replay.load_cassette(path).interactions[0].response
    assert response.end is not None and response.end.kind == "closed_early"
    assert [c.data for c in response.chunks] == first
    with replay.use_cassette(path):
        assert read(3) == first
    with replay.use_cassette(path), pytest.raises(replay.ReplayError, match="closed the stream early"):
        read(None)


@pytest.mark.parametrize("library", [httpx2, httpx], ids=["httpx2", "httpx"])
def test_a_server_disconnect_is_recorded_and_replayed_as_the_same_error(
    library: object, tmp_path: Path
) -> None:
    path = tmp_path / "c.yaml"
    script = Script(head_delay=0.01, first_delay=0.0, gaps=[0.005], disconnect_after=3)

    def read() -> list[bytes]:
        got: list[bytes] = []
        client_cls = library.Client  # type: ignore[attr-defined]
        with client_cls() as client, client.stream("POST", url, json=PAYLOAD) as r:
            got.extend(r.iter_raw())
        return got

    with LLMServer(script) as server:
        url = server.base_url + "/v1/chat/completions"
        error = library.RemoteProtocolError  # type: ignore[attr-defined]
        with replay.use_cassette(path, record_mode="once"), pytest.raises(error) as live:
            read()
    response = replay.load_cassette(path).interactions[0].response
    assert response.end is not None and response.end.kind == "remote_protocol_error"
    assert len(response.chunks) == 3
    with replay.use_cassette(path), pytest.raises(library.RemoteProtocolError) as again:  # type: ignore[attr-defined]
        read()
    assert str(again.value) == str(live.value)


@pytest.mark.filterwarnings("ignore::replay.hygiene.silence.CassetteUnusedWarning")
def test_recording_runs_on_the_real_clock(llm_server: LLMServer, tmp_path: Path) -> None:
    with replay.use_cassette(tmp_path / "c.yaml", record_mode="once", timing="virtual"):
        t0 = time.monotonic()
        real0 = REAL.monotonic()
        time.sleep(0.02)
        assert time.monotonic() - t0 == pytest.approx(REAL.monotonic() - real0, abs=0.01)


def test_new_episodes_under_virtual_timing_shows_real_durations_for_recorded_requests(
    llm_server: LLMServer, tmp_path: Path
) -> None:
    path = tmp_path / "c.yaml"
    with replay.use_cassette(path, record_mode="once"):
        run_chat("openai", llm_server.base_url, stream=False, is_async=False, model="a")
    llm_server.script.head_delay = 0.2
    with replay.use_cassette(path, record_mode="new_episodes", timing="virtual"):
        replayed = run_chat("openai", llm_server.base_url, stream=False, is_async=False, model="a")
        recorded = run_chat("openai", llm_server.base_url, stream=True, is_async=False, model="b")
    first = replay.load_cassette(path).interactions[0].response
    assert replayed.offsets == [pytest.approx(first.chunks[-1].t, abs=1e-6)]
    # The recorded request took >= 0.2 s on the real clock and the virtual clock followed it.
    assert recorded.offsets[0] >= 0.19
    assert recorded.offsets == sorted(recorded.offsets)
