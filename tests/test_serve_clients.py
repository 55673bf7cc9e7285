"""``llm-replay serve`` through real clients: the openai and anthropic SDKs (sync and async),
curl, and a recording made through the proxy from the local streaming server, replayed
byte-identical with the same chunk boundaries."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import anthropic
import openai
import pytest
from llm_server import LLMServer, Script
from sdk_helpers import MESSAGES, make_client, run_chat
from serve_helpers import ThreadServer, raw_request

import replay
from replay.modes import RecordMode
from replay.serve import SessionSettings

PATH = "/v1/chat/completions"
SCRIPT = Script(head_delay=0.03, first_delay=0.02, gaps=[0.01, 0.03, 0.02], gzip_json=True)


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, ThreadServer]]:
    """openai.yaml and anthropic.yaml recorded through the proxy; then a replay server on them."""
    root = tmp_path_factory.mktemp("serve") / "cassettes"
    root.mkdir()
    recording = SessionSettings(record_mode=RecordMode.ONCE)
    with (
        LLMServer(SCRIPT) as upstream,
        ThreadServer(root, settings=recording, upstreams=(upstream.base_url,)) as proxy,
    ):
        for sdk in ("openai", "anthropic"):
            run_chat(sdk, f"{proxy.url}/c/{sdk}.yaml", stream=True, is_async=False)
            run_chat(sdk, f"{proxy.url}/c/{sdk}.yaml", stream=False, is_async=False)
    with ThreadServer(root) as server:
        yield root, server


def session(server: ThreadServer, cassette: str, faults: list[dict[str, object]] | None = None) -> str:
    wire = raw_request(server.url + "/__replay/sessions", body={"cassette": cassette, "faults": faults or []})
    assert wire.status == 201, wire.body
    base: str = wire.json()["base_url"]
    return base


def test_proxy_recording_replays_byte_identical_with_the_same_boundaries(tmp_path: Path) -> None:
    body = {"model": "m", "messages": [{"role": "user", "content": "hi"}], "stream": True}
    recording = SessionSettings(record_mode=RecordMode.ONCE)
    with LLMServer(SCRIPT) as upstream:
        with ThreadServer(tmp_path, settings=recording, upstreams=(upstream.base_url,)) as proxy:
            live = raw_request(f"{proxy.url}/c/x.yaml{PATH}", body=body)
        sent = [event for _, event in upstream.sent]
    assert live.chunks == sent  # streamed through one upstream chunk at a time
    response = replay.load_cassette(tmp_path / "x.yaml").interactions[0].response
    assert [c.data for c in response.chunks] == sent
    with ThreadServer(tmp_path) as server:
        replayed = raw_request(f"{server.url}/c/x.yaml{PATH}", body=body)
    assert replayed.chunks == sent and replayed.end == "complete"
    for got, want in zip(replayed.times, response.chunk_times, strict=True):
        assert want - 0.002 <= got <= want + 0.25  # room for a loaded CI machine


def test_recording_scrubs_the_api_key(recorded: tuple[Path, ThreadServer]) -> None:
    root, _ = recorded
    text = (root / "openai.yaml").read_text()
    assert "sk-test-key" not in text and "Bearer REDACTED" in text


@pytest.mark.parametrize("sync", [True, False], ids=["sync", "async"])
@pytest.mark.parametrize("sdk", ["openai", "anthropic"])
def test_sdks_replay_text_and_timing(recorded: tuple[Path, ThreadServer], sdk: str, sync: bool) -> None:
    root, server = recorded
    base = session(server, f"{sdk}.yaml")
    streamed = run_chat(sdk, base, stream=True, is_async=not sync)
    whole = run_chat(sdk, base, stream=False, is_async=not sync)
    assert streamed.text == whole.text == "Hello from the local test server."
    assert streamed.finish_reason in ("stop", "end_turn")
    times = replay.load_cassette(root / f"{sdk}.yaml").interactions[0].response.chunk_times
    # One event per recorded chunk; the SDK yields each when its chunk arrives (not before its
    # recorded offset), and stops at the terminal event.
    assert len(times) - 1 <= len(streamed.offsets) <= len(times)
    # Never before the recorded offset (the clock starts before the request leaves, so instant
    # delivery fails here). Late by the SDK's own first-request set-up (up to ~0.3 s for the
    # async clients) and by whatever else holds the CPU: bench/serve.py measures precision.
    for got, want in zip(streamed.offsets, times, strict=False):
        assert want - 0.005 <= got <= want + 1.5


@pytest.mark.parametrize("sdk", ["openai", "anthropic"])
def test_faults_surface_as_each_sdks_own_errors(recorded: tuple[Path, ThreadServer], sdk: str) -> None:
    _, server = recorded
    module = openai if sdk == "openai" else anthropic
    cases: list[tuple[dict[str, object], type[Exception]]] = [
        ({"type": "Disconnect", "after_events": 2}, module.APIConnectionError),
        ({"type": "Disconnect", "after_events": 2, "reset": True}, module.APIConnectionError),
        ({"type": "HTTPError", "status": 429, "retry_after": 1}, module.RateLimitError),
        ({"type": "HTTPError", "status": 529 if sdk == "anthropic" else 503}, module.InternalServerError),
    ]
    for fault, error in cases:
        base = session(server, f"{sdk}.yaml", [fault])
        with pytest.raises(error):
            run_chat(sdk, base, stream=True, is_async=False)


def test_sdk_read_timeout_fires_on_an_endless_stall(recorded: tuple[Path, ThreadServer]) -> None:
    _, server = recorded
    base = session(server, "openai.yaml", [{"type": "Stall", "after_events": 1}])
    client = make_client("openai", base, is_async=False, timeout=0.5)
    with pytest.raises(openai.APITimeoutError), client:
        stream = client.chat.completions.create(
            model="test-model", messages=MESSAGES, stream=True, stream_options={"include_usage": True}
        )
        for _ in stream:
            pass


CURL = shutil.which("curl")


@pytest.mark.skipif(
    CURL is None, reason="curl is not installed; the raw-socket tests in test_serve.py cover the wire"
)
def test_curl_streams_the_recording_and_sees_faults(recorded: tuple[Path, ThreadServer]) -> None:
    root, server = recorded
    interaction = replay.load_cassette(root / "openai.yaml").interactions[0]
    assert CURL is not None

    def curl(base: str) -> subprocess.CompletedProcess[bytes]:
        command = [
            CURL,
            "-N",
            "-sS",
            "-H",
            "content-type: application/json",
            "--data-binary",
            "@-",
            base + PATH,
        ]
        return subprocess.run(command, input=interaction.request.body, capture_output=True, timeout=30)

    ok = curl(session(server, "openai.yaml"))
    assert ok.returncode == 0 and ok.stdout == interaction.response.body
    cut = curl(session(server, "openai.yaml", [{"type": "Disconnect", "after_events": 2}]))
    assert cut.returncode == 18, cut.stderr  # CURLE_PARTIAL_FILE: transfer closed mid-body
    reset = curl(session(server, "openai.yaml", [{"type": "Disconnect", "after_events": 2, "reset": True}]))
    assert reset.returncode == 56, reset.stderr  # CURLE_RECV_ERROR: connection reset by peer


def test_an_upstream_that_drops_mid_body_is_recorded_and_replayed_so(tmp_path: Path) -> None:
    body = {"model": "m", "messages": [{"role": "user", "content": "hi"}], "stream": True}
    script = Script(head_delay=0.01, first_delay=0.01, gaps=[0.01], disconnect_after=3)
    recording = SessionSettings(record_mode=RecordMode.ONCE)
    with LLMServer(script) as upstream:
        with ThreadServer(tmp_path, settings=recording, upstreams=(upstream.base_url,)) as proxy:
            live = raw_request(f"{proxy.url}/c/x.yaml{PATH}", body=body)
        sent = [event for _, event in upstream.sent]
    assert live.end == "closed" and live.chunks == sent[:3]
    response = replay.load_cassette(tmp_path / "x.yaml").interactions[0].response
    assert response.end is not None and response.end.kind == "remote_protocol_error"
    with ThreadServer(tmp_path) as server:
        replayed = raw_request(f"{server.url}/c/x.yaml{PATH}", body=body)
    assert replayed.end == "closed" and replayed.chunks == live.chunks


def test_a_client_that_hangs_up_while_recording_keeps_what_arrived(tmp_path: Path) -> None:
    import socket

    from serve_helpers import request_bytes

    body = b'{"model": "m", "messages": [{"role": "user", "content": "hi"}], "stream": true}'
    recording = SessionSettings(record_mode=RecordMode.ONCE)
    with LLMServer(SCRIPT) as upstream:
        upstream.hold_last.clear()  # the last event waits: the client leaves before it
        with ThreadServer(tmp_path, settings=recording, upstreams=(upstream.base_url,)) as proxy:
            host, port = proxy.url.split("//")[1].split(":")
            with socket.create_connection((host, int(port)), timeout=10) as sock:
                sock.sendall(request_bytes("POST", f"/c/x.yaml{PATH}", "x", body))
                assert upstream.waiting_for_release.wait(10)
                assert sock.recv(65536)
        upstream.hold_last.set()
    response = replay.load_cassette(tmp_path / "x.yaml").interactions[0].response
    assert response.end is not None and response.end.kind == "closed_early"
    assert len(response.chunks) >= 2 and b"[DONE]" not in response.body
