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
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import aiohttp
from aiohttp import web

from .engine_link import REAL, PendingRecording, Request, StreamEnd
from .wire import HOP_BY_HOP, cut_connection, set_nodelay

__all__ = ["UPSTREAM_HEADER", "Upstreams", "UpstreamRefused", "forward"]

UPSTREAM_HEADER = "x-replay-upstream"
# Headers of the client's request that are not forwarded: per-connection ones, the host (the
# upstream's own is set), the length (recomputed), and the server's own.
_DROP_REQUEST = HOP_BY_HOP | {"host", "content-length", UPSTREAM_HEADER}


class UpstreamRefused(ValueError):
    """A request names no upstream, or one not given on the command line."""


def normalize_upstream(url: str) -> str:
    """``https://API.openai.com/`` -> ``https://api.openai.com`` (refusing what is not a base URL)."""
    from yarl import URL

    parsed = URL(url)
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise UpstreamRefused(f"--upstream {url!r} is not an http(s) base URL like https://api.openai.com")
    if parsed.query_string or parsed.fragment:
        raise UpstreamRefused(f"--upstream {url!r} has a query or fragment; give a base URL")
    return str(parsed.with_path(parsed.path.rstrip("/"))).rstrip("/")


@dataclass(frozen=True, slots=True)
class Upstreams:
    """The upstreams named on the command line: the only hosts record mode forwards to."""

    urls: tuple[str, ...]

    @classmethod
    def of(cls, urls: Sequence[str]) -> Upstreams:
        return cls(tuple(dict.fromkeys(normalize_upstream(u) for u in urls)))

    def check(self, url: str) -> str:
        """``url`` if it is one of the named upstreams, else :class:`UpstreamRefused`."""
        try:
            wanted = normalize_upstream(url)
        except UpstreamRefused:
            wanted = url
        if wanted not in self.urls:
            named = ", ".join(self.urls) or "none"
            raise UpstreamRefused(
                f"{url!r} is not an upstream of this server (named with --upstream: {named}); "
                "the server forwards only to those, it is not an open proxy."
            )
        return wanted

    def choose(self, header: str | None, session_choice: str | None) -> str:
        if header is not None:
            return self.check(header)
        if session_choice is not None:
            return self.check(session_choice)
        if len(self.urls) == 1:
            return self.urls[0]
        if not self.urls:
            raise UpstreamRefused(
                "This request must be recorded, but the server has no upstream: start it with "
                "--upstream URL (e.g. --upstream https://api.openai.com)."
            )
        raise UpstreamRefused(
            f"Several upstreams ({', '.join(self.urls)}): name one in the {UPSTREAM_HEADER} header "
            "or in the session's 'upstream'."
        )


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
