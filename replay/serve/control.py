"""The control API under ``/__replay/``: sessions for parallel tests sharing one server.

- ``GET    /__replay/``                      the server: root, mode, upstreams, sessions
- ``POST   /__replay/sessions``              open a session: ``{"cassette": "chat.yaml",
  "record_mode": "none", "timing": "real", "speed": 1.0, "faults": [...],
  "allow_playback_repeats": false, "upstream": null, "as_api": null}`` -> ``{"id", "base_url", ...}``
- ``GET    /__replay/sessions/{id}``         what was played, what is unused, what was recorded
- ``POST   /__replay/sessions/{id}/faults``  add faults (a list, or one object) from now on
- ``DELETE /__replay/sessions/{id}``         close it; the answer is its final report

A client points its SDK at the session's ``base_url`` (``http://HOST:PORT/s/{id}``). With a
token (``--token``), every control request must carry ``Authorization: Bearer TOKEN`` (or
``x-replay-token``); the replayed API itself needs none.
"""

from __future__ import annotations

import asyncio
import hmac
import json
from collections.abc import Awaitable, Callable
from typing import Any, Literal, Protocol

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .engine_link import parse_as_api, parse_record_mode, parse_timing
from .fault_spec import FaultSpecError, parse_faults
from .paths import CassettePathError
from .session import ServeSession, SessionRegistry
from .upstreams import UpstreamRefused, Upstreams

__all__ = ["CONTROL_PREFIX", "ControlAPI", "OpenSession", "ServerView", "error_response"]

CONTROL_PREFIX = "/__replay"


class OpenSession(BaseModel):
    """The body of ``POST /__replay/sessions``."""

    model_config = ConfigDict(extra="forbid")

    cassette: str | None = None
    record_mode: Literal["none", "once", "new_episodes", "all", "rewrite"] | None = None
    timing: Literal["real", "instant"] | None = None
    speed: float | None = Field(default=None, gt=0)
    faults: list[dict[str, Any]] | dict[str, Any] | None = None
    allow_playback_repeats: bool | None = None
    upstream: str | None = None
    as_api: str | list[str] | None = None


def error_response(status: int, message: str, kind: str = "llm_replay_error") -> web.Response:
    """An error shaped like the providers' (``{"error": {"message", "type"}}``), so an SDK
    shows its message."""
    return web.json_response({"error": {"message": message, "type": kind}}, status=status)


def _authorized(request: web.Request, token: str | None) -> bool:
    if token is None:
        return True
    given = request.headers.get("x-replay-token")
    auth = request.headers.get("authorization", "")
    if given is None and auth.lower().startswith("bearer "):
        given = auth[7:].strip()
    return given is not None and hmac.compare_digest(given.encode(), token.encode())


async def _json_body(request: web.Request) -> Any:
    raw = await request.read()
    if not raw.strip():
        return {}
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise web.HTTPBadRequest(
            text=json.dumps(
                {"error": {"message": f"The body is not JSON: {exc}", "type": "llm_replay_error"}}
            ),
            content_type="application/json",
        ) from None


class ServerView(Protocol):
    """What the control API needs of the server (its state lives in :mod:`replay.serve.app`)."""

    registry: SessionRegistry
    upstreams: Upstreams
    base_url: list[str]

    def describe(self) -> dict[str, Any]: ...

    async def flush_saves(self) -> None: ...


Handler = Callable[[web.Request], Awaitable[web.Response]]


class ControlAPI:
    """The handlers of ``/__replay/``; every one checks the token first."""

    def __init__(self, server: ServerView, token: str | None) -> None:
        self.server = server
        self.registry = server.registry
        self.token = token

    def routes(self) -> list[web.RouteDef]:
        p = CONTROL_PREFIX
        return [
            web.get(p, self._guarded(self.info)),
            web.get(p + "/", self._guarded(self.info)),
            web.post(p + "/sessions", self._guarded(self.open_session)),
            web.get(p + "/sessions/{sid}", self._guarded(self.show)),
            web.post(p + "/sessions/{sid}/faults", self._guarded(self.add_faults)),
            web.delete(p + "/sessions/{sid}", self._guarded(self.close)),
        ]

    def _guarded(self, handler: Handler) -> Handler:
        async def guarded(request: web.Request) -> web.Response:
            if not _authorized(request, self.token):
                return error_response(
                    401, "The control API needs the server's token: send 'Authorization: Bearer TOKEN'."
                )
            return await handler(request)

        return guarded

    def _session(self, request: web.Request) -> ServeSession:
        session = self.registry.get(request.match_info["sid"])
        if session is None:
            raise _not_found(request)
        return session

    async def info(self, request: web.Request) -> web.Response:
        return web.json_response(self.server.describe())

    async def open_session(self, request: web.Request) -> web.Response:
        try:
            spec = OpenSession.model_validate(await _json_body(request))
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(map(str, e['loc'])) or 'body'}: {e['msg']}" for e in exc.errors()
            )
            return error_response(400, f"Bad session request: {problems}.")
        try:
            settings = self.registry.settings(
                record_mode=parse_record_mode(spec.record_mode) if spec.record_mode else None,
                timing=parse_timing(spec.timing) if spec.timing else None,
                speed=spec.speed,
                allow_playback_repeats=spec.allow_playback_repeats,
                upstream=self.server.upstreams.check(spec.upstream) if spec.upstream else None,
                faults=tuple(parse_faults(spec.faults)) if spec.faults is not None else None,
                as_api=parse_as_api(spec.as_api) if spec.as_api is not None else None,
            )
            session = await asyncio.to_thread(self.registry.open, spec.cassette, settings)
        except (CassettePathError, FaultSpecError, UpstreamRefused, ValueError) as exc:
            return error_response(400, str(exc))
        report = session.report()
        report["base_url"] = f"{self.server.base_url[0]}/s/{session.id}"
        return web.json_response(report, status=201)

    async def show(self, request: web.Request) -> web.Response:
        return web.json_response(self._session(request).report())

    async def add_faults(self, request: web.Request) -> web.Response:
        session = self._session(request)
        try:
            for fault in parse_faults(await _json_body(request)):
                session.faults.add(fault)
        except FaultSpecError as exc:
            return error_response(400, str(exc))
        return web.json_response(session.report())

    async def close(self, request: web.Request) -> web.Response:
        session = self.registry.close(request.match_info["sid"])
        if session is None:
            raise _not_found(request)
        await self.server.flush_saves()
        return web.json_response(session.report())


def _not_found(request: web.Request) -> web.HTTPNotFound:
    message = f"No open session {request.match_info['sid']!r} (closed, or never opened)."
    body = json.dumps({"error": {"message": message, "type": "llm_replay_error"}})
    return web.HTTPNotFound(text=body, content_type="application/json")
