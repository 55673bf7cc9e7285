"""Fault variants in pytest: ``@pytest.mark.replay_variants(...)``, the ``replay_variant``
fixture, and the check that every fault given to a test changed some response.

A variant that does not fit the test's responses (a usage-only chunk on a non-streamed call)
reports the test as skipped, with the reason; a fault given by a marker or ``inject()`` that
changed nothing fails the test, since such a test tests nothing.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

import replay

if TYPE_CHECKING:
    from replay.pytest_support import Variant

from .pending import note_pending

__all__ = [
    "check_faults",
    "name_without_variant",
    "pytest_generate_tests",
    "remember_cassette",
    "replay_variant",
]

_ACTIVE = pytest.StashKey["tuple[replay.ActiveCassette, Variant | None, Path]"]()


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    marker = metafunc.definition.get_closest_marker("replay_variants")
    if marker is None:
        return
    where = f"{metafunc.definition.nodeid}: @pytest.mark.replay_variants"
    unknown = set(marker.kwargs) - {"baseline"}
    if unknown:
        raise pytest.UsageError(
            f"{where}: unknown argument(s) {sorted(unknown)}; it takes variants and baseline="
        )
    baseline = marker.kwargs.get("baseline", True)
    if not isinstance(baseline, bool):
        raise pytest.UsageError(f"{where}: baseline must be True or False, got {baseline!r}")
    from replay.pytest_support import collect  # fault machinery loads only for such tests

    try:
        found = collect(marker.args, baseline=baseline)
    except (TypeError, ValueError) as exc:
        raise pytest.UsageError(f"{where}: {exc}") from None
    metafunc.parametrize("replay_variant", found, ids=[v.id for v in found], indirect=True)


@pytest.fixture
def replay_variant(request: pytest.FixtureRequest) -> Variant | None:
    """The fault variant this test runs under (``replay_variants`` marker), or None."""
    value = getattr(request, "param", None)
    if value is None:
        return None
    from replay.pytest_support import Variant

    if not isinstance(value, Variant):
        raise pytest.UsageError(
            f"{request.node.nodeid}: parametrize replay_variant with replay.variants(...), got {value!r}"
        )
    return value


def name_without_variant(node: pytest.Item) -> str:
    """The test's name without the variant's part of the id: variants share one recording."""
    name = node.name
    callspec = getattr(node, "callspec", None)
    variant = callspec.params.get("replay_variant") if callspec is not None else None
    if variant is None:
        return name
    from replay.pytest_support import Variant

    if not isinstance(variant, Variant) or "[" not in name or not name.endswith("]"):
        return name
    base, _, ids = name[:-1].partition("[")
    vid = re.escape(variant.id)
    # pytest appends a number to repeated ids ("recorded0"); that belongs to the variant too.
    for pattern in (rf"^{vid}\d*$", rf"-{vid}\d*$", rf"^{vid}\d*-", rf"-{vid}\d*(?=-)"):
        stripped, n = re.subn(pattern, "", ids, count=1)
        if n:
            return f"{base}[{stripped}]" if stripped else base
    return name


def remember_cassette(
    item: pytest.Item, active: replay.ActiveCassette, variant: Variant | None, path: Path
) -> None:
    item.stash[_ACTIVE] = (active, variant, path)


def check_faults(item: pytest.Item, report: pytest.TestReport) -> None:
    """After a passing call: fail for a given fault that changed nothing, skip for a variant
    that fits none of the test's responses."""
    state = item.stash.get(_ACTIVE, None)
    if state is None or report.when != "call" or not report.passed:
        return
    active, variant, path = state
    missing = [s for s in active.fault_report if not s.applied]
    if not missing:
        return
    ours = {id(f) for f in variant.faults} if variant is not None else set()
    given = [s for s in missing if id(s.fault) not in ours]
    if given and active.faults.recorded:
        # This run recorded what the faults act on: they apply from the next, replayed, run.
        names = ", ".join(repr(s.fault) for s in given)
        note_pending(report, f"{item.nodeid}: recorded; faults apply from the next (replayed) run: {names}")
        return
    if given:
        lines = [f"{len(given)} fault(s) given to {path} changed no response:"]
        lines += [f"  - {s.describe()}" for s in given]
        lines.append("Fix the fault's position or selector (interaction=, match=), or remove it.")
        report.outcome = "failed"
        report.longrepr = "\n".join(lines)
        return
    assert variant is not None
    reasons = "; ".join(s.describe() for s in missing)
    if active.faults.recorded:
        reasons += " (this run recorded the requests; faults apply when they are replayed)"
    lineno: Any = item.location[1]
    report.outcome = "skipped"
    report.longrepr = (
        str(item.path),
        (lineno or 0) + 1,
        f"Skipped: variant {variant.id!r} does not fit this test's responses: {reasons}",
    )
