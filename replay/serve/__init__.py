"""``llm-replay serve``: cassettes over real sockets, for any language and any process.

Start it with ``llm-replay serve PATH`` (or :class:`ReplayServer` in an event loop, or
:class:`ServerProcess` from a test), point any SDK's base URL at the URL it prints, and the
recorded responses stream back chunk by chunk at their recorded offsets, with faults applied.
See :mod:`replay.serve.app` for the URL layout and :mod:`replay.serve.control` for the control
API. The server needs aiohttp (``pip install 'llm-replay[serve]'``); :class:`ServerProcess`
does not, so the names that need it are imported on first use (and the settings, which bring
the engine: the pytest plugin imports :class:`ServerProcess` at start-up, at no cost).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..lazy import lazy_attributes
from .process import ServerProcess

if TYPE_CHECKING:
    from .app import ServeConfig
    from .server import ReplayServer, run_forever
    from .session import SessionSettings

__all__ = ["ReplayServer", "ServeConfig", "ServerProcess", "SessionSettings", "run_forever"]

_LAZY = {
    "ServeConfig": "app",
    "ReplayServer": "server",
    "run_forever": "server",
    "SessionSettings": "session",
}


_load = lazy_attributes(__name__, _LAZY, globals())


def __getattr__(name: str) -> Any:
    try:
        return _load(name)
    except ModuleNotFoundError as exc:
        if exc.name != "aiohttp":
            raise
        raise ModuleNotFoundError(
            "llm-replay serve needs aiohttp: pip install 'llm-replay[serve]'", name="aiohttp"
        ) from None
