"""``llm-replay serve``: cassettes over real sockets, for any language and any process.

Start it with ``llm-replay serve PATH`` (or :class:`ReplayServer` in an event loop, or
:class:`ServerProcess` from a test), point any SDK's base URL at the URL it prints, and the
recorded responses stream back chunk by chunk at their recorded offsets, with faults applied.
See :mod:`replay.serve.app` for the URL layout and :mod:`replay.serve.control` for the control
API.
"""

from __future__ import annotations

from .app import ServeConfig
from .process import ServerProcess
from .server import ReplayServer, run_forever
from .session import SessionSettings

__all__ = ["ReplayServer", "ServeConfig", "ServerProcess", "SessionSettings", "run_forever"]
