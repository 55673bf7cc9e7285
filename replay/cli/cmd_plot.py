"""``llm-replay plot PATH -o FILE.png|.svg``: a chunk-arrival timeline per interaction.

Needs matplotlib: ``pip install 'llm-replay[plot]'``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ..io.storage import load_cassette
from ..tools.plot import save_plot

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("path", type=Path, metavar="PATH", help="a cassette file")
    parser.add_argument(
        "-o", "--output", type=Path, required=True, metavar="FILE", help="FILE.png, .svg or .pdf"
    )
    parser.add_argument(
        "-i",
        "--interaction",
        action="append",
        type=int,
        default=None,
        metavar="N",
        help="plot only interaction N (repeatable; default: all)",
    )
    parser.add_argument("--title", default=None, help="a title above the panels (default: the cassette path)")


def run(args: argparse.Namespace) -> int:
    cassette = load_cassette(args.path)
    marks = save_plot(cassette, args.output, indices=args.interaction, title=args.title or str(args.path))
    for m in marks:
        rate = f", {m.tokens_per_second:.1f} tok/s" if m.tokens_per_second is not None else ""
        print(f"#{m.index}: {m.chunks} chunks, {m.events} events, {m.finish} finish mark(s){rate}")
    print(f"wrote {args.output}")
    return 0
