"""Cassette hygiene in pytest: strict usage, usage logs, expiry options, re-recording summaries.

- ``--replay-strict`` (or ``strict=True`` in the marker / ``replay_config``): a test whose
  cassette holds interactions it never played fails, naming them. Without it, unplayed
  interactions are listed in the terminal summary.
- ``--replay-usage-log=FILE``: writes which interactions of which cassettes each test played
  (JSON Lines; workers of pytest-xdist send theirs to the controller, which writes one file).
  ``llm-replay prune`` reads it.
- ``--replay-max-age`` / ``--replay-expiry``: the expiry policy of every cassette.
- Re-recorded cassettes (``all``, ``rewrite``, ``expiry="record"``) get a summary of what changed.
- ``--replay-list-cassettes=FILE``: with ``--collect-only``, writes each test's cassette path
  (``llm-replay unused`` runs this).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Generator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import pytest

import replay
from replay.pytest_support import Expiry, add_listener, parse_max_age, remove_listener

if TYPE_CHECKING:
    from replay.pytest_support import CassetteUse

from .markers import default_cassette_path, marker_settings
from .options import add_options, flag, value

__all__ = ["ACTIVE_CASSETTE", "HygieneState", "option_settings"]

# The cassette the replay_cassette fixture opened for an item (strict usage is checked on it
# right after the test body, so an unused interaction fails the test rather than its teardown).
ACTIVE_CASSETTE = pytest.StashKey["replay.ActiveCassette"]()  # a string: no engine import at start-up
_STATE = pytest.StashKey["HygieneState"]()
_WORKER_KEY = "llm_replay_hygiene"
_SUMMARY_LIMIT = 20

Outcome = Literal["passed", "failed", "skipped"]


def pytest_addoption(parser: pytest.Parser) -> None:
    add_options(
        parser,
        flag("--replay-strict", "Fail a test whose cassette holds interactions it never played."),
        value(
            "--replay-usage-log",
            "Write which interactions of which cassettes each test played (for `llm-replay prune`); "
            "give it as --replay-usage-log=FILE.",
            metavar="FILE",
        ),
        value(
            "--replay-max-age",
            "Cassettes older than this (e.g. 30d, 12h, 1d12h) expire; see --replay-expiry.",
            metavar="AGE",
        ),
        value(
            "--replay-expiry",
            "What an expired cassette does: warn (default), fail, or record (re-record it).",
            choices=[e.value for e in Expiry],
        ),
        value(
            "--replay-list-cassettes",
            "With --collect-only: write each collected test's cassette path as JSON (`llm-replay unused`).",
            metavar="FILE",
        ),
    )


def option_settings(config: pytest.Config) -> dict[str, Any]:
    """``use_cassette`` settings given on the command line (they override markers and replay_config)."""
    options = config.option
    out: dict[str, Any] = {}
    if getattr(options, "replay_strict", None):
        out["strict"] = True
    if getattr(options, "replay_max_age", None) is not None:
        out["max_age"] = options.replay_max_age
    if getattr(options, "replay_expiry", None) is not None:
        out["expiry"] = options.replay_expiry
    return out


# -- session state -----------------------------------------------------------------------------


@dataclass(slots=True)
class UnusedReport:
    """Interactions of one cassette use that were never played (for the terminal summary)."""

    cassette: str
    test: str | None
    total: int
    unplayed: list[str]


@dataclass(slots=True)
class ChangeReport:
    """A re-recorded cassette's summary (for the terminal summary)."""

    test: str | None
    text: str


@dataclass(slots=True)
class _Closed:
    active: replay.ActiveCassette
    failed: bool
    test: str | None


@dataclass
class HygieneState:
    """What this process saw: cassette uses, unplayed interactions, re-recordings."""

    config: pytest.Config
    log_path: Path | None
    uses: list[CassetteUse] = field(default_factory=list)
    unused: list[UnusedReport] = field(default_factory=list)
    changes: list[ChangeReport] = field(default_factory=list)
    _current: str | None = None
    _failed: bool = False
    _skipped: bool = False
    _closed: list[_Closed] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    # listener protocol (replay.hygiene.usage.CassetteListener)
    def cassette_opened(self, active: replay.ActiveCassette) -> None:
        return None

    def cassette_closed(self, active: replay.ActiveCassette, failed: bool) -> None:
        if _SESSIONS and _SESSIONS[-1] is not self:
            return  # a pytest run inside this one (pytester) owns the cassettes it opens
        with self._lock:
            self._closed.append(_Closed(active, failed, self._current))

    def begin(self, nodeid: str) -> None:
        self._flush(None)
        self._current = nodeid
        self._failed = self._skipped = False

    def report(self, report: pytest.TestReport) -> None:
        if report.failed:
            self._failed = True
        elif report.skipped:
            self._skipped = True

    def end(self) -> None:
        outcome: Outcome = "failed" if self._failed else "skipped" if self._skipped else "passed"
        self._flush(outcome)
        self._current = None

    def _flush(self, outcome: Outcome | None) -> None:
        with self._lock:
            closed, self._closed = self._closed, []
        if not closed:
            return
        # The usage models (pydantic) load with the first cassette closed, not at start-up.
        from replay.pytest_support import cassette_key, describe_interaction, use_from_active

        rootdir = self.config.rootpath
        for item in closed:
            active = item.active
            result: Outcome = outcome or ("failed" if item.failed else "passed")
            if self.log_path is not None:
                self.uses.append(use_from_active(active, rootdir=rootdir, test=item.test, outcome=result))
            unplayed = active.unplayed
            if unplayed and active.record_mode.replays(active.existed) and result == "passed":
                key = cassette_key(active.path, rootdir)
                self.unused.append(
                    UnusedReport(
                        cassette=key,
                        test=item.test,
                        total=len(active.loaded),
                        unplayed=[describe_interaction(active.loaded[i], i) for i in unplayed],
                    )
                )
            if active.changes is not None:
                key = cassette_key(active.path, rootdir)
                text = str(active.changes).replace(str(active.path), key, 1)
                self.changes.append(ChangeReport(test=item.test, text=text))

    # xdist: workers send what they saw to the controller
    def to_json(self) -> str | None:
        """What a worker saw, or None when it saw nothing (the controller then loads nothing)."""
        if not (self.uses or self.unused or self.changes):
            return None
        return json.dumps(
            {
                "uses": [u.model_dump(mode="json") for u in self.uses],
                "unused": [asdict(u) for u in self.unused],
                "changes": [asdict(c) for c in self.changes],
            }
        )

    def absorb(self, text: str) -> None:
        data = json.loads(text)
        if data["uses"]:  # only with a usage log: the controller loads the model for nothing else
            from replay.pytest_support import CassetteUse

            self.uses.extend(CassetteUse.model_validate(u) for u in data["uses"])
        self.unused.extend(UnusedReport(**u) for u in data["unused"])
        self.changes.extend(ChangeReport(**c) for c in data["changes"])


_SESSIONS: list[HygieneState] = []  # nested runs (pytester in-process): the innermost one records


def _is_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


# -- hooks -------------------------------------------------------------------------------------


def pytest_configure(config: pytest.Config) -> None:
    max_age = config.getoption("replay_max_age", None)
    if max_age is not None:
        try:
            parse_max_age(max_age)
        except ValueError as exc:
            raise pytest.UsageError(f"--replay-max-age: {exc}") from None
    log = config.getoption("replay_usage_log", None)
    log_path = Path(config.invocation_params.dir, log) if log else None
    state = HygieneState(config=config, log_path=log_path)
    config.stash[_STATE] = state
    _SESSIONS.append(state)
    add_listener(state)


def pytest_unconfigure(config: pytest.Config) -> None:
    state = config.stash.get(_STATE, None)
    if state is not None:
        remove_listener(state)
        if state in _SESSIONS:
            _SESSIONS.remove(state)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Generator[None, Any, Any]:
    state = item.config.stash[_STATE]
    state.begin(item.nodeid)
    try:
        return (yield)
    finally:
        state.end()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, Any]:
    report: pytest.TestReport = yield
    item.config.stash[_STATE].report(report)
    return report


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, Any, Any]:
    __tracebackhide__ = True
    result = yield  # a failing test raises here: strict usage is only judged on passing bodies
    active = item.stash.get(ACTIVE_CASSETTE, None)
    if active is not None:
        from replay.pytest_support import report_silence

        report_silence(active)
    if active is not None and active.strict:
        from replay.pytest_support import UnusedInteractionsError, unused_message

        message = unused_message(active)
        if message is not None:
            raise UnusedInteractionsError(message)
    return result


def pytest_collection_finish(session: pytest.Session) -> None:
    out = session.config.getoption("replay_list_cassettes", None)
    if not out or _is_worker(session.config):
        return
    tests = []
    for item in session.items:
        marker_path, _ = marker_settings(item)
        default = default_cassette_path(item)
        tests.append(
            {"nodeid": item.nodeid, "cassette": str(marker_path or default), "default": str(default)}
        )
    target = Path(session.config.invocation_params.dir, out)
    target.write_text(
        json.dumps({"rootdir": str(session.config.rootpath), "tests": tests}, indent=1), encoding="utf-8"
    )


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    output = getattr(node, "workeroutput", None) or {}
    text = output.get(_WORKER_KEY)
    if text:
        node.config.stash[_STATE].absorb(text)


def pytest_sessionfinish(session: pytest.Session) -> None:
    config = session.config
    state = config.stash.get(_STATE, None)
    if state is None:
        return
    state._flush(None)  # cassettes closed by session-scoped fixtures
    if _is_worker(config):
        text = state.to_json()
        if text is not None:
            config.workeroutput[_WORKER_KEY] = text  # type: ignore[attr-defined]
        return
    if state.log_path is not None:
        from replay.pytest_support import UsageLog

        UsageLog(config.rootpath, state.uses).write(state.log_path)


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    state = config.stash.get(_STATE, None)
    if state is None or _is_worker(config):
        return
    tr = terminalreporter
    if state.unused:
        tr.write_sep("-", "llm-replay: unused interactions")
        for report in state.unused[:_SUMMARY_LIMIT]:
            who = f" ({report.test})" if report.test else ""
            n = len(report.unplayed)
            tr.write_line(f"{report.cassette}{who}: {n} of {report.total} never played")
            for line in report.unplayed[:5]:
                tr.write_line(f"  {line}")
            if n > 5:
                tr.write_line(f"  ... and {n - 5} more")
        if len(state.unused) > _SUMMARY_LIMIT:
            tr.write_line(f"... and {len(state.unused) - _SUMMARY_LIMIT} more cassettes")
        tr.write_line(
            "Remove them with --replay-usage-log=FILE and `llm-replay prune`, or fail such tests with "
            "--replay-strict."
        )
    if state.changes:
        tr.write_sep("-", "llm-replay: re-recorded cassettes")
        for change in state.changes:
            who = f"[{change.test}] " if change.test else ""
            tr.write_line(who + change.text)
    if state.log_path is not None:
        cassettes = len({u.cassette for u in state.uses})
        tr.write_line(
            f"llm-replay: usage log {state.log_path}: {len(state.uses)} cassette use(s) of "
            f"{cassettes} cassette(s)"
        )
