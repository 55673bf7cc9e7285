"""pytest-recording's interface, served by llm-replay when pytest-recording itself is absent.

Registered by :mod:`replay_pytest.plugin` only when the ``pytest-recording`` distribution is not
installed, or its plugin is disabled (``-p no:recording``); with pytest-recording active this
module is never loaded, so the two never clash. It offers what suites written for
pytest-recording use, with its semantics:

- markers ``vcr`` (bare, extra cassette paths, vcrpy kwargs), ``block_network``,
  ``default_cassette``, ``allowed_hosts``; the hook ``pytest_recording_configure(config, vcr)``;
- fixtures ``vcr`` (the vcrpy ``Cassette``), ``vcr_config`` (override at any level: the nearest
  definition wins), ``vcr_cassette_dir``, ``default_cassette_name``, ``record_mode``,
  ``disable_recording``, ``allowed_hosts``, ``vcr_markers``, ``block_network``;
- options ``--record-mode`` (default ``none``; ``rewrite`` too), ``--block-network``,
  ``--allowed-hosts``, ``--disable-recording``.

Cassettes live at ``<test dir>/cassettes/<module>/<[Class.]test>.yaml``. Matching, record modes
and filters are vcrpy's own (:mod:`replay.vcr.bridge`); httpx2/httpx traffic is intercepted below
``Client.send`` and replayed chunk by chunk. Replay timing is ``instant`` on the real clock, as
with vcrpy, unless ``--replay-timing`` (or a ``timing`` key in ``vcr_config``/the marker) asks for
``virtual`` or ``real``.
"""

from __future__ import annotations

import copy
import hashlib
import os
import re
import socket
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import pytest

from replay import pytest_support

if TYPE_CHECKING:
    from replay.pytest_support import SyntheticTiming

from .options import add_options, flag, value
from .recording_engines import VCR_ENGINES, CassetteSpec, engine, native_playback, vcrpy_cassette

__all__ = [
    "RECORD_MODES",
    "allowed_hosts",
    "block_network",
    "default_cassette_name",
    "disable_recording",
    "record_mode",
    "vcr",
    "vcr_cassette_dir",
    "vcr_config",
    "vcr_markers",
]

RECORD_MODES = ("once", "new_episodes", "none", "all", "rewrite")
# Keys of vcr_config / the vcr marker that llm-replay reads and vcrpy never sees.
_OWN_KEYS = ("timing", "speed", "synthetic_timing", "allowed_hosts")
try:
    _MAX_NAME = os.pathconf(".", "PC_NAME_MAX")
except (AttributeError, ValueError, OSError):
    _MAX_NAME = 255


# -- hooks -----------------------------------------------------------------------------------


class _Hooks:
    """The hook pytest-recording declares, so conftests that implement it keep working."""

    @pytest.hookspec
    def pytest_recording_configure(self, config: pytest.Config, vcr: Any) -> None:
        """Configure the ``vcr.VCR`` instance (register matchers, persisters...) before use."""


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    pluginmanager.add_hookspecs(_Hooks)


def pytest_addoption(parser: pytest.Parser) -> None:
    # pytest-recording's own options, words and defaults as it has them.
    add_options(
        parser,
        value("--record-mode", 'VCR.py record mode. Default to "none".', choices=RECORD_MODES),
        flag("--block-network", "Block network access except for VCR recording.", default=False),
        value(
            "--allowed-hosts",
            "List of regexes, separated by comma, to match hosts to where connection must be allowed.",
        ),
        flag("--disable-recording", "Disable VCR.py integration.", default=False),
        value(
            "--replay-vcr-engine",
            "Who replays vcr-marked tests: auto (default: llm-replay natively when the vcrpy "
            "settings allow, else vcrpy's Cassette) or vcrpy (always vcrpy's Cassette and stubs).",
            choices=VCR_ENGINES,
        ),
        group=("recording", "pytest-recording interface (served by llm-replay)"),
    )
    parser.addini("replay_vcr_engine", "Default for --replay-vcr-engine (auto or vcrpy).", default="auto")


def pytest_configure(config: pytest.Config) -> None:
    engine(config)  # a bad replay_vcr_engine stops the session before any test runs
    for line in (
        "vcr(*extra_cassettes, **vcr_kwargs): record/replay this test's HTTP traffic with a vcrpy cassette.",
        "block_network(allowed_hosts=None): block network access except for VCR recording.",
        "default_cassette(name): override the default cassette name.",
        "allowed_hosts(hosts): list of regexes to match hosts to where connection must be allowed.",
    ):
        config.addinivalue_line("markers", line)


# -- network blocking --------------------------------------------------------------------------


def _host_allowed(host: Any, allowed: list[str] | None) -> bool:
    if not allowed:
        return False
    text = host.decode() if isinstance(host, (bytes, bytearray)) else str(host)
    return re.match("(" + ")|(".join(allowed) + ")", text) is not None


class _NetworkBlock:
    """Refuses socket connections except to ``allowed`` host regexes (pytest-recording's rule)."""

    def __init__(self, allowed: list[str] | None) -> None:
        self.allowed = allowed
        self._saved: list[tuple[str, Any]] = []

    def _guard(self, original: Callable[..., Any]) -> Callable[..., Any]:
        allowed = self.allowed

        def guard(sock: socket.socket, address: Any, *args: Any, **kwargs: Any) -> Any:
            host: Any = ""
            if sock.family in (socket.AF_INET, socket.AF_INET6):
                host = address[0]
            elif sock.family == getattr(socket, "AF_UNIX", None):
                host = address
            if _host_allowed(host, allowed):
                return original(sock, address, *args, **kwargs)
            raise RuntimeError(f"Network is disabled for host {host!r}")

        return guard

    def __enter__(self) -> None:
        for name in ("connect", "connect_ex"):
            original = getattr(socket.socket, name)
            self._saved.append((name, original))
            setattr(socket.socket, name, self._guard(original))

    def __exit__(self, *exc: object) -> None:
        while self._saved:
            name, original = self._saved.pop()
            setattr(socket.socket, name, original)


# -- fixtures ----------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def record_mode(request: pytest.FixtureRequest) -> str:
    """The ``--record-mode`` option, ``none`` when not given (replay only)."""
    return str(request.config.getoption("--record-mode") or "none")


@pytest.fixture(scope="session")
def disable_recording(request: pytest.FixtureRequest) -> bool:
    """Whether ``--disable-recording`` turned the vcr integration off."""
    return bool(request.config.getoption("--disable-recording"))


@pytest.fixture
def vcr_config() -> dict[str, Any]:
    """vcrpy settings shared by the tests in scope; override it in a conftest, module or class."""
    return {}


@pytest.fixture
def allowed_hosts(request: pytest.FixtureRequest) -> list[str] | None:
    """Host regexes allowed through a network block: marker, then option, then ``vcr_config``."""
    marker = request.node.get_closest_marker("block_network")
    config = request.getfixturevalue("vcr_config")
    hosts = (
        (marker.kwargs.get("allowed_hosts") if marker is not None else None)
        or request.config.getoption("--allowed-hosts")
        or config.get("allowed_hosts")
    )
    if isinstance(hosts, str):
        hosts = hosts.split(",")
    return list(hosts) if hosts else None


@pytest.fixture
def vcr_markers(request: pytest.FixtureRequest) -> list[pytest.Mark]:
    """The test's ``vcr`` markers, nearest first."""
    return list(request.node.iter_markers(name="vcr"))


def _merge(config: dict[str, Any], markers: list[pytest.Mark]) -> dict[str, Any]:
    # Nearest wins: apply from the farthest marker (module) to the nearest (function).
    merged = copy.deepcopy(config)
    for marker in reversed(markers):
        merged.update(marker.kwargs)
    return merged


@pytest.fixture(autouse=True)
def block_network(
    request: pytest.FixtureRequest, record_mode: str, vcr_markers: list[pytest.Mark]
) -> Iterator[None]:
    """Block the network under ``--block-network``/``block_network``, except while recording."""
    marker = request.node.get_closest_marker("block_network")
    if marker is not None and (marker.args or set(marker.kwargs) - {"allowed_hosts"}):
        raise pytest.UsageError(
            f"{request.node.nodeid}: Invalid arguments to `block_network`. It accepts only the keyword "
            f"argument `allowed_hosts`. Got args: {marker.args!r}; kwargs: {marker.kwargs!r}"
        )
    blocking = marker is not None or request.config.getoption("--block-network")
    if blocking and vcr_markers and request.config.getoption("--record-mode") is None:
        merged = _merge(request.getfixturevalue("vcr_config"), vcr_markers)
        record_mode = merged.get("record_mode", "none")
    if blocking and (not vcr_markers or record_mode == "none"):
        with _NetworkBlock(request.getfixturevalue("allowed_hosts")):
            yield
    else:
        yield


@pytest.fixture(scope="module")
def vcr_cassette_dir(request: pytest.FixtureRequest) -> str:
    """``<test dir>/cassettes/<test module>``: one folder per module, so names never collide."""
    path = request.node.path
    return os.path.join(path.parent, "cassettes", path.stem)


@pytest.fixture
def default_cassette_name(request: pytest.FixtureRequest) -> str:
    """``[Class.]test_name`` with characters that file names cannot hold replaced by ``-``."""
    marker = request.node.get_closest_marker("default_cassette")
    if marker is not None:
        if not marker.args:
            raise pytest.UsageError(
                f"{request.node.nodeid}: pass the cassette name to @pytest.mark.default_cassette('name')"
            )
        return str(marker.args[0])
    owner = request.cls
    name = f"{owner.__name__}.{request.node.name}" if owner is not None else request.node.name
    for ch in "<>?%*:|\"'/\\":
        name = name.replace(ch, "-")
    return name


def _timing_settings(merged: dict[str, Any], config: pytest.Config) -> tuple[str, float, SyntheticTiming]:
    options = config.option
    timing = getattr(options, "replay_timing", None) or merged.get("timing") or "instant"
    speed = getattr(options, "replay_speed", None) or merged.get("speed") or 1.0
    synthetic = merged.get("synthetic_timing") or pytest_support.DEFAULT_SYNTHETIC_TIMING
    if isinstance(synthetic, dict):
        synthetic = pytest_support.SyntheticTiming(**synthetic)
    return str(timing), float(speed), synthetic


@pytest.fixture(autouse=True)
def vcr(
    request: pytest.FixtureRequest,
    vcr_markers: list[pytest.Mark],
    vcr_cassette_dir: str,
    record_mode: str,
    disable_recording: bool,
    pytestconfig: pytest.Config,
) -> Iterator[Any]:
    """The test's vcrpy ``Cassette`` when it has a ``vcr`` marker (None otherwise).

    A test that only replays, with vcrpy settings llm-replay reproduces, is served by the native
    engine (:mod:`replay.vcr.playback`; the value is a :class:`PlaybackCassette`); any other by
    vcrpy's own ``Cassette`` (the value), with httpx2/httpx replayed through the bridge.
    """
    if disable_recording or not vcr_markers:
        yield None
        return
    merged = _merge(request.getfixturevalue("vcr_config"), vcr_markers)
    name = request.getfixturevalue("default_cassette_name")
    suffix = "." + str(merged.get("serializer", "yaml"))
    if len(name) + len(suffix) > _MAX_NAME:
        digest = hashlib.md5(name.encode()).hexdigest()
        name = f"{name[: _MAX_NAME - len(suffix) - len(digest) - 3]}...{digest}"
    # As in pytest-recording: the marker/vcr_config record_mode wins over --record-mode.
    mode = merged.pop("record_mode", None) or record_mode
    try:
        timing, speed, synthetic = _timing_settings(merged, pytestconfig)
        policy = pytest_support.make_timing(timing, speed)
    except (TypeError, ValueError) as exc:
        raise pytest.UsageError(f"{request.node.nodeid}: {exc}") from None
    for key in _OWN_KEYS:
        merged.pop(key, None)
    extras = [
        path if os.path.isabs(path) else os.path.join(vcr_cassette_dir, path)
        for marker in vcr_markers
        for path in marker.args
    ]
    hint = (
        f"Record it: pytest --record-mode=new_episodes {request.node.nodeid} "
        "(--record-mode=once records a cassette that does not exist yet)."
    )
    options = pytest_support.BridgeOptions(policy, synthetic, hint)
    spec = CassetteSpec(vcr_cassette_dir, name, suffix, mode, merged, extras)
    playback = native_playback(spec, pytestconfig, options)
    if playback is not None:
        with pytest_support.vcr_playback(playback, mode) as cassette:
            yield cassette
        return
    yield from vcrpy_cassette(request, spec, options)
