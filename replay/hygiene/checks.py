"""The cassette-hygiene steps of opening and closing a cassette (used by ``use_cassette``).

Opening: an expired cassette warns, fails, or switches to record mode ``rewrite``; when a
cassette is about to be recorded over, its current content is kept to summarise the changes.
Closing: the re-recording summary is computed, listeners hear of the cassette, and a strict
cassette with unplayed interactions raises.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

from ..engine.player import ActiveCassette
from ..errors import CassetteError
from ..io.storage import load_cassette
from ..model.cassette import Cassette
from ..modes import RecordMode
from ..vcr.format import SyntheticTiming
from .expiry import CassetteExpiredError, CassetteExpiredWarning, Expiry, ExpiryPolicy
from .silence import report_silence
from .usage import UnusedInteractionsError, notify_close, notify_open, unused_message

__all__ = ["OpenPlan", "after_close", "after_open", "plan_open"]


@dataclass(frozen=True, slots=True)
class OpenPlan:
    """How to open a cassette once its age is known."""

    record_mode: RecordMode
    loaded: Cassette | None  # the file's content, when it was read already
    previous: Cassette | None  # what a re-recording replaces (for the change summary)


def plan_open(
    path: Path,
    record_mode: RecordMode,
    expiry: ExpiryPolicy | None,
    record_hint: str | None,
    synthetic_timing: SyntheticTiming | None = None,
) -> OpenPlan:
    """Apply the expiry policy; raises :class:`CassetteExpiredError` for ``expiry="fail"``."""
    if not path.exists():
        return OpenPlan(record_mode, None, None)
    if record_mode.records_everything:
        try:
            previous = load_cassette(path, synthetic_timing=synthetic_timing)
        except CassetteError:
            if record_mode is RecordMode.ALL:
                raise
            # Rewriting is how a broken file gets fixed: no summary, but no obstacle either.
            return OpenPlan(record_mode, None, None)
        return OpenPlan(record_mode, previous if record_mode is RecordMode.ALL else None, previous)
    if expiry is None:
        return OpenPlan(record_mode, None, None)
    loaded = load_cassette(path, synthetic_timing=synthetic_timing)
    message = expiry.expired_message(path, loaded)
    if message is None:
        return OpenPlan(record_mode, loaded, None)
    if expiry.action is Expiry.RECORD:
        return OpenPlan(RecordMode.REWRITE, None, loaded)
    full = f"{message}\n{ExpiryPolicy.fix_hint(record_hint)}"
    if expiry.action is Expiry.FAIL:
        raise CassetteExpiredError(full)
    warnings.warn(full, CassetteExpiredWarning, stacklevel=4)
    return OpenPlan(record_mode, loaded, None)


def after_open(active: ActiveCassette, plan: OpenPlan, strict: bool) -> None:
    active.strict = strict
    active.previous = plan.previous if plan.previous is not None and plan.previous.interactions else None
    notify_open(active)


def after_close(active: ActiveCassette, failed: bool) -> None:
    """Summarise a re-recording, tell listeners, then enforce strict usage (clean exits only)."""
    if active.saved and active.previous is not None:
        from .changes import recording_changes  # the diff machinery, only after a re-recording

        active.changes = recording_changes(active.path, active.previous, active.recorded)
    notify_close(active, failed)
    if not failed:
        report_silence(active, stacklevel=4)
    if active.strict and not failed:
        message = unused_message(active)
        if message is not None:
            raise UnusedInteractionsError(message)
