"""``--replay-usage-log FILE`` and ``--replay-list-cassettes FILE`` given with a space.

pytest picks its rootdir and ini file before it loads plugins, so it does not yet know that
these options take a value: an existing FILE after a space is taken for a test path. A FILE
outside the directory pytest runs in then moves the rootdir away from the project, the project's
``pytest.ini`` / ``pyproject.toml`` is ignored and every module can fail to import. No plugin can
change that order, so the space form with such a FILE is refused, before any conftest is
imported, with the form that works (``--replay-usage-log=FILE``).
"""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

__all__ = ["PATH_OPTIONS", "pytest_load_initial_conftests", "space_form_problem"]

PATH_OPTIONS = ("--replay-usage-log", "--replay-list-cassettes")


def space_form_problem(args: list[str], invocation_dir: Path) -> str | None:
    """Why ``args`` give a path option in the form pytest misreads, or None."""
    for option, value in itertools.pairwise(args):
        if option not in PATH_OPTIONS:
            continue
        path = Path(invocation_dir, value).resolve()
        if path.exists() and not path.is_relative_to(invocation_dir.resolve()):
            return (
                f"{option} {value}: pytest chose its rootdir and ini file before llm-replay was "
                f"loaded, taking the existing {value} (outside {invocation_dir}) for a test path, so "
                f"the project's configuration may be ignored. To fix: write {option}={value} "
                "(one argument, with '=')."
            )
    return None


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config: pytest.Config) -> None:
    params = early_config.invocation_params
    problem = space_form_problem(list(params.args), params.dir)
    if problem is not None:
        raise pytest.UsageError(problem)
