"""pytest hooks and fixtures; everything they do goes through ``replay``'s public API.

Settings precedence, highest first: a ``--replay-*`` option given on the command line, then the
closest ``@pytest.mark.replay(...)`` marker, then the ``replay_config`` fixture (override it at
any scope), then the defaults (record mode ``none``, timing ``virtual``).
"""

from __future__ import annotations

import warnings
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import Any

import pytest

import replay
from replay import pytest_support

from . import recording_detect
from .hygiene import ACTIVE_CASSETTE, option_settings
from .markers import USE_CASSETTE_KEYS as _USE_CASSETTE_KEYS
from .markers import default_cassette_path, marker_settings
from .options import add_options, flag, value
from .pending import PENDING_KEY, is_strict_xpass
from .variants import (
    check_faults,
    pytest_generate_tests,
    remember_cassette,
    replay_variant,
)

__all__ = ["pytest_generate_tests", "replay_cassette", "replay_config", "replay_variant"]

# Strict usage, usage logs, expiry and re-recording summaries (their options and hooks); the
# fixtures that start `llm-replay serve` for tests spawning other processes.
pytest_plugins = [
    "replay_pytest.hygiene",
    "replay_pytest.pending",
    "replay_pytest.path_options",
    "replay_pytest.serve",
]

_REPORTS = pytest.StashKey[dict[str, pytest.TestReport]]()


def pytest_addoption(parser: pytest.Parser, pluginmanager: pytest.PytestPluginManager) -> None:
    # pytest-recording's interface (vcr marker, fixtures, options), only where pytest-recording
    # itself is not installed or is disabled: the two never load side by side, and vcrpy is not
    # imported unless the drop-in is used (see recording_detect for why that matters).
    if recording_detect.is_needed(pluginmanager):
        from . import recording_compat

        if not pluginmanager.is_registered(recording_compat):
            pluginmanager.register(recording_compat, "replay-recording-compat")
    add_options(
        parser,
        value(
            "--replay-record-mode",
            "none (default: replay only), once, new_episodes, all, or rewrite.",
            choices=[m.value for m in replay.RecordMode],
        ),
        value(
            "--replay-timing",
            "How replayed chunks are paced: virtual (default), real, or instant.",
            choices=[t.value for t in replay.Timing],
        ),
        value(
            "--replay-speed",
            "Divide recorded offsets by this factor in virtual and real timing (default 1.0).",
            type=float,
        ),
        flag(
            "--replay-block-network",
            "While a cassette is active, refuse connections from clients llm-replay does not "
            "intercept (requests, urllib3, aiohttp, raw sockets); loopback too unless allowed.",
        ),
        value(
            "--replay-allowed-hosts",
            "Comma-separated hosts (names, IPs, *.patterns; 'localhost' = loopback) that "
            "--replay-block-network lets through.",
            metavar="HOSTS",
        ),
    )


_PYTEST_CLOCKS = pytest.StashKey[list[tuple[str, Any]]]()


def _continuous_pytest_timing(config: pytest.Config) -> None:
    """pytest's durations read a clock that is real time plus what was replayed (never negative).

    A cassette opened by a fixture spans setup, call and teardown; the application's clock is
    virtual in between and real outside, so pytest's own readings (``_pytest.timing``, the module
    pytest keeps for this purpose) would jump back at teardown. The continuous clocks of
    :mod:`replay.timing` go on from the last virtual reading instead.
    """
    try:
        from _pytest import timing as pytest_timing
    except ImportError:  # pragma: no cover - pytest moved its clock module
        return
    saved: list[tuple[str, Any]] = []
    clocks = (
        ("perf_counter", pytest_support.continuous_perf_counter),
        ("time", pytest_support.continuous_time),
    )
    for name, clock in clocks:
        if callable(getattr(pytest_timing, name, None)):
            saved.append((name, getattr(pytest_timing, name)))
            setattr(pytest_timing, name, clock)
    config.stash[_PYTEST_CLOCKS] = saved


def pytest_unconfigure(config: pytest.Config) -> None:
    from _pytest import timing as pytest_timing

    saved: list[tuple[str, Any]] = config.stash.get(_PYTEST_CLOCKS, [])
    for name, original in reversed(saved):
        setattr(pytest_timing, name, original)


def pytest_configure(config: pytest.Config) -> None:
    _continuous_pytest_timing(config)
    config.addinivalue_line(
        "markers",
        "replay(path=None, *, record_mode=None, timing=None, speed=None, allow_playback_repeats=None, "
        "match_on=None, record_on_failure=None, strict=None, max_age=None, expiry=None, faults=None, "
        "filter_headers=None, filter_query=None, filter_body_fields=None, before_record_request=None, "
        "before_record_response=None, allow_secrets=None, block_network=None, allowed_hosts=None, "
        "as_api=None): "
        "record or replay this test's HTTP traffic from a cassette "
        "(default path: cassettes/<module>/<test>.yaml beside the test file).",
    )
    config.addinivalue_line(
        "markers",
        "replay_variants(*variants, baseline=True): run the test once per fault variant "
        "(replay.EDGE_CASES, faults, lists of faults) against its one recording, plus the "
        "recording as is ([recorded]) unless baseline=False.",
    )


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, Any]:
    report = yield
    check_faults(item, report)
    item.stash.setdefault(_REPORTS, {})[report.when] = report
    return report


def _settings(node: pytest.Item, config_fixture: dict[str, Any]) -> tuple[Path, dict[str, Any]]:
    unknown = set(config_fixture) - _USE_CASSETTE_KEYS
    if unknown:
        raise pytest.UsageError(
            f"replay_config returned unknown key(s) {sorted(unknown)}; "
            f"known: {', '.join(sorted(_USE_CASSETTE_KEYS))}"
        )
    marker_path, marker_kwargs = marker_settings(node)
    settings: dict[str, Any] = {"record_mode": "none", "timing": "virtual"}
    settings.update(config_fixture)
    settings.update(marker_kwargs)
    options = node.config.option
    if options.replay_record_mode is not None:
        settings["record_mode"] = options.replay_record_mode
    if options.replay_timing is not None:
        settings["timing"] = options.replay_timing
    if options.replay_speed is not None:
        settings["speed"] = options.replay_speed
    settings.update(option_settings(node.config))
    if options.replay_block_network:
        settings["block_network"] = True
    if options.replay_allowed_hosts is not None:
        settings["allowed_hosts"] = options.replay_allowed_hosts
    return marker_path or default_cassette_path(node), settings


@pytest.fixture
def replay_config() -> dict[str, Any]:
    """Default ``use_cassette`` settings for tests in scope; override to change them."""
    return {}


@pytest.fixture
def replay_cassette(
    request: pytest.FixtureRequest, replay_config: dict[str, Any], replay_variant: replay.Variant | None
) -> Iterator[replay.ActiveCassette]:
    """The test's active cassette (from its ``replay`` marker, or the default path)."""
    node = request.node
    assert isinstance(node, pytest.Item)
    path, settings = _settings(node, replay_config)
    if replay_variant is not None:
        given = settings.get("faults") or []
        given = [given] if isinstance(given, replay.faults.Fault) else list(given)
        settings["faults"] = [*given, *replay_variant.faults]
    try:
        context = replay.use_cassette(
            path,
            record_hint=f"pytest --replay-record-mode={{mode}} {node.nodeid!s}",
            **settings,
        )
    except ValueError as exc:
        raise pytest.UsageError(f"{node.nodeid}: {exc}") from None
    active = _open_warning_at_test(context, node)
    try:
        node.stash[ACTIVE_CASSETTE] = active
        remember_cassette(node, active, replay_variant, path)
        yield active
    finally:
        # The call phase's report exists by now: a failed test does not save a half recording.
        # Faults that changed nothing were reported on the call phase already (check_faults).
        reports = node.stash.get(_REPORTS, {})
        # A strict XPASS is a passing test that pytest reports as failed: its recording is good.
        xpass = [r for r in reports.values() if is_strict_xpass(r)]
        context.close(failed=any(r.failed and r not in xpass for r in reports.values()), check_faults=False)
        if xpass and active.recorded and active.saved:
            # The call report is logged already: the teardown report carries the note.
            node.user_properties.append(
                (PENDING_KEY, f"{node.nodeid}: XPASS(strict) while recording; {path} was saved")
            )


def _open_warning_at_test(context: replay.CassetteContext, node: pytest.Item) -> replay.ActiveCassette:
    """Open the cassette; a warning about it (an expired cassette) points at the test, not at
    pytest's fixture machinery that called the fixture."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        active = context.open()
    if not caught:
        return active
    path, lineno, _ = node.reportinfo()
    try:
        for w in caught:
            if issubclass(w.category, replay.CassetteExpiredWarning):
                where = (str(path), (lineno or 0) + 1)
            else:
                where = (w.filename, w.lineno)
            warnings.warn_explicit(w.message, w.category, *where)
    except BaseException:
        # Warnings as errors: the test fails here, and the cassette it opened must close with it.
        context.close(failed=True, check_faults=False)
        raise
    return active


@pytest.fixture(autouse=True)
def _replay_marker(request: pytest.FixtureRequest, replay_variant: replay.Variant | None) -> None:
    """Activates ``replay_cassette`` for tests carrying the ``replay`` marker or a variant."""
    node = request.node
    if (
        node.get_closest_marker("replay") is not None
        or node.get_closest_marker("replay_variants") is not None
        or replay_variant is not None
    ):
        request.getfixturevalue("replay_cassette")
