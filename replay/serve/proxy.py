"""Record mode: a reverse proxy to the upstreams named on the command line, never an open proxy.

The request goes to the chosen upstream (the one named, or the one a session or the
``x-replay-upstream`` header picks among them); the response streams back to the client one
upstream HTTP chunk at a time, as each arrives, while a :class:`~replay.streams.PendingRecording`
notes its time since the request arrived. Bytes pass through untouched (no decompression), so the
client sees exactly what the upstream sent; the cassette stores them decoded, as in-process
recording does. An upstream that fails mid-body is recorded as such, and the client's connection
ends the same way. The finished recording is saved (scrubbed, atomically) off the event loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import aiohttp
from aiohttp import web

from .engine_link import REAL, PendingRecording, Request, StreamEnd
from .upstreams import UPSTREAM_HEADER
from .wire import HOP_BY_HOP, cut_connection, set_nodelay

__all__ = ["forward"]

# Headers of the client's request that are not forwarded: per-connection ones, the host (the
# upstream's own is set), the length (recomputed), and the server's own.
_DROP_REQUEST = HOP_BY_HOP | {"host", "content-length", UPSTREAM_HEADER}


def _end_of(exc: BaseException, t: float) -> StreamEnd:
    if isinstance(exc, aiohttp.ClientPayloadError):
        return StreamEnd(kind="remote_protocol_error", message=str(exc), t=t)
    if isinstance(exc, (asyncio.TimeoutError, aiohttp.ServerTimeoutError)):
        return StreamEnd(kind="read_timeout", message=str(exc) or "The read operation timed out", t=t)
    return StreamEnd(kind="read_error", message=str(exc), t=t)


async def forward(
    request: web.Request,
    model: Request,
    client: aiohttp.ClientSession,
    arrived: float,
    on_done: Callable[[PendingRecording], None],
) -> web.StreamResponse:
    """Send ``model`` (its URL on the upstream) and stream the answer back, recording it."""
    headers = [(k, v) for k, v in model.headers if k.lower() not in _DROP_REQUEST]
    model = model.model_copy(update={"headers": headers})
    pending = PendingRecording(request=model, status=0, headers=[], sent_at=arrived, head_t=0.0)
    try:
        async with client.request(
            model.method, model.url, headers=headers, data=model.body or None, allow_redirects=False
        ) as upstream:
            pending.status = upstream.status
            pending.head_t = REAL.perf_counter() - arrived
            pending.headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in upstream.raw_headers]
            return await _stream_back(request, upstream, pending)
    except (aiohttp.ClientConnectorError, aiohttp.InvalidURL) as exc:
        if pending.status:
            raise
        return web.json_response(
            {"error": {"type": "llm_replay_upstream", "message": f"llm-replay serve: {model.url}: {exc}"}},
            status=502,
        )
    finally:
        if pending.status:
            if not pending.done:
                # The client hung up: keep what arrived, as in-process recording does.
                pending.finish(None if pending.looks_complete() else StreamEnd(kind="closed_early"))
            on_done(pending)


async def _stream_back(
    request: web.Request, upstream: aiohttp.ClientResponse, pending: PendingRecording
) -> web.StreamResponse:
    response = web.StreamResponse(status=upstream.status, reason=upstream.reason)
    for name, value in pending.headers:
        if name.lower() not in HOP_BY_HOP:
            response.headers.add(name, value)
    if "content-length" not in response.headers:
        response.enable_chunked_encoding()
    set_nodelay(request)
    await response.prepare(request)
    chunked = upstream.headers.get("transfer-encoding", "").lower() == "chunked"
    pieces: list[bytes] = []
    reader = upstream.content.iter_chunks().__aiter__()
    while True:
        try:
            data, end_of_chunk = await reader.__anext__()
        except StopAsyncIteration:
            break
        except (aiohttp.ClientError, OSError, asyncio.TimeoutError) as exc:
            pending.finish(_end_of(exc, REAL.perf_counter() - pending.sent_at))
            assert pending.end is not None
            await cut_connection(request, pending.end)
            return response
        pieces.append(data)
        # One upstream HTTP chunk (one server flush) is one chunk here too, even when the
        # client library hands it over in pieces.
        if chunked and not end_of_chunk:
            continue
        whole = b"".join(pieces)
        pieces.clear()
        if whole:
            pending.add(whole)
            await response.write(whole)
    if pieces and (whole := b"".join(pieces)):
        pending.add(whole)
        await response.write(whole)
    pending.finish()
    await response.write_eof()
    return response
