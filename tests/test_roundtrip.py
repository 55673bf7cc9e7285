"""Record against a real local server through the real SDKs, stop the server, replay offline.

Covers httpx2 (openai, anthropic) and httpx (groq, together), sync and async, streaming and not:
the replay gives the same parsed result, the same chunk boundaries, and in virtual timing the
application's own clock sees every chunk at exactly its recorded offset.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from llm_server import LLMServer
from sdk_helpers import SDK_LIBRARY, raw_chunks, run_chat

import replay

SYNC_ASYNC = pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
STREAM = pytest.mark.parametrize("stream", [True, False], ids=["stream", "json"])


@SYNC_ASYNC
@STREAM
@pytest.mark.parametrize("sdk", ["openai", "anthropic", "groq", "together"])
def test_sdk_record_then_replay_offline(
    sdk: str,
    stream: bool,
    is_async: bool,
    llm_server: LLMServer,
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> None:
    path = tmp_path / "chat.yaml"
    base = llm_server.base_url
    with replay.use_cassette(path, record_mode="once") as recording:
        live = run_chat(sdk, base, stream=stream, is_async=is_async)
    assert recording.saved and path.exists()
    llm_server.stop()
    request.getfixturevalue("no_network")

    cassette = replay.load_cassette(path)
    assert len(cassette.interactions) == 1
    recorded = cassette.interactions[0].response
    with replay.use_cassette(path, timing="virtual") as replaying:
        again = run_chat(sdk, base, stream=stream, is_async=is_async)
    assert replaying.all_played

    assert again.text == live.text == "Hello from the local test server."
    assert again.finish_reason == live.finish_reason
    assert again.usage == live.usage
    assert again.chunks == live.chunks
    if stream:
        # One SSE event per chunk: the k-th parsed item completes with the k-th read (anthropic's
        # SDK skips "ping" events, which are still chunks on the wire).
        times = [c.t for c in recorded.chunks]
        if sdk == "anthropic":
            events = [e for _, e in recorded.iter_events_timed()]
            times = [t for t, e in zip(times, events, strict=True) if e.event != "ping"]
        elif sdk != "openai":  # groq/together SDKs stop at [DONE]; openai also yields usage
            times = times[: len(again.offsets)]
        assert again.offsets == pytest.approx(times[: len(again.offsets)], abs=1e-6)
    else:
        assert again.offsets == pytest.approx([recorded.chunks[-1].t], abs=1e-6)
    assert SDK_LIBRARY[sdk] in ("httpx", "httpx2")


@SYNC_ASYNC
@pytest.mark.parametrize("library", ["httpx2", "httpx"])
def test_chunk_boundaries_are_identical(
    library: str, is_async: bool, llm_server: LLMServer, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    path = tmp_path / "raw.yaml"
    url = llm_server.base_url + "/v1/chat/completions"
    payload = {"model": "m", "messages": [{"role": "user", "content": "x"}], "stream": True}
    with replay.use_cassette(path, record_mode="once"):
        live_chunks, _ = raw_chunks(library, url, payload, is_async=is_async)
    llm_server.stop()
    request.getfixturevalue("no_network")
    with replay.use_cassette(path):
        chunks, offsets = raw_chunks(library, url, payload, is_async=is_async)
    assert chunks == live_chunks
    assert len(chunks) == 10  # role delta, 7 tokens, finish chunk, [DONE]: one read per event
    recorded = replay.load_cassette(path).interactions[0].response
    assert [c.data for c in recorded.chunks] == chunks
    assert offsets == pytest.approx([c.t for c in recorded.chunks], abs=1e-6)


def test_gzip_json_is_stored_decoded_and_replays_the_same_bytes(
    llm_server: LLMServer, tmp_path: Path
) -> None:
    path = tmp_path / "gz.yaml"
    url = llm_server.base_url + "/v1/chat/completions"
    payload = {"model": "m", "messages": [{"role": "user", "content": "x"}]}
    with replay.use_cassette(path, record_mode="once"):
        live, _ = raw_chunks("httpx2", url, payload, is_async=False)
    text = path.read_text()
    assert "decoded_from: gzip" in text
    assert "content-encoding" not in text.lower()
    assert "format: indent=2" in text  # the JSON body is shown as YAML data
    response = replay.load_cassette(path).interactions[0].response
    assert response.header("content-length") == str(len(b"".join(live)))
    with replay.use_cassette(path):
        again, _ = raw_chunks("httpx2", url, payload, is_async=False)
    assert b"".join(again) == b"".join(live)


def test_several_requests_per_cassette_replay_in_order(llm_server: LLMServer, tmp_path: Path) -> None:
    path = tmp_path / "multi.yaml"
    base = llm_server.base_url
    with replay.use_cassette(path, record_mode="once"):
        first = run_chat("openai", base, stream=True, is_async=False, model="one")
        llm_server.script.tokens = ["Second", " answer"]
        second = run_chat("openai", base, stream=False, is_async=False, model="two")
        third = run_chat("openai", base, stream=False, is_async=False, model="two")
    assert len(replay.load_cassette(path).interactions) == 3
    llm_server.stop()
    with replay.use_cassette(path) as cassette:
        assert run_chat("openai", base, stream=True, is_async=False, model="one").text == first.text
        assert run_chat("openai", base, stream=False, is_async=False, model="two").text == second.text
        assert run_chat("openai", base, stream=False, is_async=False, model="two").text == third.text
        assert cassette.play_counts == [1, 1, 1]
