"""What a recording run could not check yet: faults that apply from the next, replayed, run,
and recordings kept although the test XPASSed under ``xfail(strict=True)``.

The note travels on the test report (``user_properties``), so it reaches the controller under
pytest-xdist, and is listed in one terminal summary section.
"""

from __future__ import annotations

from typing import Any

import pytest

__all__ = ["PENDING_KEY", "is_strict_xpass", "note_pending", "pytest_configure"]

PENDING_KEY = "llm-replay-pending"


def note_pending(report: pytest.TestReport, note: str) -> None:
    """Attach ``note`` to ``report`` for the terminal summary."""
    report.user_properties.append((PENDING_KEY, note))


def is_strict_xpass(report: pytest.TestReport) -> bool:
    """A report pytest failed only because an ``xfail(strict=True)`` test passed."""
    return report.failed and str(report.longrepr).startswith("[XPASS(strict)]")


class _Notes:
    """Collects the notes of every report (the controller's, under xdist) and lists them."""

    def __init__(self) -> None:
        self.notes: list[str] = []

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        self.notes.extend(str(v) for k, v in report.user_properties if k == PENDING_KEY)

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self.notes:
            terminalreporter.write_sep("-", "llm-replay: recorded; checked from the next (replayed) run")
            for note in self.notes:
                terminalreporter.write_line(note)


def pytest_configure(config: pytest.Config) -> None:
    config.pluginmanager.register(_Notes(), "replay-pending-notes")
