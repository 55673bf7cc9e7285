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

from ..model.cassette import Headers, Request
from .clientlib import BodyRecorder, ClientLib
from .streams import BodySource, ChunkPlayer, LiveBody, RecordingTap

__all__ = [
    "LIBRARY_NAMES",
    "HttpLib",
    "LiveRequest",
    "available_libs",
    "encode_headers",
    "installed",
    "lib_for_transport",
    "lib_of",
]

LIBRARY_NAMES = ("httpx2", "httpx")

# Recorded stream endings <-> the client library's exception classes.
_END_KINDS = {
    "remote_protocol_error": "RemoteProtocolError",
    "read_error": "ReadError",
    "read_timeout": "ReadTimeout",
}


@dataclass(frozen=True, slots=True)
class HttpLib(BodyRecorder):
    """The parts of one client library that record and replay need."""

    name: str
    module: ModuleType
    stream: type  # the library's byte stream over a BodySource, replayed or recorded

    @property
    def recording_stream(self) -> type:
        """The stream class a recorded body goes out in (the vcrpy bridge wraps its own tap)."""
        return self.stream

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

    def request_key(self, request: Any, body: bytes) -> tuple[str, str, bytes, str | None]:
        return (request.method, str(request.url), body, request.headers.get("content-type"))

    def request_body(self, request: Any) -> bytes:
        return bytes(request.read())

    async def request_body_async(self, request: Any) -> bytes:
        return bytes(await request.aread())

    def request_host(self, request: Any) -> str:
        return str(request.url.host)

    def replayed_response(self, plan: Any, player: ChunkPlayer, request: Any) -> Any:
        return self.make_response(plan.status, _wire_headers(plan.headers), self.stream(player))

    def head_error(self, kind: str, message: str, request: Any) -> Exception:
        return self.transport_error(kind, message, request)

    def response_head(self, response: Any) -> tuple[int, Headers]:
        raw = response.headers.raw
        return response.status_code, [(k.decode("latin-1"), v.decode("latin-1")) for k, v in raw]

    def tap_body(self, response: Any, body: LiveBody) -> Any:
        tap = RecordingTap(response.stream, body.pending, self, body.on_chunk, on_drain=body.on_drain)
        response.stream = self.stream(tap)
        return response

    def make_response(self, status: int, headers: Headers | list[tuple[bytes, bytes]], stream: Any) -> Any:
        return self.module.Response(
            status_code=status,
            headers=headers,
            stream=stream,
            extensions={"http_version": b"HTTP/1.1", "reason_phrase": _reason(self.module, status)},
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


class LiveRequest:
    """A request the client library is sending, as replay sees it.

    Matching needs only the method, URL, body and content type, and a replayed request is
    usually found from those alone; the full :class:`~replay.model.cassette.Request` (every header
    decoded) is built only when recording, a fault or an error message needs it.
    """

    __slots__ = ("_lib", "_model", "body", "raw")

    def __init__(self, lib: ClientLib, raw: Any, body: bytes) -> None:
        self._lib = lib
        self._model: Request | None = None
        self.raw = raw
        self.body = body

    @property
    def lib(self) -> ClientLib:
        """The client library the request came from."""
        return self._lib

    @property
    def key(self) -> tuple[str, str, bytes, str | None]:
        """What matching's memo is keyed on: method, URL, body and content type."""
        return self._lib.request_key(self.raw, self.body)

    @property
    def model(self) -> Request:
        if self._model is None:
            self._model = self._lib.request_model(self.raw, self.body)
        return self._model


def encode_headers(headers: Headers) -> list[tuple[bytes, bytes]]:
    """Headers as the client library keeps them (bytes): cheaper for it to take than text."""
    return [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers]


_REASONS: dict[tuple[int, int], bytes] = {}


def _reason(module: ModuleType, status: int) -> bytes:
    key = (id(module), status)
    reason = _REASONS.get(key)
    if reason is None:
        text = module.codes.get_reason_phrase(status) or ""
        reason = _REASONS[key] = text.encode("ascii", "replace")
    return reason


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

    class ByteStream(sync_base, async_base):  # type: ignore[misc]
        """The library's stream interface over a replayed (:class:`ChunkPlayer`) or a recorded
        (:class:`RecordingTap`) body."""

        __slots__ = ("_source",)

        def __init__(self, source: BodySource) -> None:
            self._source = source

        def __iter__(self) -> Iterator[bytes]:
            return self._source.iter_sync()

        def __aiter__(self) -> AsyncIterator[bytes]:
            return self._source.iter_async()

        def close(self) -> None:
            self._source.close()

        async def aclose(self) -> None:
            await self._source.aclose()

    ByteStream.__qualname__ = f"ByteStream[{name}]"
    return HttpLib(name=name, module=module, stream=ByteStream)


_CACHE: dict[str, HttpLib] = {}
_INSTALLED: dict[str, bool] = {}


def installed(name: str) -> bool:
    """Whether the library can be imported here, without importing it (asked once per name)."""
    found = _INSTALLED.get(name)
    if found is None:
        try:
            found = importlib.util.find_spec(name) is not None
        except (ImportError, ValueError):  # a broken or deliberately blocked install
            found = False
        _INSTALLED[name] = found
    return found


def lib_of(name: str) -> HttpLib | None:
    """The adapter of an imported client library (None if it is not imported).

    The adapter is rebuilt if the module object changed (a re-import makes new classes, and
    patching the old ones would silently let requests through).
    """
    module = sys.modules.get(name)
    if module is None:
        return None
    lib = _CACHE.get(name)
    if lib is None or lib.module is not module:
        lib = _CACHE[name] = _build(name, module)
    return lib


def available_libs() -> list[HttpLib]:
    """The imported client libraries, without duplicates.

    Only an imported library is patched: a session never pays for importing one the application
    does not use (``import httpx`` alone takes ~70 ms, its CLI included); one imported while a
    cassette is active is patched as its import finishes (:mod:`replay.transport.patch`).
    httpx2's ``alias_httpx()`` makes ``import httpx`` return httpx2; such an alias counts once.
    """
    libs: list[HttpLib] = []
    seen: set[int] = set()
    for name in LIBRARY_NAMES:
        lib = lib_of(name)
        if lib is not None and id(lib.module) not in seen:
            seen.add(id(lib.module))
            libs.append(lib)
    return libs


def lib_for_transport(transport: object) -> HttpLib:
    for lib in available_libs():
        if isinstance(transport, lib.transports):
            return lib
    raise TypeError(f"{type(transport).__name__} is not an httpx or httpx2 transport")


def _wire_headers(headers: Any) -> Any:
    """Header values as httpx encodes them: a recorded non-ASCII value (the client decoded the
    server's UTF-8 bytes) goes back as UTF-8 bytes, which the client decodes to the same text."""
    if all(isinstance(v, str) and v.isascii() for _, v in headers):
        return headers
    return [
        (n.encode("latin-1") if isinstance(n, str) else n, v.encode("utf-8") if isinstance(v, str) else v)
        for n, v in headers
    ]
