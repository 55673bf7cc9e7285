"""The one place that patches, only while a cassette is active.

- httpx2 / httpx: ``Client._transport_for_url`` and ``AsyncClient._transport_for_url``, the
  choice of transport every request of every client passes, whatever the transport (the default
  one, httpx-aiohttp's ``AiohttpTransport`` behind openai's ``DefaultAioHttpClient``, litellm's
  aiohttp transport, a retry or proxy wrapper). The chosen transport is wrapped so the active
  interceptor answers first; in-process transports a test sets on purpose (``MockTransport``,
  ``WSGITransport``, ``ASGITransport``) are returned untouched. ``HTTPTransport.handle_request``
  and ``AsyncHTTPTransport.handle_async_request`` are patched too, for transports used without
  a client. Patching the choice (not ``Client.send``) keeps redirects, auth, cookies, event hooks
  and ``response.elapsed`` in httpx's own hands, one recorded interaction per request on the wire.
- urllib3 (``requests``, botocore): :mod:`replay.transport.urllib3_client`.
- aiohttp: :mod:`replay.transport.aiohttp_client`.
- http.client, sent directly (``urllib.request``, ``httplib2``): ``HTTPConnection.putrequest``
  asks an interceptor that has a ``refuse_direct`` method (one that cannot answer such requests)
  to refuse them; others let them through. Not installed while vcrpy's stubs stand in for
  ``HTTPConnection`` (vcrpy answers those itself).

A request an outer adapter already serves passes the inner ones untouched
(:func:`~replay.transport.interceptor.passing_through`).
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import http.client
import importlib
import sys
import threading
from collections.abc import Awaitable, Callable, Iterator
from typing import TYPE_CHECKING, Any

from .adapters import LIBRARY_NAMES, HttpLib, installed, lib_of
from .drain import settle_drains, settle_drains_async
from .interceptor import passing_through, serve_async, serve_sync

if TYPE_CHECKING:
    from ..timing.base import TimingPolicy
    from .interceptor import Interceptor

__all__ = ["active_interceptor", "import_unpatched", "intercepting", "pop_interceptor", "push_interceptor"]

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
    # Outside the lock: wrapt runs a hook (which takes the lock) under its own lock.
    _patch_late_imports()


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


@contextlib.contextmanager
def intercepting(interceptor: Interceptor, timing: TimingPolicy) -> Iterator[Interceptor]:
    """Push ``interceptor`` and activate its ``timing`` for the block; on the way out it stops
    answering first, then the clock is released.

    Example usage::

        with intercepting(Fixed(plan, timing), timing):
            httpx2.get("https://api.example.com/v1/models")
    """
    push_interceptor(interceptor)
    try:
        timing.activate()
    except BaseException:
        pop_interceptor(interceptor)
        raise
    try:
        yield interceptor
    finally:
        try:
            pop_interceptor(interceptor)
        finally:
            timing.deactivate()


def import_unpatched(module: str) -> None:
    """Import ``module`` with the client libraries' own methods in place, even while a cassette
    is active: a library that keeps what it finds at import as the originals to call (vcrpy's
    stubs do) must not keep llm-replay's wrappers. The lock is not held over the import (a
    late-import hook takes it)."""
    if module in sys.modules:
        return
    with _lock:
        suspended = bool(_stack)
        if suspended:
            _uninstall()
    try:
        importlib.import_module(module)
    finally:
        with _lock:
            if suspended and _stack:
                _install()


def _install() -> None:
    if not any(installed(name) for name in LIBRARY_NAMES):
        from ..errors import ReplayError

        raise ReplayError(
            "Neither httpx2 nor httpx is installed, so there is no HTTP client to record or replay. "
            "Install the SDK under test (it brings its client), or `pip install httpx2`."
        )
    for library in _LIBRARIES:
        _install_library(library)
    _guard_http_client()


def _install_library(library: str) -> None:
    """Patch one client library if it is imported and not patched yet (httpx2's alias_httpx()
    makes httpx the same module: patched once)."""
    if library in _patched:
        return
    if library in LIBRARY_NAMES:
        lib = lib_of(library)
        if lib is not None and not any(sys.modules.get(n) is lib.module for n in _patched):
            _install_lib(lib)
        return
    from . import aiohttp_client, urllib3_client

    install = urllib3_client.install if library == "urllib3" else aiohttp_client.install
    undo = install(active_interceptor)
    if undo:
        _patched.add(library)
        _originals.extend(undo)


def _install_lib(lib: HttpLib) -> None:
    _patched.add(lib.name)
    _patch_choice(lib)
    sync_cls, async_cls = lib.transports
    _originals.append((sync_cls, "handle_request", sync_cls.__dict__["handle_request"]))
    _originals.append((async_cls, "handle_async_request", async_cls.__dict__["handle_async_request"]))
    sync_handler = _sync_handler(lib, sync_cls.__dict__["handle_request"])
    async_handler = _async_handler(lib, async_cls.__dict__["handle_async_request"])
    setattr(sync_cls, "handle_request", sync_handler)  # noqa: B010
    setattr(async_cls, "handle_async_request", async_handler)  # noqa: B010


# The client libraries patched, by the module whose import completes each. One not yet imported
# when a cassette opens is patched when that import finishes, if a cassette is still active then
# (the application imported its SDK inside the block): one hook per module for the whole process
# (wrapt keeps them; they fire once).
_LIBRARIES = {
    "httpx2": "httpx2",
    "httpx": "httpx",
    "urllib3": "urllib3.connectionpool",
    "aiohttp": "aiohttp.client",
}
_hooked: set[str] = set()
_patched: set[str] = set()  # the libraries patched by the current install


def _patch_late_imports() -> None:
    from wrapt import register_post_import_hook

    for library, module in _LIBRARIES.items():
        if module in sys.modules or library in _hooked or not installed(library):
            continue
        _hooked.add(library)
        register_post_import_hook(functools.partial(_imported_late, library), module)


def _imported_late(library: str, _module: object) -> None:
    with _lock:
        if _stack:  # else the next cassette to open patches it
            _install_library(library)


def _guard_http_client() -> None:
    connection_cls = http.client.HTTPConnection
    if connection_cls.__module__ != "http.client":
        return  # vcrpy's stub stands in: vcrpy answers http.client itself
    original = connection_cls.__dict__["putrequest"]
    _originals.append((connection_cls, "putrequest", original))

    def putrequest(self: Any, method: str, url: str, *args: Any, **kwargs: Any) -> None:
        # urllib3's connections inherit this: their requests are answered before a connection
        # is made, and the ones that go out (ignored hosts, recordings) are passing through.
        interceptor = active_interceptor()
        refuse = getattr(interceptor, "refuse_direct", None)
        if refuse is not None and not passing_through():
            refuse(self, method, url)
        original(self, method, url, *args, **kwargs)

    putrequest.__wrapped__ = original  # type: ignore[attr-defined]
    setattr(connection_cls, "putrequest", putrequest)  # noqa: B010


def _uninstall() -> None:
    _patched.clear()
    while _originals:
        cls, name, original = _originals.pop()
        setattr(cls, name, original)


def _sync_handler(lib: HttpLib, original: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
    def handle_request(self: Any, request: Any) -> Any:
        interceptor = active_interceptor()
        if interceptor is None or passing_through():
            return original(self, request)
        return serve_sync(interceptor, lib, request, lambda: original(self, request))

    handle_request.__wrapped__ = original  # type: ignore[attr-defined]
    return handle_request


def _async_handler(
    lib: HttpLib, original: Callable[[Any, Any], Awaitable[Any]]
) -> Callable[[Any, Any], Awaitable[Any]]:
    async def handle_async_request(self: Any, request: Any) -> Any:
        interceptor = active_interceptor()
        if interceptor is None or passing_through():
            return await original(self, request)
        return await serve_async(interceptor, lib, request, lambda: original(self, request))

    handle_async_request.__wrapped__ = original  # type: ignore[attr-defined]
    return handle_async_request


def _in_process(lib: HttpLib) -> tuple[type, ...]:
    names = ("MockTransport", "WSGITransport", "ASGITransport")
    return tuple(getattr(lib.module, n) for n in names if hasattr(lib.module, n))


def _patch_choice(lib: HttpLib) -> None:
    keep = _in_process(lib)
    for client_cls, wrapper in ((lib.module.Client, _SyncChoice), (lib.module.AsyncClient, _AsyncChoice)):
        original = client_cls.__dict__["_transport_for_url"]
        _originals.append((client_cls, "_transport_for_url", original))

        def choose(self: Any, url: Any, _original: Any = original, _wrapper: Any = wrapper) -> Any:
            transport = _original(self, url)
            if active_interceptor() is None or isinstance(transport, keep):
                return transport
            return _wrapper(lib, transport)

        choose.__wrapped__ = original  # type: ignore[attr-defined]
        setattr(client_cls, "_transport_for_url", choose)  # noqa: B010
    _settle_on_close(lib)


def _settle_on_close(lib: HttpLib) -> None:
    """Closing a client waits for the drains still reading its error bodies (replay.drain):
    its pool would otherwise close the connections under them, under load before they ran."""
    sync_cls, async_cls = lib.module.Client, lib.module.AsyncClient
    close, aclose = sync_cls.__dict__["close"], async_cls.__dict__["aclose"]
    _originals.extend([(sync_cls, "close", close), (async_cls, "aclose", aclose)])

    def settled_close(self: Any) -> Any:
        settle_drains()
        return close(self)

    async def settled_aclose(self: Any) -> Any:
        await settle_drains_async()
        return await aclose(self)

    settled_close.__wrapped__ = close  # type: ignore[attr-defined]
    settled_aclose.__wrapped__ = aclose  # type: ignore[attr-defined]
    setattr(sync_cls, "close", settled_close)  # noqa: B010
    setattr(async_cls, "aclose", settled_aclose)  # noqa: B010


class _SyncChoice:
    """The transport a client chose, answered by the active interceptor first."""

    __slots__ = ("inner", "lib")

    def __init__(self, lib: HttpLib, inner: Any) -> None:
        self.lib, self.inner = lib, inner

    def handle_request(self, request: Any) -> Any:
        interceptor = active_interceptor()
        if interceptor is None or passing_through():
            return self.inner.handle_request(request)
        return serve_sync(interceptor, self.lib, request, lambda: self.inner.handle_request(request))


class _AsyncChoice(_SyncChoice):
    __slots__ = ()

    async def handle_async_request(self, request: Any) -> Any:
        interceptor = active_interceptor()
        if interceptor is None or passing_through():
            return await self.inner.handle_async_request(request)
        return await serve_async(
            interceptor, self.lib, request, lambda: self.inner.handle_async_request(request)
        )
