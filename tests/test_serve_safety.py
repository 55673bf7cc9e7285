"""``llm-replay serve`` is an attack surface: path traversal, huge bodies and headers, clients
that hang up anywhere, requests for hosts that are not its upstreams, malformed requests."""

from __future__ import annotations

import asyncio
import random
import socket
import struct
import threading
import time
from pathlib import Path

import pytest
from cassette_factory import BODY, stream_interaction, write_cassette
from llm_server import LLMServer
from serve_helpers import ThreadServer, raw_request, request_bytes

from replay.modes import RecordMode
from replay.serve import SessionSettings
from replay.serve.fault_spec import parse_faults

PATH = "/v1/chat/completions"
TIMES = [round(0.02 * i, 3) for i in range(1, 12)]


def send_raw(url: str, data: bytes, timeout: float = 10.0) -> bytes:
    host, port = url.split("//")[1].split(":")
    with socket.create_connection((host, int(port)), timeout=timeout) as sock:
        sock.sendall(data)
        out = b""
        while chunk := sock.recv(65536):
            out += chunk
    return out


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    root = tmp_path / "served"
    write_cassette(root / "ok.yaml", stream_interaction(TIMES))
    write_cassette(tmp_path / "outside.yaml", stream_interaction(TIMES))
    (root / "link.yaml").symlink_to(tmp_path / "outside.yaml")
    (root / "linkdir").symlink_to(tmp_path)
    return root


@pytest.mark.parametrize(
    ("target", "says"),
    [
        ("/c/../outside.yaml", "a '..' segment"),
        ("/c/%2e%2e/outside.yaml", "a '..' segment"),
        ("/c/..%2Foutside.yaml", "an encoded '/'"),
        ("/c/%2F" + "tmp%2Foutside.yaml", "an encoded '/'"),
        ("/c//tmp/outside.yaml", "an empty segment"),
        ("/c/link.yaml", "leads outside the served directory"),
        ("/c/linkdir/outside.yaml", "leads outside the served directory"),
        ("/c/ok", "No cassette name in the path prefix"),
    ],
)
def test_cassette_names_cannot_escape_the_directory(folder: Path, target: str, says: str) -> None:
    with ThreadServer(folder) as server:
        raw = send_raw(server.url, request_bytes("POST", target + PATH, "x", b"{}"))
        assert raw_request(f"{server.url}/c/ok.yaml{PATH}", body=BODY).status == 200
    head, _, body = raw.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400"), raw[:300]
    assert says in body.decode()


@pytest.mark.parametrize("name", ["../outside.yaml", "/etc/passwd.yaml", "link.yaml", "a\\..\\b.yaml", ""])
def test_sessions_cannot_name_a_cassette_outside(folder: Path, name: str) -> None:
    with ThreadServer(folder) as server:
        wire = raw_request(server.url + "/__replay/sessions", body={"cassette": name})
    assert wire.status == 400
    assert "Cassette name" in wire.json()["error"]["message"] or "required" in wire.json()["error"]["message"]


def test_a_100_mb_body_is_refused_without_reading_it(folder: Path) -> None:
    size = 100 * 1024 * 1024
    with ThreadServer(folder) as server:
        host, port = server.url.split("//")[1].split(":")
        for chunked in (False, True):
            sock = socket.create_connection((host, int(port)), timeout=30)
            framing = "Transfer-Encoding: chunked" if chunked else f"Content-Length: {size}"
            sock.sendall(f"POST /c/ok.yaml{PATH} HTTP/1.1\r\nHost: x\r\n{framing}\r\n\r\n".encode())
            block = b"x" * (1024 * 1024)

            def pump(sock: socket.socket = sock, chunked: bool = chunked, block: bytes = block) -> None:
                try:
                    for _ in range(100):
                        sock.sendall(b"100000\r\n" + block + b"\r\n" if chunked else block)
                    if chunked:
                        sock.sendall(b"0\r\n\r\n")
                except OSError:
                    pass  # the server answered and closed: the rest is never read

            sender = threading.Thread(target=pump)
            start = time.perf_counter()
            sender.start()
            answer = sock.recv(65536)
            sender.join(60)
            sock.close()
            assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
            assert b"Maximum request body size" in answer
            assert time.perf_counter() - start < 30
        # The server is unharmed.
        assert raw_request(f"{server.url}/c/ok.yaml{PATH}", body=BODY).status == 200


def test_huge_headers_and_garbage_get_a_400_naming_the_problem(folder: Path) -> None:
    with ThreadServer(folder) as server:
        big = send_raw(server.url, b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 70000 + b"\r\n\r\n")
        garbage = send_raw(server.url, b"HELLO\r\n\r\n")
        assert raw_request(f"{server.url}/c/ok.yaml{PATH}", body=BODY).status == 200
    assert big.startswith(b"HTTP/1.0 400") and b"Got more than 16384 bytes" in big
    assert garbage.startswith(b"HTTP/1.0 400") and b"Invalid method" in garbage


async def _client(url: str, seed: int) -> str:
    """One client that hangs up at a point chosen by ``seed``: what it did."""
    rng = random.Random(seed)
    host, port = url.split("//")[1].split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    sock = writer.get_extra_info("socket")
    if rng.random() < 0.5:  # half the clients reset (RST), the others close (FIN)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    prefix = "/c/stall.yaml" if seed % 4 == 0 else "/c/ok.yaml"
    request = request_bytes(
        "POST",
        prefix + PATH,
        "x",
        b'{"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}], "stream": true}',
    )
    point = rng.choice(["request", "head", "body", "full"])
    try:
        if point == "request":
            writer.write(request[: rng.randrange(1, len(request))])
            await writer.drain()
            await asyncio.sleep(rng.random() * 0.05)
        else:
            writer.write(request)
            await writer.drain()
            want = {"head": 1, "body": rng.randrange(200, 2000), "full": 1 << 30}[point]
            got = 0
            while got < want:
                data = await asyncio.wait_for(reader.read(4096), 0.25 if point == "full" else 5)
                if not data:
                    break
                got += len(data)
    except (TimeoutError, OSError):
        pass  # a stalled stream that this client stops waiting for
    writer.close()
    return point


def test_200_clients_hanging_up_at_random_points_cost_only_their_own_streams(tmp_path: Path) -> None:
    write_cassette(tmp_path / "ok.yaml", stream_interaction(TIMES))
    write_cassette(tmp_path / "stall.yaml", stream_interaction(TIMES))
    with ThreadServer(tmp_path, settings=SessionSettings(allow_playback_repeats=True)) as server:
        stall = parse_faults([{"type": "Stall", "after_events": 3}])[0]
        server.server.state.registry.implicit("stall.yaml").faults.add(stall)

        async def tasks() -> int:
            return len(asyncio.all_tasks())

        loop = server._loop
        before = asyncio.run_coroutine_threadsafe(tasks(), loop).result(5)

        async def crowd() -> list[str]:
            return await asyncio.gather(*(_client(server.url, seed) for seed in range(200)))

        points = asyncio.run(crowd())
        assert {"request", "head", "body", "full"} <= set(points)
        # Every handler of a client that left ends (the stalled ones included): nothing leaks.
        deadline = time.monotonic() + 10
        while (
            asyncio.run_coroutine_threadsafe(tasks(), loop).result(5) > before and time.monotonic() < deadline
        ):
            time.sleep(0.05)
        assert asyncio.run_coroutine_threadsafe(tasks(), loop).result(5) <= before
        wire = raw_request(f"{server.url}/c/ok.yaml{PATH}", body=BODY)
        assert wire.status == 200 and wire.end == "complete" and len(wire.chunks) == len(TIMES)


def test_record_mode_forwards_only_to_named_upstreams(tmp_path: Path) -> None:
    recording = SessionSettings(record_mode=RecordMode.ALL)
    with LLMServer() as named, LLMServer() as unnamed:
        with ThreadServer(tmp_path, settings=recording, upstreams=(named.base_url,)) as server:
            header = raw_request(
                f"{server.url}/c/r.yaml{PATH}", body=BODY, headers=[("x-replay-upstream", unnamed.base_url)]
            )
            absolute = send_raw(server.url, request_bytes("POST", unnamed.base_url + PATH, "x", b"{}"))
            opened = raw_request(
                server.url + "/__replay/sessions", body={"cassette": "r.yaml", "upstream": unnamed.base_url}
            )
            forwarded = raw_request(f"{server.url}/c/r.yaml{PATH}", body={**BODY, "stream": False})
        assert unnamed.requests == []  # never contacted
        assert len(named.requests) == 1
    assert header.status == 403 and "not an upstream of this server" in header.json()["error"]["message"]
    assert absolute.startswith(b"HTTP/1.1 400") and b"not a proxy" in absolute
    assert opened.status == 400 and "not an open proxy" in opened.json()["error"]["message"]
    assert forwarded.status == 200
