"""The HTTP server: aiohttp.web on real sockets, routing requests to sessions.

Routing of a request's path:

- ``/__replay/...``: the control API (:mod:`replay.serve.control`);
- ``/s/<session id>/<api path>``: a session opened through the control API;
- ``/c/<cassette>/<api path>`` (a served directory): the cassette at that path inside it, suffix
  included (``/c/chat/openai.yaml/v1/chat/completions``), shared by every client naming it;
- anything else (a served file): that file.

Limits protect the server: request bodies above ``max_body`` bytes get 413 before they are
read, header lines above ``max_field`` bytes get aiohttp's 400, a client that hangs up cancels
only its own handler, and any unexpected error becomes a 500 naming it, never a crash.
"""

from __future__ import annotations

import asyncio
import sys
import traceback
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from .control import CONTROL_PREFIX, ControlAPI, error_response
from .engine_link import REAL, PendingRecording, ReplayError, Request, ResponsePlan, Scrubber
from .fault_spec import FaultSpecError
from .limits import DEFAULT_MAX_BODY, DEFAULT_MAX_FIELD
from .paths import CassettePathError, resolve_cassette, split_prefixed
from .proxy import forward
from .session import Miss, ServeSession, SessionRegistry, SessionSettings
from .timing import PreciseTimer
from .upstreams import UPSTREAM_HEADER, UpstreamRefused, Upstreams
from .wire import Pace, play

__all__ = ["ServeConfig", "ServerState", "build_app"]


@dataclass(frozen=True, slots=True)
class ServeConfig:
    """What ``llm-replay serve`` was asked to do."""

    path: Path
    host: str = "127.0.0.1"
    port: int = 0
    settings: SessionSettings = field(default_factory=SessionSettings)
    upstreams: tuple[str, ...] = ()
    token: str | None = None
    max_body: int = DEFAULT_MAX_BODY
    max_field: int = DEFAULT_MAX_FIELD


class ServerState:
    """Everything the handlers share: sessions, upstreams, the timer, the pending saves."""

    def __init__(self, config: ServeConfig) -> None:
        self.config = config
        self.root = config.path.resolve()
        self.file_mode = not self.root.is_dir()
        self.registry = SessionRegistry(self.root, self.file_mode, config.settings, Scrubber())
        self.upstreams = Upstreams.of(config.upstreams)
        self.timer = PreciseTimer()
        self.base_url = [""]
        self.client: aiohttp.ClientSession | None = None
        self._saves: set[asyncio.Future[None]] = set()

    def describe(self) -> dict[str, Any]:
        return {
            "root": str(self.root),
            "mode": "file" if self.file_mode else "directory",
            "base_url": self.base_url[0],
            "upstreams": list(self.upstreams.urls),
            "record_mode": self.config.settings.record_mode.value,
            "sessions": self.registry.ids(),
        }

    def save_later(self, session: ServeSession) -> Callable[[PendingRecording], None]:
        def done(pending: PendingRecording) -> None:
            future = asyncio.ensure_future(asyncio.to_thread(session.save_recording, pending))
            self._saves.add(future)
            future.add_done_callback(self._saves.discard)

        return done

    async def flush_saves(self) -> None:
        """Wait for recordings still being written (a session closing, the server stopping)."""
        if self._saves:
            await asyncio.gather(*list(self._saves), return_exceptions=True)

    async def route(self, raw_path: str) -> tuple[ServeSession, str]:
        """The session a request path selects, and the API path left after the prefix.

        A cassette opened for the first time is read off the event loop: a large one must not
        hold up the chunks of other streams."""
        if raw_path.startswith("/s/"):
            sid, _, rest = raw_path[3:].partition("/")
            opened = self.registry.get(sid)
            if opened is None:
                raise LookupError(f"No open session {sid!r}: open one with POST {CONTROL_PREFIX}/sessions.")
            return opened, "/" + rest
        if self.file_mode:
            served = self.registry.cached(self.root.name)
            if served is None:
                served = await asyncio.to_thread(self.registry.default)
            return served, raw_path
        if raw_path.startswith("/c/"):
            segments, rest = split_prefixed(raw_path[3:])
            session = self.registry.cached("/".join(segments))
            if session is None:
                session = await asyncio.to_thread(self._implicit, segments)
            return session, rest
        raise LookupError(
            f"{raw_path.split('?')[0]} names no cassette. This server serves the directory {self.root}: "
            "put the cassette in the path (base URL http://HOST:PORT/c/<cassette.yaml>, e.g. "
            f"/c/chat.yaml/v1/chat/completions) or open a session with POST {CONTROL_PREFIX}/sessions."
        )

    def _implicit(self, segments: list[str]) -> ServeSession:
        name, path = resolve_cassette(self.root, segments)
        return self.registry.implicit(name, path)


async def _read_body(request: web.Request, limit: int) -> bytes:
    length = request.content_length
    if length is not None and length > limit:
        raise web.HTTPRequestEntityTooLarge(max_size=limit, actual_size=length)
    return await request.read()  # aiohttp stops a chunked body at client_max_size (413)


async def _api(request: web.Request) -> web.StreamResponse:
    arrived = REAL.perf_counter()
    state: ServerState = request.app[STATE]
    raw = request.raw_path
    if not raw.startswith("/"):
        return error_response(
            400, "Absolute-form request targets are refused: this server is not a proxy. Send a path."
        )
    if raw.startswith(CONTROL_PREFIX):
        return error_response(
            404, f"No control endpoint {request.method} {request.path}; see GET {CONTROL_PREFIX}/."
        )
    try:
        session, rest = await state.route(raw)
    except CassettePathError as exc:
        return error_response(400, str(exc))
    except LookupError as exc:
        return error_response(404, str(exc))
    body = await _read_body(request, state.config.max_body)
    headers = [(str(k), v) for k, v in request.headers.items()]  # keys are istr: plain text on disk
    model = Request.model_construct(
        method=request.method, url=f"http://{request.host}{rest}", headers=headers, body=body
    )
    # Matching canonicalises a JSON body: a large one is done off the loop, so that the other
    # streams' chunks keep their times.
    large = len(body) > 256 * 1024
    decision = await asyncio.to_thread(session.decide, model) if large else session.decide(model)
    if isinstance(decision, Miss):
        print(f"llm-replay serve: {decision.message}", file=sys.stderr, flush=True)
        return error_response(404, decision.message, "llm_replay_no_match")
    if isinstance(decision, ResponsePlan):
        settings = session.settings
        return await play(request, decision, arrived, Pace(state.timer, settings.timing, settings.speed))
    upstream = state.upstreams.choose(request.headers.get(UPSTREAM_HEADER), session.settings.upstream)
    assert state.client is not None
    model = model.model_copy(update={"url": upstream + rest})
    return await forward(request, model, state.client, arrived, state.save_later(session))


@web.middleware
async def _errors(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    try:
        return await handler(request)
    except web.HTTPException:
        raise
    except UpstreamRefused as exc:
        return error_response(403, str(exc), "llm_replay_upstream_refused")
    except (FaultSpecError, CassettePathError) as exc:
        return error_response(400, str(exc))
    except ReplayError as exc:
        print(f"llm-replay serve: {exc}", file=sys.stderr, flush=True)
        return error_response(500, f"llm-replay serve: {exc}")
    except ConnectionError:
        # The client hung up: only its own stream ends. aiohttp finds the connection closed
        # when it sends this placeholder and drops it quietly.
        return web.Response()
    except Exception as exc:  # the server outlives any one request's bug
        traceback.print_exc(file=sys.stderr)
        return error_response(500, f"llm-replay serve: internal error {type(exc).__name__}: {exc}")


STATE = web.AppKey("state", ServerState)


def build_app(state: ServerState) -> web.Application:
    """The aiohttp application of one server."""
    app = web.Application(middlewares=[_errors], client_max_size=state.config.max_body)
    app[STATE] = state
    app.add_routes(ControlAPI(state, state.config.token).routes())
    app.router.add_route("*", "/{tail:.*}", _api)
    return app
