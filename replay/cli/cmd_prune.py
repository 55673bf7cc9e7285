"""``llm-replay prune --usage-log FILE PATH...``: remove interactions no test played."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ..hygiene.prune import prune_cassettes
from ..hygiene.usage import UsageLog

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("paths", nargs="+", type=Path, metavar="PATH", help="cassette files or folders")
    parser.add_argument(
        "--usage-log",
        "-l",
        action="append",
        type=Path,
        required=True,
        metavar="FILE",
        help="a log written by `pytest --replay-usage-log=FILE` (repeat to combine several runs)",
    )
    parser.add_argument(
        "--root",
        type=Path,
        default=None,
        help="folder the log's cassette paths are relative to (default: the log's pytest rootdir)",
    )
    parser.add_argument(
        "--dry-run", "-n", action="store_true", help="show what would be removed; change nothing"
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")


def run(args: argparse.Namespace) -> int:
    logs = [UsageLog.read(p) for p in args.usage_log]
    missing = [p for p in args.paths if not p.exists()]
    if missing:
        from ..errors import CassetteNotFoundError

        raise CassetteNotFoundError(f"{missing[0]} does not exist (give cassette files or folders).")
    results = prune_cassettes(args.paths, logs, root=args.root, dry_run=args.dry_run)
    if args.json:
        print(
            json.dumps(
                [
                    {
                        "path": str(r.path),
                        "in_log": r.in_log,
                        "interactions": r.total,
                        "removed": list(r.removed),
                        "removed_requests": list(r.removed_requests),
                        "skipped": r.skipped,
                        "dry_run": args.dry_run,
                    }
                    for r in results
                ],
                indent=2,
            )
        )
        return 0
    verb = "would remove" if args.dry_run else "removed"
    not_logged = [r for r in results if not r.in_log]
    pruned = 0
    for r in results:
        if not r.in_log:
            continue
        if r.skipped:
            print(f"{r.path}: left alone: {r.skipped}")
        elif r.removed:
            pruned += len(r.removed)
            left = (
                " (no interactions left: delete the file if its test makes no requests)" if not r.kept else ""
            )
            print(f"{r.path}: {verb} {len(r.removed)} of {r.total} interactions{left}")
            for line in r.removed_requests:
                print(f"  {line}")
        else:
            print(f"{r.path}: every interaction was played; unchanged")
    files = sum(1 for r in results if r.removed)
    total = len(results) - len(not_logged)
    print(
        f"{'Would prune' if args.dry_run else 'Pruned'} {pruned} interaction{'s' if pruned != 1 else ''} "
        f"from {files} of {total} logged cassette{'s' if total != 1 else ''}."
    )
    if not_logged:
        print(
            f"{len(not_logged)} cassette file{'s' if len(not_logged) != 1 else ''} under the given paths "
            "were not used in the logged run (list dead files with `llm-replay unused --tests DIR`)."
        )
    return 0
