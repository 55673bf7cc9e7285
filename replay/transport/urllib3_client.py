"""urllib3 adapter: ``requests`` and botocore (boto3) both send through
``urllib3.connectionpool.HTTPConnectionPool.urlopen``, the lowest public point they share.

Replay returns a :class:`urllib3.HTTPResponse` subclass whose body is the recorded chunks:
``stream()`` / ``read_chunked()`` yield one recorded chunk per step (split only when the caller
asks for fewer bytes), ``read(amt)`` keeps urllib3's "exactly amt bytes" rule. Recorded stream
endings are raised as the socket-level errors a real connection gives (``IncompleteRead``,
``ConnectionResetError``, ``TimeoutError``) inside urllib3's own error handling, so the
application sees exactly what urllib3 raises for them (``ProtocolError``, ``ReadTimeoutError``;
``requests`` turns those into ``ChunkedEncodingError`` / ``ConnectionError``).
Recording taps the connection's raw body reads, chunk by chunk as they arrive.

Example (what :mod:`replay.transport.patch` does while a cassette is active)::

    originals = install(active_interceptor)
"""

from __future__ import annotations

import http.client
import sys
from collections.abc import Callable, Generator, Iterator
from typing import Any

from ..model.cassette import Headers
from .clientlib import WireLib, WireRequest
from .interceptor import Interceptor, passing_through, serve_sync
from .streams import ChunkPlayer, LiveBody

__all__ = ["Urllib3Lib", "install"]

_DEFAULT_PORTS = {"http": 80, "https": 443}


class Urllib3Lib(WireLib):
    """How urllib3 answers, fails and is recorded."""

    name = "urllib3"

    def replayed_response(self, plan: Any, player: ChunkPlayer, request: WireRequest) -> Any:
        return _replay_class()(player, plan, request)

    def transport_error(self, kind: str, message: str, request: Any) -> Exception:
        # Raised inside urllib3's read error handling, which turns them into its own errors.
        if kind == "read_timeout":
            return TimeoutError(message or "The read operation timed out")
        if kind == "read_error":
            return ConnectionResetError(104, message or "Connection reset by peer")
        return http.client.IncompleteRead(b"")

    def head_error(self, kind: str, message: str, request: Any) -> Exception:
        from urllib3.exceptions import ProtocolError, ReadTimeoutError

        if kind == "read_timeout":
            return ReadTimeoutError(None, request.url, f"Read timed out. ({message})")  # type: ignore[arg-type]
        if kind == "read_error":
            return ProtocolError("Connection aborted.", ConnectionResetError(104, "Connection reset by peer"))
        cause = http.client.RemoteDisconnected("Remote end closed connection without response")
        return ProtocolError("Connection aborted.", cause)

    def error_kind(self, exc: BaseException) -> str | None:
        from urllib3.exceptions import ProtocolError, ReadTimeoutError

        if isinstance(exc, (TimeoutError, ReadTimeoutError)):
            return "read_timeout"
        if isinstance(exc, (http.client.IncompleteRead, http.client.RemoteDisconnected)):
            return "remote_protocol_error"
        if isinstance(exc, ProtocolError):
            cause = exc.args[1] if len(exc.args) > 1 else None
            return self.error_kind(cause) if isinstance(cause, BaseException) else "remote_protocol_error"
        if isinstance(exc, (OSError, http.client.HTTPException)):
            return "read_error"
        return None

    def response_head(self, response: Any) -> tuple[int, Headers]:
        return response.status, [(str(k), str(v)) for k, v in response.headers.items()]

    def tap_body(self, response: Any, body: LiveBody) -> Any:
        tap = _TapFp(response, body, self)
        response._fp = tap
        response._original_response = tap
        return response


LIB = Urllib3Lib()


class _TapFp:
    """The connection's body reader, passed through and timed chunk by chunk."""

    def __init__(self, response: Any, body: LiveBody, lib: Urllib3Lib) -> None:
        self._inner = response._fp
        self._response = response
        self._body = body
        self._pending = body.pending
        self._lib = lib
        self._owed = 0  # bytes of the current HTTP chunk still to come (chunked bodies)
        self._crlf_next = False
        # urllib3 stops reading once Content-Length bytes arrived, without an EOF read.
        length = response.headers.get("content-length")
        self._left = int(length) if length is not None and length.isdigit() else None

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def _note(self, data: bytes) -> bytes:
        if data:
            self._body.note(bytes(data))
            if self._left is not None:
                self._left -= len(data)
                if self._left <= 0:
                    self._pending.finish()
        return data

    def _call(self, fn: Callable[..., Any], *args: Any) -> Any:
        try:
            return fn(*args)
        except Exception as exc:
            self._pending.fail(self._lib.error_kind(exc) or "closed_early", str(exc))
            raise

    def read(self, amt: int | None = None) -> bytes:
        data: bytes = self._call(self._inner.read, *(() if amt is None else (amt,)))
        if amt is None or (amt and not data):
            self._note(data)
            self._pending.finish()
            return data
        return self._note(data)

    def read1(self, amt: int = -1) -> bytes:
        data: bytes = self._call(self._inner.read1, amt)
        if not data and amt:
            self._pending.finish()
        return self._note(data)

    def _safe_read(self, amt: int) -> bytes:
        data: bytes = self._call(self._inner._safe_read, amt)
        if self._crlf_next:  # the CRLF after a chunk: framing, not body
            self._crlf_next = False
            return data
        if self._owed <= 0:
            self._owed = self._response.chunk_left or len(data)
        self._owed -= len(data)
        if self._owed <= 0:
            self._crlf_next = True
        return self._note(data)

    def close(self) -> None:
        try:
            self._inner.close()
        finally:
            response = self._response
            self._pending.closed_by_app(complete=bool(response.chunked and response.chunk_left == 0))


class _PlayerFile:
    """A replayed body as the file object urllib3 reads from."""

    def __init__(self, player: ChunkPlayer) -> None:
        self._chunks: Iterator[bytes] = player.iter_sync()
        self._player = player
        self._buffer = b""
        self._eof = False
        self.fp = None

    def next_chunk(self) -> bytes | None:
        if self._buffer:
            data, self._buffer = self._buffer, b""
            return data
        if self._eof:
            return None
        for data in self._chunks:
            if data:
                return data
        self._eof = True
        return None

    def read(self, amt: int | None = None) -> bytes:
        if amt is None or amt < 0:
            parts = []
            while (data := self.next_chunk()) is not None:
                parts.append(data)
            return b"".join(parts)
        data = self.next_chunk()
        if data is None:
            return b""
        self._buffer = data[amt:]
        return data[:amt]

    read1 = read

    def isclosed(self) -> bool:
        return self._eof and not self._buffer

    @property
    def closed(self) -> bool:
        return self.isclosed()

    def close(self) -> None:
        self._player.close()
        self._eof = True
        self._buffer = b""


_REPLAY_CLASS: list[type] = []


def _replay_class() -> type:
    if _REPLAY_CLASS:
        return _REPLAY_CLASS[0]
    from urllib3 import HTTPHeaderDict, HTTPResponse

    class ReplayHTTPResponse(HTTPResponse):
        """A recorded response with urllib3's own interface and error handling."""

        def __init__(self, player: ChunkPlayer, plan: Any, request: WireRequest) -> None:
            headers = HTTPHeaderDict()
            for k, v in plan.headers:
                headers.add(_text(k), _text(v))
            super().__init__(
                body=_PlayerFile(player),  # type: ignore[arg-type]  # read/close is all it needs
                headers=headers,
                status=plan.status,
                reason=http.client.responses.get(plan.status, ""),
                preload_content=False,
                decode_content=True,
                request_method=request.method,
                request_url=request.url,
                enforce_content_length=True,
            )
            # stream() goes through read_chunked: one recorded chunk per step, as recorded.
            self.chunked = True

        def supports_chunked_reads(self) -> bool:
            return True

        def read_chunked(
            self, amt: int | None = None, decode_content: bool | None = None
        ) -> Generator[bytes, None, None]:
            body: _PlayerFile = self._fp  # type: ignore[assignment]
            with self._error_catcher():
                while (data := body.next_chunk()) is not None:
                    if amt and len(data) > amt:
                        body._buffer = data[amt:]
                        data = data[:amt]
                    yield data
            self.release_conn()

    _REPLAY_CLASS.append(ReplayHTTPResponse)
    return ReplayHTTPResponse


def _full_url(pool: Any, url: str) -> str:
    if not url.startswith("/"):
        return url
    port = pool.port
    default = _DEFAULT_PORTS.get(pool.scheme)
    host = pool.host if ":" not in pool.host else f"[{pool.host}]"
    netloc = host if port in (None, default) else f"{host}:{port}"
    return f"{pool.scheme}://{netloc}{url}"


def _text(value: Any) -> str:
    # botocore passes header values as bytes.
    return value.decode("latin-1") if isinstance(value, (bytes, bytearray)) else str(value)


def _body_bytes(body: Any) -> bytes:
    if body is None:
        return b""
    if isinstance(body, (bytes, bytearray, memoryview)):
        return bytes(body)
    if isinstance(body, str):
        return body.encode("utf-8")
    if hasattr(body, "read"):
        data = body.read()
        return data.encode("utf-8") if isinstance(data, str) else bytes(data)
    return b"".join(p.encode("utf-8") if isinstance(p, str) else bytes(p) for p in body)


def _read_timeout(pool: Any, timeout: Any) -> float | None:
    from urllib3.util.timeout import Timeout

    if timeout is None or timeout is Timeout.DEFAULT_TIMEOUT or timeout is _UNSET:
        timeout = pool.timeout
    if isinstance(timeout, Timeout):
        value = timeout.read_timeout
        return float(value) if isinstance(value, (int, float)) else None
    return float(timeout) if isinstance(timeout, (int, float)) else None


_UNSET = object()


def install(active: Callable[[], Interceptor | None]) -> list[tuple[type, str, Any]]:
    """Patch ``HTTPConnectionPool.urlopen`` if urllib3 is imported; returns what to restore.

    Only an imported urllib3 is patched: opening a cassette never imports a client library the
    application does not use (one first imported while a cassette is active is patched as its
    import finishes, see replay.transport.patch).
    """
    if "urllib3.connectionpool" not in sys.modules:
        return []
    from urllib3.connectionpool import HTTPConnectionPool

    original = HTTPConnectionPool.__dict__["urlopen"]

    def urlopen(self: Any, method: str, url: str, body: Any = None, headers: Any = None, **kw: Any) -> Any:
        interceptor = active()
        if interceptor is None or passing_through():
            return original(self, method, url, body, headers, **kw)
        data = _body_bytes(body)
        wire = WireRequest(
            method=method.upper(),
            url=_full_url(self, url),
            headers=[(_text(k), _text(v)) for k, v in (headers or {}).items()],
            body=data,
            read_timeout=_read_timeout(self, kw.get("timeout", _UNSET)),
        )
        preload = kw.get("preload_content", True)
        live = {**kw, "preload_content": False}
        response = serve_sync(
            interceptor,
            LIB,
            wire,
            lambda: original(self, method, url, data if body is not None else None, headers, **live),
        )
        if preload:
            response.read(cache_content=True, decode_content=kw.get("decode_content", True))
        return response

    urlopen.__wrapped__ = original  # type: ignore[attr-defined]
    setattr(HTTPConnectionPool, "urlopen", urlopen)  # noqa: B010
    return [(HTTPConnectionPool, "urlopen", original)]
