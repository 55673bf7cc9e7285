"""``llm-replay convert IN OUT``: vcrpy (and pydantic-ai) cassettes <-> native cassettes, one
file or a folder.

Each input's format is detected; by default a vcrpy or pydantic-ai file becomes native and a
native file becomes vcrpy (``--to`` forces one direction and copies files already in that format
through the same writer; ``--to pydantic-ai`` writes pydantic-ai's layout, JSON bodies parsed).
A folder is converted file by file into the same relative paths under OUT
(which may be IN itself: each file is replaced atomically). A file that cannot be read is
reported and skipped; the others are still converted, and the exit status is 1.

``--to-api NAME`` also translates every chat interaction into another provider's API
(:func:`replay.translate`: same content, same event offsets); other interactions are copied.
Its output is native unless ``--to vcrpy`` is given.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .. import API_NAMES, api_of, translate
from ..errors import CassetteError, CassetteFormatError, CassetteNotFoundError, ReplayError
from ..io.storage import dump_cassette, load_cassette, write_atomic
from ..model.cassette import Cassette
from ..model.yamlio import load_data
from ..scrub import Scrubber
from ..vcr.export import dump_vcr
from ..vcr.format import SyntheticTiming, is_vcr_data
from ..vcr.pydantic_ai import dump_pydantic_ai, is_pydantic_ai_data
from .messages import BAD_INPUT, one_line

__all__ = ["add_arguments", "convert_file", "run"]

_SUFFIXES = (".yaml", ".yml", ".json")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("input", type=Path, metavar="IN", help="a cassette file, or a folder of them")
    parser.add_argument("output", type=Path, metavar="OUT", help="the file or folder to write")
    parser.add_argument(
        "--to",
        choices=["auto", "native", "vcrpy", "pydantic-ai"],
        default="auto",
        help="target format (default auto: vcrpy and pydantic-ai files become native, native files vcrpy)",
    )
    parser.add_argument(
        "--to-api",
        choices=API_NAMES,
        default=None,
        metavar="API",
        help=f"translate chat interactions into this API ({', '.join(API_NAMES)})",
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
    if is_pydantic_ai_data(data):
        return "pydantic-ai"
    return "vcrpy" if is_vcr_data(data) else "native"


def convert_file(
    source: Path,
    target: Path,
    *,
    to: str = "auto",
    timing: bool = True,
    synthetic: SyntheticTiming | None = None,
    allow_secrets: bool = False,
    to_api: str | None = None,
) -> str:
    """Convert one cassette file; returns the direction taken, e.g. ``"vcrpy -> native"``."""
    kind = _detect(source)
    goal = to if to != "auto" else ("vcrpy" if kind == "native" and not to_api else "native")
    cassette: Cassette = load_cassette(source, synthetic_timing=synthetic)
    translated = ""
    if to_api is not None:
        cassette, translated = _translate(cassette, to_api, source)
    # A converted file is written like a recording: scrubbed by default, then checked, so an
    # imported vcrpy cassette cannot carry keys or cookies into the new file.
    scrubber = Scrubber(allow_secrets=allow_secrets)
    cassette = Cassette(interactions=[scrubber.scrub_interaction(i) for i in cassette.interactions])
    scrubber.check(cassette, target)
    if goal == "native":
        text = dump_cassette(cassette)
    elif goal == "pydantic-ai":
        # pydantic-ai's serializer works on vcrpy's data; it has no place for timing.
        text = dump_pydantic_ai(load_data(dump_vcr(cassette, timing=False)))
    else:
        try:
            text = dump_vcr(
                cassette, serializer="json" if target.suffix == ".json" else "yaml", timing=timing
            )
        except TypeError as exc:  # vcrpy's JSON serializer and binary bodies
            raise CassetteError(f"{source}: cannot be written as vcrpy JSON: {exc}") from None
    write_atomic(target, text.encode("utf-8"))
    return f"{kind} -> {goal}{translated}"


def _translate(cassette: Cassette, api: str, source: Path) -> tuple[Cassette, str]:
    out = []
    count = 0
    for index, interaction in enumerate(cassette.interactions):
        if api_of(interaction) is None:
            out.append(interaction)
            continue
        try:
            out.append(translate(interaction, to=api))
        except ReplayError as exc:
            raise ReplayError(f"{source} interaction #{index}: {exc}") from None
        count += 1
    return Cassette(interactions=out), f", {count} chat interaction{'s' if count != 1 else ''} as {api}"


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
    failed = unreadable = 0
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
                to_api=args.to_api,
            )
        except ReplayError as exc:
            failed += 1
            unreadable += isinstance(exc, (CassetteFormatError, CassetteNotFoundError))
            print(f"llm-replay convert: skipped {one_line(exc)}", file=sys.stderr)
            continue
        print(f"{source} -> {target} ({direction})")
    print(f"converted {len(pairs) - failed} of {len(pairs)} file{'s' if len(pairs) != 1 else ''}")
    return BAD_INPUT if unreadable else 1 if failed else 0
