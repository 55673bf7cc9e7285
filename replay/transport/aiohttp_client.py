"""aiohttp adapter: ``ClientSession`` requests, answered through aiohttp's public client
middleware interface (aiohttp >= 3.12).

aiohttp has no public hook that reaches sessions created before the cassette opened, and its
public extension points (``request_class``, ``connector``, tracing) cannot substitute a response
without connecting. Client middlewares can: a middleware may return a response without calling
the handler, which is what opens the connection. So the one private touch is a thin wrapper of
``ClientSession._request`` that appends our middleware to the request's middlewares (innermost,
after the application's own, which still see every replayed response); everything else
(redirects, cookies, ``raise_for_status``, the ``async with`` protocol) stays aiohttp's.

Replay returns a ``ClientResponse`` whose ``content`` delivers one recorded chunk per
``readany()`` / ``iter_any()`` step; ``iter_chunked(n)``, ``readline()``, ``read()``,
``resp.json()``, ``resp.text()`` keep aiohttp's semantics over them. Recorded endings raise
what aiohttp raises: ``ClientPayloadError`` mid-body, ``ServerDisconnectedError`` /
``ClientOSError`` before the head, ``SocketTimeoutError`` for read timeouts.

Example (what :mod:`replay.transport.patch` does while a cassette is active)::

    originals = install(active_interceptor)
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

from ..model.cassette import Headers
from .aiohttp_content import RecordingContent, ReplayContent
from .clientlib import WireLib, WireRequest
from .interceptor import Interceptor, passing_through, serve_async
from .streams import ChunkPlayer, LiveBody

__all__ = ["AiohttpLib", "install"]


class AiohttpLib(WireLib):
    """How aiohttp answers, fails and is recorded."""

    name = "aiohttp"

    def replayed_response(self, plan: Any, player: ChunkPlayer, request: WireRequest) -> Any:
        import asyncio

        from aiohttp import ClientResponse
        from aiohttp.helpers import TimerNoop
        from multidict import CIMultiDict, CIMultiDictProxy

        req = request.native
        raw = [
            (k, v) if isinstance(k, bytes) else (k.encode("latin-1"), v.encode("latin-1"))
            for k, v in plan.headers
        ]
        resp = ClientResponse(
            req.method,
            req.url,
            writer=None,
            continue100=None,
            timer=TimerNoop(),
            request_info=req.request_info,
            traces=[],
            loop=asyncio.get_running_loop(),
            session=req._session,
            stream_writer=_NoWriter(),  # type: ignore[arg-type]  # only output_size is read
        )
        import http

        resp.status = plan.status
        try:
            resp.reason = http.HTTPStatus(plan.status).phrase
        except ValueError:
            resp.reason = ""
        headers = CIMultiDict((k.decode("latin-1"), v.decode("latin-1")) for k, v in raw)
        resp._headers = CIMultiDictProxy(headers)
        resp._raw_headers = tuple(raw)
        resp.content = ReplayContent(player.iter_async())  # type: ignore[assignment]
        return resp

    def transport_error(self, kind: str, message: str, request: Any) -> Exception:
        import aiohttp

        if kind == "read_timeout":
            return aiohttp.SocketTimeoutError("Timeout on reading data from socket")
        fallback = "Connection reset by peer" if kind == "read_error" else "connection closed mid-body"
        detail = message or fallback
        return aiohttp.ClientPayloadError(f"Response payload is not completed: {detail}")

    def head_error(self, kind: str, message: str, request: Any) -> Exception:
        import aiohttp

        if kind == "read_timeout":
            return aiohttp.SocketTimeoutError("Timeout on reading data from socket")
        if kind == "read_error":
            return aiohttp.ClientOSError(104, "Connection reset by peer")
        return aiohttp.ServerDisconnectedError()

    def error_kind(self, exc: BaseException) -> str | None:
        import asyncio

        import aiohttp

        if isinstance(exc, (aiohttp.ServerTimeoutError, asyncio.TimeoutError)):
            return "read_timeout"
        if isinstance(exc, (aiohttp.ClientPayloadError, aiohttp.ServerDisconnectedError)):
            return "remote_protocol_error"
        if isinstance(exc, (aiohttp.ClientConnectionError, OSError)):
            return "read_error"
        return None

    def response_head(self, response: Any) -> tuple[int, Headers]:
        headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in response.raw_headers]
        if response._decoded:
            # aiohttp decompressed the body it hands over: record it as the plain body it is.
            headers = [(k, v) for k, v in headers if k.lower() not in ("content-encoding", "content-length")]
        return response.status, headers

    def tap_body(self, response: Any, body: LiveBody) -> Any:
        pending = body.pending

        def fail(exc: BaseException) -> None:
            pending.fail(self.error_kind(exc) or "closed_early", str(exc))

        response.content = RecordingContent(
            response.content, body.note, pending.finish, fail, pending.closed_by_app
        )
        original_release = response.release

        def release() -> Any:
            pending.closed_by_app()
            return original_release()

        response.release = release
        return response


class _NoWriter:
    output_size = 0


LIB = AiohttpLib()


def _read_timeout(session: Any, timeout: Any) -> float | None:
    if timeout is None or type(timeout).__name__ == "_SENTINEL":
        timeout = getattr(session, "_timeout", None)
    for name in ("sock_read", "total"):
        value = getattr(timeout, name, None)
        if isinstance(value, (int, float)):
            return float(value)
    return None


def _middleware(read_timeout: float | None, decoded: bool, active: Callable[[], Interceptor | None]) -> Any:
    async def replay_middleware(req: Any, handler: Any) -> Any:
        interceptor = active()
        if interceptor is None or passing_through():
            return await handler(req)
        body = req.body
        data = await body.as_bytes() if hasattr(body, "as_bytes") else bytes(body or b"")
        wire = WireRequest(
            method=req.method,
            url=str(req.url),
            headers=[(str(k), str(v)) for k, v in req.headers.items()],
            body=data,
            read_timeout=read_timeout,
        )
        wire.native = req

        async def send() -> Any:
            resp = await handler(req)
            resp._decoded = decoded and bool(resp.headers.get("content-encoding"))
            return resp

        return await serve_async(interceptor, LIB, wire, send)

    return replay_middleware


def install(active: Callable[[], Interceptor | None]) -> list[tuple[type, str, Any]]:
    """Wrap ``ClientSession._request`` if aiohttp is imported; returns what to restore (see
    :func:`replay.transport.urllib3_client.install` for why only an imported library)."""
    if "aiohttp.client" not in sys.modules:
        return []
    import inspect

    from aiohttp import ClientSession

    original = ClientSession.__dict__["_request"]
    if "middlewares" not in inspect.signature(original).parameters:
        # aiohttp < 3.12 has no client middlewares: its requests stay unseen, and a cassette
        # they go around says so (replay.hygiene.silence).
        return []

    async def _request(self: Any, method: str, str_or_url: Any, **kw: Any) -> Any:
        if active() is None or passing_through():
            return await original(self, method, str_or_url, **kw)
        own = kw.get("middlewares")
        chain = tuple(self._middlewares if own is None else own)
        auto = kw.get("auto_decompress")
        decoded = self._auto_decompress if auto is None else auto
        ours = _middleware(_read_timeout(self, kw.get("timeout")), bool(decoded), active)
        return await original(self, method, str_or_url, **{**kw, "middlewares": (*chain, ours)})

    _request.__wrapped__ = original  # type: ignore[attr-defined]
    setattr(ClientSession, "_request", _request)  # noqa: B010
    return [(ClientSession, "_request", original)]
