"""Shared fixtures: the local LLM server, SDK client factories, and a network guard."""

from __future__ import annotations

import importlib
import os
import pkgutil
import socket
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

# Loaded before any test: pytester's in-process runs remove from sys.modules what they imported
# first, and a library imported again is a second copy. httpx2 maps httpcore2's exceptions by
# the classes it saw first, so after a second httpcore2 a disconnect escapes unmapped (and
# records as an early close). Real processes import a library once; so must this one.
import aiohttp  # noqa: F401
import httpcore  # noqa: F401
import httpcore2  # noqa: F401
import httpx  # noqa: F401
import httpx2  # noqa: F401
import openai  # noqa: F401
import pytest
import requests  # noqa: F401
from llm_server import LLMServer, Script

import replay
import replay.chat
import replay.faults
from replay import pytest_support

# Likewise llm-replay's own modules, which load lazily: a module first loaded after a pytester
# fixture took its snapshot of sys.modules is dropped when that test ends, and the next load is
# a second copy beside objects that kept the first (a second Variant class, a second neutral
# Text that isinstance no longer recognises). Load the public names and every chat module now.
for _module in (replay, replay.faults, pytest_support):
    for _name in _module.__all__:
        getattr(_module, _name)
for _found in pkgutil.walk_packages(replay.chat.__path__, "replay.chat."):
    importlib.import_module(_found.name)

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parent.parent
# The real recordings live outside the repository, in ../shared (never copied in). Point
# LLM_REPLAY_SHARED elsewhere if needed. Where the folder is absent the tests that need it skip,
# except under CI (CI=true), where its absence is an error.
SHARED = Path(os.environ.get("LLM_REPLAY_SHARED") or ROOT.parent / "shared")
REAL_CASSETTES = SHARED / "real-cassettes"


def require_real_cassettes(*, module_level: bool = False) -> Path:
    """The real-cassettes folder, or skip (fail under CI) with the reason.

    ``module_level=True`` is for a module that needs the folder to be collected at all (its
    parameters come from it): it skips the whole module, and the rest of the run goes on.
    """
    if REAL_CASSETTES.is_dir():
        return REAL_CASSETTES
    reason = f"{REAL_CASSETTES} is absent (set LLM_REPLAY_SHARED to the folder holding real-cassettes/)"
    if os.environ.get("CI"):
        pytest.fail(f"CI must have the real recordings: {reason}")
    pytest.skip(reason, allow_module_level=module_level)


@pytest.fixture
def script() -> Script:
    """Fast timing for tests where timing is not the point (override per test)."""
    return Script(head_delay=0.02, first_delay=0.01, gaps=[0.005, 0.01, 0.015])


@pytest.fixture
def llm_server(script: Script) -> Iterator[LLMServer]:
    """A real HTTP server on 127.0.0.1 speaking the OpenAI and Anthropic APIs."""
    server = LLMServer(script)
    server.start()
    try:
        yield server
    finally:
        server.stop()


class NetworkGuard:
    """Fails any socket connection while enabled: replay must never open one."""

    def __init__(self) -> None:
        self.attempts: list[Any] = []


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> NetworkGuard:
    """Refuse every socket connect (and record the attempt) for the rest of the test."""
    guard = NetworkGuard()

    def refuse(self: socket.socket, address: Any, *args: Any) -> Any:
        guard.attempts.append(address)
        raise OSError(f"network access during replay: connect({address!r})")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    return guard


Factory = Callable[..., Any]


_THREAD_START = threading.Thread.start


@pytest.fixture(autouse=True)
def _no_timeline_outlives_its_test() -> Iterator[None]:
    """A virtual timeline left active (Thread.start still patched) would make later tests' threads
    join it; fail the test that leaked it, not the ones after."""
    yield
    if threading.Thread.start is _THREAD_START:
        return
    from replay.timing.clock import VirtualClock

    clock = VirtualClock._current
    while clock is not None and clock.active:  # stop it, so only this test fails
        clock.release()
    pytest.fail("this test left a virtual timeline active (Thread.start still patched)")
