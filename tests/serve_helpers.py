"""Helpers for the ``llm-replay serve`` tests: a server in a thread, and a raw HTTP/1.1 client
that sees what is on the wire (each chunk of the chunked framing with its arrival time, and
how the connection ended: cleanly, closed mid-body, or reset)."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from replay.serve import ReplayServer, ServeConfig, SessionSettings


class ThreadServer:
    """A :class:`ReplayServer` on its own event loop in a thread (faster to start than a process)."""

    def __init__(self, path: Path, **config: Any) -> None:
        settings = config.pop("settings", None) or SessionSettings()
        self.config = ServeConfig(path=path, settings=settings, **config)
        self.url = ""
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self.server = ReplayServer(self.config)

    def __enter__(self) -> ThreadServer:
        self._thread.start()
        self.url = asyncio.run_coroutine_threadsafe(self.server.start(), self._loop).result(30)
        return self

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self.server.stop(), self._loop).result(30)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()


@dataclass
class Wire:
    """What a raw client received: status, headers, body chunks with arrival times, the end."""

    status: int = 0
    headers: dict[str, str] = field(default_factory=dict)
    chunks: list[bytes] = field(default_factory=list)
    times: list[float] = field(default_factory=list)  # seconds after the request was sent
    end: str = ""  # "complete", "closed" (FIN mid-body), "reset" (RST), "timeout"

    @property
    def body(self) -> bytes:
        return b"".join(self.chunks)

    def json(self) -> Any:
        return json.loads(self.body)


class _Reader:
    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buf = b""

    def fill(self) -> None:
        data = self.sock.recv(65536)
        if not data:
            raise EOFError
        self.buf += data

    def line(self) -> bytes:
        while b"\r\n" not in self.buf:
            self.fill()
        line, _, self.buf = self.buf.partition(b"\r\n")
        return line

    def exactly(self, n: int) -> bytes:
        while len(self.buf) < n:
            self.fill()
        out, self.buf = self.buf[:n], self.buf[n:]
        return out


def request_bytes(
    method: str, path: str, host: str, body: bytes = b"", headers: Sequence[tuple[str, str]] = ()
) -> bytes:
    lines = [
        f"{method} {path} HTTP/1.1",
        f"Host: {host}",
        f"Content-Length: {len(body)}",
        "Connection: close",
    ]
    lines += [f"{k}: {v}" for k, v in headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def raw_request(
    url: str,
    method: str = "POST",
    body: Any = None,
    headers: Sequence[tuple[str, str]] = (),
    timeout: float = 10.0,
) -> Wire:
    """Send one request on a fresh socket and read the answer frame by frame."""
    split = urlsplit(url)
    data = json.dumps(body).encode() if body is not None and not isinstance(body, bytes) else (body or b"")
    path = split.path + (f"?{split.query}" if split.query else "")
    wire = Wire()
    with socket.create_connection((split.hostname, split.port), timeout=timeout) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        t0 = time.perf_counter()
        sock.sendall(
            request_bytes(method, path, split.netloc, data, [("Content-Type", "application/json"), *headers])
        )
        reader = _Reader(sock)
        try:
            _read_response(reader, wire, t0)
        except EOFError:
            wire.end = "closed"
        except ConnectionResetError:
            wire.end = "reset"
        except TimeoutError:
            wire.end = "timeout"
    return wire


def _read_response(reader: _Reader, wire: Wire, t0: float) -> None:
    wire.status = int(reader.line().split()[1])
    while line := reader.line():
        name, _, value = line.decode("latin-1").partition(":")
        wire.headers[name.strip().lower()] = value.strip()
    if wire.headers.get("transfer-encoding") == "chunked":
        while True:
            size = int(reader.line().split(b";")[0], 16)
            if size == 0:
                reader.line()
                break
            data = reader.exactly(size)
            wire.times.append(time.perf_counter() - t0)
            wire.chunks.append(data)
            reader.line()
    else:
        remaining = int(wire.headers.get("content-length", "0"))
        while remaining:
            if not reader.buf:
                reader.fill()
            data, reader.buf = reader.buf[:remaining], reader.buf[remaining:]
            remaining -= len(data)
            wire.times.append(time.perf_counter() - t0)
            wire.chunks.append(data)
    wire.end = "complete"
