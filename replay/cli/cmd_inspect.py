"""``llm-replay inspect PATH``: one row per interaction (status, chunks, timing, finish, usage)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from urllib.parse import urlsplit

from rich.console import Console
from rich.table import Table

from ..io.storage import load_cassette
from ..tools.summary import InteractionSummary, summarize
from ..tools.timeline import Timeline, percentile, sparkline, timeline

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("paths", nargs="+", type=Path, metavar="PATH", help="cassette file(s)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}s"


def _usage(s: InteractionSummary) -> str:
    if s.prompt_tokens is None and s.completion_tokens is None:
        return "-"

    def fmt(n: int | None) -> str:
        return "?" if n is None else str(n)

    return f"{fmt(s.prompt_tokens)} -> {fmt(s.completion_tokens)}"


def _origin(url: str) -> tuple[str, str]:
    split = urlsplit(url)
    rest = split.path + (f"?{split.query}" if split.query else "")
    return f"{split.scheme}://{split.netloc}", rest or "/"


def _arrival(line: Timeline) -> str:
    # A sparkline only says something for a body that arrived in several pieces.
    return sparkline(line) if len(line.chunk_times) > 1 else "-"


def _timing_json(line: Timeline) -> dict[str, object]:
    gaps = line.gaps
    return {
        "chunk_times": list(line.chunk_times),
        "gap_p50": percentile(gaps, 50),
        "gap_p95": percentile(gaps, 95),
        "tokens_per_second": line.tokens_per_second,
        "sparkline": sparkline(line),
    }


def _table(path: Path, rows: list[InteractionSummary], lines: list[Timeline]) -> tuple[str, Table]:
    origins = {_origin(s.url)[0] for s in rows}
    single = len(origins) == 1
    where = f" on {next(iter(origins))}" if single else ""
    # Printed above the table rather than as its title, which rich wraps to the table's width.
    title = f"{path}: {len(rows)} interaction{'s' if len(rows) != 1 else ''}{where}"
    table = Table()
    for name, justify in (
        ("#", "right"),
        ("request", "left"),
        ("status", "right"),
        ("chunks", "right"),
        ("events", "right"),
        ("ttfb", "right"),
        ("duration", "right"),
        ("finish", "left"),
        ("tokens in -> out", "right"),
        ("chunk arrival (0 -> end)", "left"),
    ):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for s, line in zip(rows, lines, strict=True):
        status = str(s.status) + (f" ({s.end})" if s.end else "")
        duration = _seconds(s.duration) + (" (synthetic)" if s.synthetic_timing else "")
        table.add_row(
            str(s.index),
            f"{s.method} {_origin(s.url)[1] if single else s.url}",
            status,
            str(s.chunks),
            f"{s.events} {s.framing}" if s.events else "-",
            _seconds(s.ttfb),
            duration,
            ", ".join(s.finish_reasons) or "-",
            _usage(s),
            _arrival(line),
        )
    return title, table


def run(args: argparse.Namespace) -> int:
    # A table wrapped to 80 columns is unreadable in a log or a pipe; only a terminal's own
    # width constrains it.
    console = Console(width=None if sys.stdout.isatty() else 200)
    out: dict[str, list[dict[str, object]]] = {}
    for path in args.paths:
        cassette = load_cassette(path)
        rows = [summarize(interaction, i) for i, interaction in enumerate(cassette.interactions)]
        lines = [timeline(interaction.response) for interaction in cassette.interactions]
        if args.json:
            out[str(path)] = [r.as_dict() | _timing_json(line) for r, line in zip(rows, lines, strict=True)]
        else:
            title, table = _table(path, rows, lines)
            console.print(title, soft_wrap=True, highlight=False, markup=False)
            console.print(table)
    if args.json:
        print(json.dumps(out, indent=2))
    return 0
