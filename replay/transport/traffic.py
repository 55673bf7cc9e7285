"""Connections no adapter saw: what "nothing silent" is checked against.

While a cassette is active, every TCP connection the process opens outside a recording that an
adapter serves (``permit_recording``) is noted with its host and the client that opened it (the
first frame outside the standard library's networking code). The cassette reports them when it
closes (:mod:`replay.hygiene.silence`): a recording cassette that recorded nothing while such
traffic went out would otherwise pass in silence. It uses one ``sys.addaudithook`` hook
(``socket.connect`` events, which also cover asyncio and most C-level callers that go through
Python's socket module), installed once and idle when no cassette watches.

Example::

    watch(sink)         # sink.note_unseen("api.example.com:443", "grpc") for each such connection
    unwatch(sink)
"""

from __future__ import annotations

import socket
import sys
import threading
from typing import Any, Protocol

from . import netguard

__all__ = ["TrafficSink", "unwatch", "watch"]


class TrafficSink(Protocol):
    def note_unseen(self, target: str, client: str) -> None: ...


_sinks: list[TrafficSink] = []
_lock = threading.Lock()
_hooked = False

# Frames of these packages are plumbing between the client and the socket.
_PLUMBING = frozenset(
    {"socket", "ssl", "asyncio", "selectors", "concurrent", "threading", "contextlib", "replay", "uvloop"}
)


def watch(sink: TrafficSink) -> None:
    global _hooked
    with _lock:
        if not _hooked:
            sys.addaudithook(_audit)
            _hooked = True
        _sinks.append(sink)


def unwatch(sink: TrafficSink) -> None:
    with _lock:
        if sink in _sinks:
            _sinks.remove(sink)


def _client() -> str:
    frame = sys._getframe(1)
    while frame is not None:
        top = str(frame.f_globals.get("__name__", "")).split(".")[0]
        if top and top not in _PLUMBING:
            return top
        frame = frame.f_back  # type: ignore[assignment]
    return "unknown"


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if event != "socket.connect" or not _sinks or netguard.recording():
        return
    sock, address = args[0], args[1]
    if getattr(sock, "family", None) not in (socket.AF_INET, socket.AF_INET6):
        return
    if not isinstance(address, tuple) or len(address) < 2:
        return
    target, client = f"{address[0]}:{address[1]}", _client()
    with _lock:
        sinks = list(_sinks)
    for sink in sinks:
        sink.note_unseen(target, client)
