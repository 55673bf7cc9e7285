"""``llm-replay convert IN OUT``: vcrpy cassettes <-> native cassettes, one file or a folder.

Each input's format is detected; by default a vcrpy file becomes native and a native file
becomes vcrpy (``--to`` forces one direction and copies files already in that format through
the same writer). A folder is converted file by file into the same relative paths under OUT
(which may be IN itself: each file is replaced atomically). A file that cannot be read is
reported and skipped; the others are still converted, and the exit status is 1.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..errors import CassetteError, ReplayError
from ..io.storage import dump_cassette, load_cassette, write_atomic
from ..model.cassette import Cassette
from ..model.yamlio import load_data
from ..scrub import Scrubber
from ..vcr.format import SyntheticTiming, dump_vcr, is_vcr_data

__all__ = ["add_arguments", "convert_file", "run"]

_SUFFIXES = (".yaml", ".yml", ".json")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("input", type=Path, metavar="IN", help="a cassette file, or a folder of them")
    parser.add_argument("output", type=Path, metavar="OUT", help="the file or folder to write")
    parser.add_argument(
        "--to",
        choices=["auto", "native", "vcrpy"],
        default="auto",
        help="target format (default auto: vcrpy files become native, native files become vcrpy)",
    )
    parser.add_argument(
        "--no-timing",
        action="store_true",
        help="vcrpy output: leave out the llm_replay timing key (exactly what vcrpy itself writes)",
    )
    parser.add_argument(
        "--ttfb",
        type=float,
        default=None,
        help="native output: synthetic time to first byte for vcrpy bodies (default 0.2 s)",
    )
    parser.add_argument(
        "--gap",
        type=float,
        default=None,
        help="native output: synthetic gap between SSE events for vcrpy bodies (default 0.02 s)",
    )
    parser.add_argument(
        "--allow-secrets",
        action="store_true",
        help="write even if something still looks like a key after scrubbing (not recommended)",
    )


def _detect(path: Path) -> str:
    try:
        data = load_data(path.read_text(encoding="utf-8"))
    except Exception:  # load_cassette, called next, words the problem for the user
        return "native"
    return "vcrpy" if is_vcr_data(data) else "native"


def convert_file(
    source: Path,
    target: Path,
    *,
    to: str = "auto",
    timing: bool = True,
    synthetic: SyntheticTiming | None = None,
    allow_secrets: bool = False,
) -> str:
    """Convert one cassette file; returns the direction taken, e.g. ``"vcrpy -> native"``."""
    kind = _detect(source)
    goal = to if to != "auto" else ("native" if kind == "vcrpy" else "vcrpy")
    cassette: Cassette = load_cassette(source, synthetic_timing=synthetic)
    # A converted file is written like a recording: scrubbed by default, then checked, so an
    # imported vcrpy cassette cannot carry keys or cookies into the new file.
    scrubber = Scrubber(allow_secrets=allow_secrets)
    cassette = Cassette(interactions=[scrubber.scrub_interaction(i) for i in cassette.interactions])
    scrubber.check(cassette, target)
    if goal == "native":
        text = dump_cassette(cassette)
    else:
        try:
            text = dump_vcr(
                cassette, serializer="json" if target.suffix == ".json" else "yaml", timing=timing
            )
        except TypeError as exc:  # vcrpy's JSON serializer and binary bodies
            raise CassetteError(f"{source}: cannot be written as vcrpy JSON: {exc}") from None
    write_atomic(target, text.encode("utf-8"))
    return f"{kind} -> {goal}"


def _pairs(source: Path, target: Path) -> list[tuple[Path, Path]]:
    if source.is_file():
        out = target / source.name if target.is_dir() else target
        return [(source, out)]
    if not source.is_dir():
        raise ReplayError(f"{source} does not exist. Give a cassette file or a folder of cassettes.")
    files = sorted(p for p in source.rglob("*") if p.is_file() and p.suffix.lower() in _SUFFIXES)
    if not files:
        raise ReplayError(f"{source} holds no cassette files (*.yaml, *.yml, *.json).")
    return [(p, target / p.relative_to(source)) for p in files]


def run(args: argparse.Namespace) -> int:
    synthetic = None
    if args.ttfb is not None or args.gap is not None:
        defaults = SyntheticTiming()
        try:
            synthetic = SyntheticTiming(
                ttfb=defaults.ttfb if args.ttfb is None else args.ttfb,
                gap=defaults.gap if args.gap is None else args.gap,
            )
        except ValueError as exc:
            raise ReplayError(str(exc)) from None
    failed = 0
    pairs = _pairs(args.input, args.output)
    for source, target in pairs:
        try:
            direction = convert_file(
                source,
                target,
                to=args.to,
                timing=not args.no_timing,
                synthetic=synthetic,
                allow_secrets=args.allow_secrets,
            )
        except ReplayError as exc:
            failed += 1
            print(f"llm-replay convert: skipped {exc}", file=sys.stderr)
            continue
        print(f"{source} -> {target} ({direction})")
    print(f"converted {len(pairs) - failed} of {len(pairs)} file{'s' if len(pairs) != 1 else ''}")
    return 1 if failed else 0
