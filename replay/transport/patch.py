"""The one place that patches: ``HTTPTransport.handle_request`` and
``AsyncHTTPTransport.handle_async_request`` of httpx2 and httpx, only while a cassette is active.

Patching the public transport classes (not ``Client.send``) catches every client the
application builds itself, including those created before the cassette opened and those the
SDKs build internally; tests can still spy on ``Client.send``. Custom transports (an SDK's
aiohttp client, a ``MockTransport``) are left alone.
"""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from .adapters import HttpLib, available_libs
from .interceptor import serve_async, serve_sync

if TYPE_CHECKING:
    from .interceptor import Interceptor

__all__ = ["active_interceptor", "pop_interceptor", "push_interceptor"]

_lock = threading.RLock()
_stack: list[Interceptor] = []
_originals: list[tuple[type, str, Any]] = []
# The interceptors opened in this context (thread, asyncio task). Two threads that each open a
# cassette must each reach their own: a process-wide "innermost" would send one thread's request
# to the other's cassette, which may already have been saved (the recording would be lost).
_opened_here: contextvars.ContextVar[tuple[Interceptor, ...]] = contextvars.ContextVar(
    "llm_replay_interceptors", default=()
)


def active_interceptor() -> Interceptor | None:
    """The interceptor that answers a request made here, if any.

    The innermost one this context (thread or task) opened and has not closed; a context that
    opened none (a thread the application starts inside a cassette block, a pool worker) gets
    the most recently opened one in the process, as with vcrpy.
    """
    for interceptor in reversed(_opened_here.get()):
        if interceptor in _stack:
            return interceptor
    return _stack[-1] if _stack else None


def push_interceptor(interceptor: Interceptor) -> None:
    """Make ``interceptor`` answer every request (patching the clients if none was active)."""
    with _lock:
        if not _stack:
            _install()
        _stack.append(interceptor)
    _opened_here.set((*_opened_here.get(), interceptor))


def pop_interceptor(interceptor: Interceptor) -> None:
    """Remove ``interceptor``; the clients are unpatched when the last one goes."""
    with _lock:
        if interceptor in _stack:
            _stack.remove(interceptor)
        if not _stack:
            _uninstall()
    here = _opened_here.get()
    if interceptor in here:
        _opened_here.set(tuple(i for i in here if i is not interceptor))


def _install() -> None:
    libs = available_libs()
    if not libs:
        from ..errors import ReplayError

        raise ReplayError(
            "Neither httpx2 nor httpx is installed, so there is no HTTP client to record or replay. "
            "Install the SDK under test (it brings its client), or `pip install httpx2`."
        )
    for lib in libs:
        sync_cls, async_cls = lib.transports
        _originals.append((sync_cls, "handle_request", sync_cls.__dict__["handle_request"]))
        _originals.append((async_cls, "handle_async_request", async_cls.__dict__["handle_async_request"]))
        sync_handler = _sync_handler(lib, sync_cls.__dict__["handle_request"])
        async_handler = _async_handler(lib, async_cls.__dict__["handle_async_request"])
        setattr(sync_cls, "handle_request", sync_handler)  # noqa: B010
        setattr(async_cls, "handle_async_request", async_handler)  # noqa: B010


def _uninstall() -> None:
    while _originals:
        cls, name, original = _originals.pop()
        setattr(cls, name, original)


def _sync_handler(lib: HttpLib, original: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
    def handle_request(self: Any, request: Any) -> Any:
        interceptor = active_interceptor()
        if interceptor is None:
            return original(self, request)
        return serve_sync(interceptor, lib, request, lambda: original(self, request))

    handle_request.__wrapped__ = original  # type: ignore[attr-defined]
    return handle_request


def _async_handler(
    lib: HttpLib, original: Callable[[Any, Any], Awaitable[Any]]
) -> Callable[[Any, Any], Awaitable[Any]]:
    async def handle_async_request(self: Any, request: Any) -> Any:
        interceptor = active_interceptor()
        if interceptor is None:
            return await original(self, request)
        return await serve_async(interceptor, lib, request, lambda: original(self, request))

    handle_async_request.__wrapped__ = original  # type: ignore[attr-defined]
    return handle_async_request
