"""Removing interactions that no test played, as recorded in usage logs.

An interaction is removed only when the log proves it unused: every logged use of its cassette
replayed (record modes ``none``, ``once`` on an existing file, ``new_episodes``), every such use
belonged to a test that passed, the interaction's content is still what the log saw (same
fingerprint at the same index), and no use played it. Anything else leaves the file untouched
and says why. Files are rewritten atomically.

Example usage::

    results = prune_cassettes([Path("tests/cassettes")], [UsageLog.read(Path("usage.jsonl"))])
    for r in results:
        print(r.path, r.removed, r.skipped)
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..io.storage import load_cassette, save_cassette
from ..model.cassette import Cassette
from .usage import CassetteUse, UsageLog, describe_interaction, interaction_fingerprint

__all__ = ["PruneResult", "cassette_files", "prune_cassettes", "prune_one"]

_SUFFIXES = (".yaml", ".yml")


@dataclass(frozen=True, slots=True)
class PruneResult:
    """What pruning did (or would do) to one cassette file."""

    path: Path
    total: int
    removed: tuple[int, ...] = ()
    removed_requests: tuple[str, ...] = ()
    skipped: str | None = None  # why the file was left alone, when it was
    in_log: bool = True

    @property
    def kept(self) -> int:
        return self.total - len(self.removed)


def cassette_files(paths: Iterable[Path]) -> list[Path]:
    """The given files, and the ``*.yaml``/``*.yml`` files under the given folders, sorted."""
    out: list[Path] = []
    for path in paths:
        if path.is_dir():
            out.extend(sorted(p for p in path.rglob("*") if p.suffix in _SUFFIXES and p.is_file()))
        else:
            out.append(path)
    return list(dict.fromkeys(out))


def _real(path: Path) -> str:
    return os.path.realpath(path)


def prune_one(path: Path, uses: Sequence[CassetteUse], *, dry_run: bool = False) -> PruneResult:
    """Prune one cassette given every logged use of it."""
    cassette = load_cassette(path)
    total = len(cassette.interactions)
    replayed = [u for u in uses if u.replayed]
    if not replayed:
        modes = ", ".join(sorted({u.record_mode for u in uses}))
        return PruneResult(path, total, skipped=f"never replayed in the logged run (record mode {modes})")
    not_passed = [u for u in replayed if u.outcome != "passed"]
    if not_passed:
        who = ", ".join(f"{u.test or 'a fixture'} {u.outcome}" for u in not_passed[:3])
        return PruneResult(path, total, skipped=f"used by a test that did not pass ({who})")
    fingerprints = [interaction_fingerprint(i) for i in cassette.interactions]
    covered: set[int] = set()
    played: set[int] = set()
    for use in replayed:
        for entry in use.interactions:
            if entry.index >= total or fingerprints[entry.index] != entry.fingerprint:
                return PruneResult(
                    path,
                    total,
                    skipped=(
                        f"changed since the usage log was written (interaction #{entry.index} differs); "
                        "re-run the tests with --replay-usage-log for a fresh log"
                    ),
                )
            covered.add(entry.index)
            if entry.plays:
                played.add(entry.index)
    removed = tuple(sorted(covered - played))
    if removed and not dry_run:
        keep = [x for i, x in enumerate(cassette.interactions) if i not in set(removed)]
        save_cassette(Cassette(interactions=keep), path)
    return PruneResult(
        path,
        total,
        removed=removed,
        removed_requests=tuple(describe_interaction(cassette.interactions[i], i) for i in removed),
    )


def prune_cassettes(
    paths: Iterable[Path], logs: Sequence[UsageLog], *, root: Path | None = None, dry_run: bool = False
) -> list[PruneResult]:
    """Prune every cassette file under ``paths`` that the logs know about.

    ``root`` overrides the folder that relative cassette paths in the logs start from (by default
    each log's own rootdir): use it when the log was written on another machine.
    """
    by_file: dict[str, list[CassetteUse]] = {}
    for log in logs:
        for use in log.uses:
            by_file.setdefault(_real(log.resolve(use, root)), []).append(use)
    results = []
    for path in cassette_files(paths):
        uses = by_file.get(_real(path))
        if uses is None:
            results.append(PruneResult(path, 0, skipped="not used in the logged run", in_log=False))
            continue
        results.append(prune_one(path, uses, dry_run=dry_run))
    return results
