"""``llm-replay unused --tests DIR``: cassette files that no collected test uses.

pytest collects the tests (in a subprocess, with the project's own configuration) and the
plugin writes each test's cassette path: the marker's path, or the default
``<test dir>/cassettes/<module>/<[Class.]test>.yaml``. Every ``*.yaml``/``*.yml`` file under a
``cassettes`` folder below DIR that no test maps to is unused, unless a Python file under DIR
names it (a test calling ``use_cassette("cassettes/x.yaml")`` itself): such files are listed
apart, as kept. Nothing is listed when collection fails, since a test that did not collect would
make its cassette look dead.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from ..errors import ReplayError

__all__ = ["add_arguments", "find_unused", "run"]

_SUFFIXES = (".yaml", ".yml")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--tests",
        action="append",
        type=Path,
        required=True,
        metavar="DIR",
        help="test folder to collect (repeatable); its cassettes/ folders are searched",
    )
    parser.add_argument("--delete", action="store_true", help="delete the unused files (and emptied folders)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of one path per line")
    parser.add_argument(
        "pytest_args",
        nargs=argparse.REMAINDER,
        metavar="-- PYTEST_ARGS",
        help="extra arguments for the pytest collection (after --)",
    )


def _collect(dirs: list[Path], extra: list[str]) -> set[str]:
    with tempfile.TemporaryDirectory(prefix="llm-replay-unused-") as tmp:
        listing = Path(tmp) / "cassettes.json"
        cmd = [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider"]
        if importlib.util.find_spec("xdist") is not None:
            cmd += ["-n", "0"]  # collect here, not in workers, whatever addopts say
        cmd += ["--replay-list-cassettes", str(listing), *map(str, dirs), *extra]
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if proc.returncode not in (0, 5) or not listing.exists():
            tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-15:])
            raise ReplayError(
                f"pytest could not collect {', '.join(map(str, dirs))} (exit code {proc.returncode}); "
                f"fix the collection errors first, since a test that does not collect makes its "
                f"cassette look unused.\n{tail}"
            )
        data = json.loads(listing.read_text(encoding="utf-8"))
    return {os.path.realpath(t["cassette"]) for t in data["tests"]}


def _cassette_files(root: Path) -> list[Path]:
    return sorted(
        p
        for p in root.rglob("*")
        if p.suffix in _SUFFIXES and p.is_file() and "cassettes" in p.relative_to(root).parts[:-1]
    )


def _named_in_sources(roots: list[Path], names: set[str]) -> dict[str, Path]:
    """File names (of the given set) that appear literally in a Python file under the roots."""
    found: dict[str, Path] = {}
    for root in roots:
        for source in sorted(root.rglob("*.py")):
            try:
                text = source.read_text(encoding="utf-8", errors="replace")
            except OSError:
                continue
            for name in names - set(found):
                if name in text:
                    found[name] = source
    return found


def find_unused(
    dirs: list[Path], pytest_args: list[str] | None = None
) -> tuple[list[Path], dict[Path, Path]]:
    """(unused cassette files, {file kept because a source names it: that source})."""
    missing = [d for d in dirs if not d.is_dir()]
    if missing:
        raise ReplayError(f"--tests {missing[0]}: not a folder.")
    used = _collect(dirs, pytest_args or [])
    candidates = [p for d in dirs for p in _cassette_files(d) if os.path.realpath(p) not in used]
    named = _named_in_sources(dirs, {p.name for p in candidates})
    unused = [p for p in candidates if p.name not in named]
    kept = {p: named[p.name] for p in candidates if p.name in named}
    return unused, kept


def _delete(paths: list[Path], roots: list[Path]) -> None:
    stops = {os.path.realpath(r) for r in roots}
    for path in paths:
        path.unlink()
        parent = path.parent
        # Remove folders the deletion emptied, up to (not including) the test folder.
        while os.path.realpath(parent) not in stops and parent.is_dir() and not any(parent.iterdir()):
            parent.rmdir()
            parent = parent.parent


def run(args: argparse.Namespace) -> int:
    extra = [a for a in args.pytest_args if a != "--"]
    unused, kept = find_unused(args.tests, extra)
    if args.json:
        print(
            json.dumps(
                {
                    "unused": [str(p) for p in unused],
                    "kept_named_in_source": {str(p): str(s) for p, s in kept.items()},
                    "deleted": bool(args.delete),
                },
                indent=2,
            )
        )
    else:
        for path in unused:
            print(path)
        note = sys.stderr
        for path, source in kept.items():
            print(f"kept {path}: no test's cassette path, but {source} names it", file=note)
        verb = "deleted" if args.delete else "unused"
        print(f"{len(unused)} cassette file{'s' if len(unused) != 1 else ''} {verb}.", file=note)
    if args.delete:
        _delete(unused, args.tests)
    return 0
