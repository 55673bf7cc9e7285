"""Fixtures that start ``llm-replay serve``, for tests that spawn other processes (a CLI, a
service, a Node or Go front end) which cannot be patched in-process.

- ``replay_serve``: a factory for this test; ``url = replay_serve()`` serves the test's default
  cassette (``cassettes/<module>/<test>.yaml``), ``replay_serve(path, faults=[...])`` another.
- ``replay_server``: one server for the whole session on ``--replay-serve-dir`` (default
  ``cassettes/`` under the rootdir); address a cassette as ``f"{replay_server}/c/<name>.yaml"``.

Record mode, timing and speed come from ``--replay-record-mode``, ``--replay-timing`` (``real``
unless ``instant``: a server has no virtual clock) and ``--replay-speed``; record mode forwards
only to ``--replay-serve-upstream`` URLs.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from replay.serve import ServerProcess

from .options import add_options, value

__all__ = ["pytest_addoption", "replay_serve", "replay_server"]


def pytest_addoption(parser: pytest.Parser) -> None:
    add_options(
        parser,
        value(
            "--replay-serve-dir",
            "Directory the session-wide replay_server fixture serves (default: cassettes/ in the rootdir).",
            metavar="DIR",
        ),
        value(
            "--replay-serve-upstream",
            "Base URL the replay_serve/replay_server fixtures may forward to when recording (repeatable).",
            metavar="URL",
            repeat=True,
        ),
    )


def _server_args(
    config: pytest.Config, record_mode: str | None, faults: Sequence[dict[str, Any]] | None
) -> list[str]:
    args: list[str] = []
    mode = record_mode or config.getoption("--replay-record-mode", None) or "none"
    args += ["--record-mode", mode]
    if config.getoption("--replay-timing", None) == "instant":
        args += ["--timing", "instant"]
    speed = config.getoption("--replay-speed", None)
    if speed is not None:
        args += ["--speed", str(speed)]
    for url in config.getoption("--replay-serve-upstream", []) or []:
        args += ["--upstream", url]
    if faults:
        args += ["--faults", json.dumps(list(faults))]
    return args


@pytest.fixture
def replay_serve(request: pytest.FixtureRequest) -> Iterator[Callable[..., str]]:
    """Start ``llm-replay serve`` for this test and return its base URL (stopped at teardown)."""
    from .markers import default_cassette_path

    started: list[ServerProcess] = []

    def start(
        path: str | Path | None = None,
        *,
        record_mode: str | None = None,
        faults: Sequence[dict[str, Any]] | None = None,
        args: Sequence[str] = (),
    ) -> str:
        node = request.node
        assert isinstance(node, pytest.Item)
        target = Path(path) if path is not None else default_cassette_path(node)
        server = ServerProcess(target, [*_server_args(request.config, record_mode, faults), *args])
        server.start()
        started.append(server)
        return server.url

    try:
        yield start
    finally:
        for server in started:
            server.stop()


@pytest.fixture(scope="session")
def replay_server(pytestconfig: pytest.Config) -> Iterator[str]:
    """One ``llm-replay serve`` on ``--replay-serve-dir`` for the session; yields its base URL."""
    folder = pytestconfig.getoption("--replay-serve-dir", None) or pytestconfig.rootpath / "cassettes"
    with ServerProcess(folder, _server_args(pytestconfig, None, None)) as server:
        yield server.url
