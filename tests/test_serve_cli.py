"""The ``llm-replay serve`` command: its first line, its stop signals, its checks and warnings."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from cassette_factory import BODY, stream_interaction, write_cassette
from serve_helpers import raw_request

from replay.serve import ServerProcess

PATH = "/v1/chat/completions"
TIMES = [0.01, 0.02, 0.03, 0.04]


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_first_line_is_the_url_and_signals_stop_it_cleanly(tmp_path: Path, sig: signal.Signals) -> None:
    path = write_cassette(tmp_path / "chat.yaml", stream_interaction(TIMES))
    command = [sys.executable, "-m", "replay.cli", "serve", str(path)]
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as proc:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:") and int(url.rsplit(":", 1)[1]) > 0
        assert raw_request(url + PATH, body=BODY).status == 200
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    assert "Traceback" not in err and out == ""


def test_a_malformed_request_is_logged_in_one_line(tmp_path: Path) -> None:
    import socket

    path = write_cassette(tmp_path / "chat.yaml", stream_interaction(TIMES))
    with ServerProcess(path) as server:
        host, port = server.url.split("//")[1].split(":")
        with socket.create_connection((host, int(port))) as sock:
            sock.sendall(b"GET / HTTP/1.1\r\nX-Big: " + b"a" * 20000 + b"\r\n\r\n")
            assert sock.recv(1000).startswith(b"HTTP/1.0 400")
        assert raw_request(server.url + PATH, body=BODY).status == 200
    assert "Traceback" not in server.stderr and "Got more than 16384 bytes" in server.stderr


def test_listening_beyond_loopback_warns(tmp_path: Path) -> None:
    path = write_cassette(tmp_path / "chat.yaml", stream_interaction(TIMES))
    with ServerProcess(path, ["--host", "0.0.0.0"]) as server:
        assert server.url.startswith("http://0.0.0.0:")
    assert "warning: listening on 0.0.0.0" in server.stderr and "--token" in server.stderr


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--record-mode", "once"], "name it with --upstream URL"),
        (["--upstream", "ftp://x"], "is not an http(s) base URL"),
        (["--faults", '[{"type": "Trunkate"}]'], "Did you mean 'Truncate'?"),
        (["--faults", "{oops"], "faults is not valid JSON"),
        (["--speed", "0"], "--speed must be positive"),
    ],
)
def test_bad_options_are_refused_with_the_fix(tmp_path: Path, args: list[str], says: str) -> None:
    path = write_cassette(tmp_path / "chat.yaml", stream_interaction(TIMES))
    done = subprocess.run(
        [sys.executable, "-m", "replay.cli", "serve", str(path), *args],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1 and done.stdout == ""
    assert says in done.stderr, done.stderr


def test_faults_option_applies_to_every_replay(tmp_path: Path) -> None:
    path = write_cassette(tmp_path / "chat.yaml", stream_interaction(TIMES))
    fault = json.dumps([{"type": "HTTPError", "status": 500}])
    with ServerProcess(path, ["--faults", fault]) as server:
        assert raw_request(server.url + PATH, body=BODY).status == 500


def test_a_broken_cassette_stops_the_start_with_its_error(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("format: llm-replay\nversion: 1\ninteractions: [{request: 3}]\n")
    done = subprocess.run(
        [sys.executable, "-m", "replay.cli", "serve", str(path)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2 and done.stdout == ""
    assert str(path) in done.stderr and "Traceback" not in done.stderr


def test_a_broken_cassette_in_a_directory_is_a_500_naming_it(tmp_path: Path) -> None:
    (tmp_path / "broken.yaml").write_text("format: llm-replay\nversion: 1\ninteractions: [{request: 3}]\n")
    write_cassette(tmp_path / "ok.yaml", stream_interaction(TIMES))
    with ServerProcess(tmp_path) as server:
        broken = raw_request(f"{server.url}/c/broken.yaml{PATH}", body=BODY)
        ok = raw_request(f"{server.url}/c/ok.yaml{PATH}", body=BODY)
    assert broken.status == 500 and "broken.yaml" in broken.json()["error"]["message"]
    assert ok.status == 200
