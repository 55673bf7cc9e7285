"""Starting and stopping a server: in a running event loop, or as the blocking CLI command."""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from collections.abc import Callable

import aiohttp
from aiohttp import web

from .app import ServeConfig, ServerState, build_app
from .timing import reduce_timer_slack

__all__ = ["ReplayServer", "run_forever"]


class ReplayServer:
    """An ``llm-replay serve`` server inside the caller's event loop.

    Example usage::

        server = ReplayServer(ServeConfig(Path("cassettes/chat.yaml")))
        url = await server.start()        # "http://127.0.0.1:PORT"
        ...
        await server.stop()
    """

    def __init__(self, config: ServeConfig) -> None:
        self.config = config
        self.state = ServerState(config)
        self._runner: web.AppRunner | None = None
        self.url = ""

    async def start(self) -> str:
        """Listen and return the base URL (with the port chosen when the config's is 0)."""
        state = self.state
        if state.file_mode:
            # Read the served file now: a broken cassette stops the start with its error.
            await asyncio.to_thread(state.registry.default)
        state.client = aiohttp.ClientSession(
            auto_decompress=False,  # the client gets the upstream's bytes as they were sent
            timeout=aiohttp.ClientTimeout(total=None, sock_connect=30, sock_read=600),
            skip_auto_headers=("User-Agent", "Accept-Encoding"),
        )
        runner = web.AppRunner(
            build_app(state),
            handle_signals=False,
            access_log=None,
            # A client that hangs up cancels its handler: a stalled stream costs nothing after.
            handler_cancellation=True,
            max_field_size=self.config.max_field,
            max_line_size=self.config.max_field,
            shutdown_timeout=2.0,
        )
        await runner.setup()
        site = web.TCPSite(runner, self.config.host, self.config.port, reuse_address=True)
        await site.start()
        self._runner = runner
        port = runner.addresses[0][1]
        host = self.config.host
        shown = f"[{host}]" if ":" in host else host
        self.url = f"http://{shown}:{port}"
        state.base_url[0] = self.url
        return self.url

    async def stop(self) -> None:
        """Stop listening, end open streams, and finish writing recordings."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        await self.state.flush_saves()
        if self.state.client is not None:
            await self.state.client.close()


class _OneLine(logging.Filter):
    """aiohttp logs a malformed request with a traceback; the 400 it sent already names the
    problem, so the server's log gets one line."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and record.exc_info[1] is not None:
            detail = " ".join(str(record.exc_info[1]).split())
            record.msg = f"{record.getMessage()}: {detail[:300]}"
            record.args = ()
            record.exc_info = None
        return True


def _quiet_logs() -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("llm-replay serve: %(message)s"))
    handler.addFilter(_OneLine())
    for name in ("aiohttp.server", "aiohttp.web"):
        log = logging.getLogger(name)
        log.addHandler(handler)
        log.propagate = False


def run_forever(config: ServeConfig, announce: Callable[[str], None]) -> None:
    """Serve until SIGINT or SIGTERM; ``announce`` gets the base URL once listening."""
    _quiet_logs()

    async def main() -> None:
        reduce_timer_slack()
        server = ReplayServer(config)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            if sys.platform != "win32":
                loop.add_signal_handler(sig, stop.set)
        url = await server.start()
        try:
            announce(url)
            await stop.wait()
        finally:
            await server.stop()

    asyncio.run(main())
