"""What every client-library adapter supplies, whatever the library (httpx, urllib3, aiohttp).

:class:`ClientLib` is the shape :mod:`replay.transport.interceptor` and the engine rely on; each
adapter module implements it for its library, so library differences never reach the engine.
:class:`WireRequest` is the request as the non-httpx adapters see it (they build it from the
library's own arguments); :class:`WireLib` implements the request half of :class:`ClientLib` over it.

Example, the request an adapter hands to :func:`~replay.transport.interceptor.serve_sync`::

    raw = WireRequest("POST", "http://127.0.0.1:8000/v1/chat", [("content-type", "application/json")],
                      b"{}", read_timeout=60.0)
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import urlsplit

from ..model.cassette import Headers, Request
from .streams import ChunkPlayer, LiveBody, PendingRecording

__all__ = ["BodyRecorder", "ClientLib", "WireLib", "WireRequest"]


class BodyRecorder(Protocol):
    """The recording half of :class:`ClientLib`. Adapters subclass it: what the engine hands
    over for a live body is bundled here, once, and each adapter only taps its library's body."""

    __slots__ = ()

    def attach_recording(
        self,
        response: Any,
        pending: PendingRecording,
        on_chunk: Callable[[float], None] | None,
        on_drain: Callable[[Any], None] | None = None,
    ) -> Any:
        """``response``, its body passed through into ``pending`` as the application reads it."""
        return self.tap_body(response, LiveBody(pending, on_chunk, on_drain))

    def tap_body(self, response: Any, body: LiveBody) -> Any:
        """``response`` with its body reporting each read to ``body``, unchanged and undelayed."""
        ...


class ClientLib(BodyRecorder, Protocol):
    """One HTTP client library, as record and replay need it."""

    @property
    def name(self) -> str: ...

    def request_key(self, request: Any, body: bytes) -> tuple[str, str, bytes, str | None]: ...
    def request_model(self, request: Any, body: bytes) -> Request: ...
    def request_body(self, request: Any) -> bytes: ...
    async def request_body_async(self, request: Any) -> bytes: ...
    def request_host(self, request: Any) -> str: ...
    def replayed_response(self, plan: Any, player: ChunkPlayer, request: Any) -> Any: ...
    def head_error(self, kind: str, message: str, request: Any) -> Exception: ...
    def transport_error(self, kind: str, message: str, request: Any) -> Exception: ...
    def error_kind(self, exc: BaseException) -> str | None: ...
    def response_head(self, response: Any) -> tuple[int, Headers]: ...


@dataclass(slots=True)
class WireRequest:
    """A request of a non-httpx client, reduced to what matching and recording need."""

    method: str
    url: str
    headers: Headers
    body: bytes
    read_timeout: float | None = None
    extensions: dict[str, Any] = field(init=False)
    native: Any = field(default=None, repr=False)  # the library's own request object, if any

    def __post_init__(self) -> None:
        # The fault injector reads the read timeout where httpx keeps it.
        self.extensions = {"timeout": {"read": self.read_timeout}}

    @property
    def host(self) -> str:
        return urlsplit(self.url).hostname or ""

    def header(self, name: str) -> str | None:
        lower = name.lower()
        return next((v for k, v in self.headers if k.lower() == lower), None)


class WireLib(BodyRecorder):
    """The request half of :class:`ClientLib` for adapters that build :class:`WireRequest`."""

    name = "wire"

    def request_key(self, request: WireRequest, body: bytes) -> tuple[str, str, bytes, str | None]:
        return (request.method, request.url, body, request.header("content-type"))

    def request_model(self, request: WireRequest, body: bytes) -> Request:
        return Request.model_construct(
            method=request.method, url=request.url, headers=list(request.headers), body=body
        )

    def request_body(self, request: WireRequest) -> bytes:
        return request.body

    async def request_body_async(self, request: WireRequest) -> bytes:
        return request.body

    def request_host(self, request: WireRequest) -> str:
        return request.host

    def head_error(self, kind: str, message: str, request: Any) -> Exception:
        return self.transport_error(kind, message, request)

    @abstractmethod
    def transport_error(self, kind: str, message: str, request: Any) -> Exception:
        """The library's own exception for a recorded stream ending ``kind`` (read_error...)."""
