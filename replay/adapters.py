"""One adapter per HTTP client library: httpx2 (openai, anthropic, mistralai) and httpx 0.28
(together, groq, cohere, ...). Their transport and byte-stream interfaces have the same shape,
so the record/replay logic is written once and each adapter only supplies the library's classes:
the byte-stream base classes our streams must subclass (clients check ``isinstance``), the
``Response`` type, and the exceptions a real connection raises.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from .cassette import Headers, Request
from .streams import ChunkPlayer, RecordingTap

__all__ = ["HttpLib", "available_libs", "lib_for_transport"]

LIBRARY_NAMES = ("httpx2", "httpx")

# Recorded stream endings <-> the client library's exception classes.
_END_KINDS = {
    "remote_protocol_error": "RemoteProtocolError",
    "read_error": "ReadError",
    "read_timeout": "ReadTimeout",
}


@dataclass(frozen=True, slots=True)
class HttpLib:
    """The parts of one client library that record and replay need."""

    name: str
    module: ModuleType
    replay_stream: type
    recording_stream: type

    @property
    def transports(self) -> tuple[type, type]:
        return self.module.HTTPTransport, self.module.AsyncHTTPTransport

    def request_model(self, request: Any, body: bytes) -> Request:
        return Request.model_construct(
            method=request.method,
            url=str(request.url),
            headers=[(k.decode("latin-1"), v.decode("latin-1")) for k, v in request.headers.raw],
            body=body,
        )

    def make_response(self, status: int, headers: Headers, stream: Any) -> Any:
        reason = self.module.codes.get_reason_phrase(status) or ""
        return self.module.Response(
            status_code=status,
            headers=headers,
            stream=stream,
            extensions={"http_version": b"HTTP/1.1", "reason_phrase": reason.encode("ascii", "replace")},
        )

    def transport_error(self, kind: str, message: str, request: Any) -> Exception:
        cls = getattr(self.module, _END_KINDS.get(kind, "ReadError"))
        err: Exception = cls(message or _DEFAULT_MESSAGES.get(kind, kind), request=request)
        return err

    def error_kind(self, exc: BaseException) -> str | None:
        """The recorded ending for a transport exception, or None if it is not one."""
        for kind, cls_name in _END_KINDS.items():
            if isinstance(exc, getattr(self.module, cls_name)):
                return kind
        if isinstance(exc, self.module.TransportError):
            return "read_error"
        return None


_DEFAULT_MESSAGES = {
    "remote_protocol_error": "peer closed connection without sending complete message body",
    "read_error": "[Errno 104] Connection reset by peer",
    "read_timeout": "The read operation timed out",
}


def _build(name: str, module: ModuleType) -> HttpLib:
    # The library checks isinstance(response.stream, SyncByteStream/AsyncByteStream), so our
    # streams must subclass its own base classes; they are built once per library.
    sync_base: Any = module.SyncByteStream
    async_base: Any = module.AsyncByteStream

    class ReplayStream(sync_base, async_base):  # type: ignore[misc]
        """A replayed body: the library's stream interface over a :class:`ChunkPlayer`."""

        __slots__ = ("_player",)

        def __init__(self, player: ChunkPlayer) -> None:
            self._player = player

        def __iter__(self) -> Iterator[bytes]:
            return self._player.iter_sync()

        def __aiter__(self) -> AsyncIterator[bytes]:
            return self._player.iter_async()

        def close(self) -> None:
            self._player.close()

        async def aclose(self) -> None:
            self._player.close()

    class RecordingStream(sync_base, async_base):  # type: ignore[misc]
        """A live body passed through a :class:`RecordingTap`."""

        __slots__ = ("_tap",)

        def __init__(self, tap: RecordingTap) -> None:
            self._tap = tap

        def __iter__(self) -> Iterator[bytes]:
            return self._tap.iter_sync()

        def __aiter__(self) -> AsyncIterator[bytes]:
            return self._tap.iter_async()

        def close(self) -> None:
            self._tap.close()

        async def aclose(self) -> None:
            await self._tap.aclose()

    ReplayStream.__qualname__ = f"ReplayStream[{name}]"
    RecordingStream.__qualname__ = f"RecordingStream[{name}]"
    return HttpLib(name=name, module=module, replay_stream=ReplayStream, recording_stream=RecordingStream)


_CACHE: dict[str, HttpLib | None] = {}


def available_libs() -> list[HttpLib]:
    """The installed client libraries (imported on first use), without duplicates.

    httpx2's ``alias_httpx()`` makes ``import httpx`` return httpx2; such an alias counts once.
    """
    libs: list[HttpLib] = []
    seen: set[int] = set()
    for name in LIBRARY_NAMES:
        cached = _CACHE.get(name)
        if cached is not None and sys.modules.get(name) is not cached.module:
            # The library was imported anew (pytester restores sys.modules after each in-process
            # run; importlib.reload): patch the classes the application now uses.
            del _CACHE[name]
        if name not in _CACHE:
            module: ModuleType | None = None
            if importlib.util.find_spec(name) is not None:
                try:
                    module = importlib.import_module(name)
                except ImportError:
                    module = None
            _CACHE[name] = _build(name, module) if module is not None else None
        lib = _CACHE[name]
        if lib is not None and id(lib.module) not in seen:
            seen.add(id(lib.module))
            libs.append(lib)
    return libs


def lib_for_transport(transport: object) -> HttpLib:
    for lib in available_libs():
        if isinstance(transport, lib.transports):
            return lib
    raise TypeError(f"{type(transport).__name__} is not an httpx or httpx2 transport")
