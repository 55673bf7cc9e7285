"""``llm-replay diff A B``: request, response and timing differences, interaction by interaction.

Exit status as with diff(1): 0 when requests and responses are the same (timing may differ),
1 when they differ, 2 when a file cannot be read.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ..errors import ReplayError
from ..io.storage import load_cassette
from ..tools.diff import (
    DEFAULT_IGNORED_HEADERS,
    DEFAULT_IGNORED_KEYS,
    InteractionDiff,
    TimingStats,
    diff_cassettes,
)
from .messages import BAD_INPUT, one_line

__all__ = ["add_arguments", "run"]

_MARK = {"added": "+", "removed": "-", "changed": "~", "same": "="}
_STYLE = {"added": "green", "removed": "red", "changed": "yellow", "same": "dim"}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("a", type=Path, metavar="A", help="the old cassette")
    parser.add_argument("b", type=Path, metavar="B", help="the new cassette")
    parser.add_argument(
        "--ignore-key",
        action="append",
        default=[],
        metavar="KEY",
        help=f"also ignore this JSON key in bodies and events (default: {', '.join(DEFAULT_IGNORED_KEYS)})",
    )
    parser.add_argument(
        "--ignore-header",
        action="append",
        default=[],
        metavar="GLOB",
        help="also ignore headers matching this glob (date, request ids, rate-limit counters: always)",
    )
    parser.add_argument("--no-ignore", action="store_true", help="compare every key and header")
    parser.add_argument(
        "--max-changes", type=int, default=20, metavar="N", help="changes shown per interaction (default 20)"
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")


def _s(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}s"


def _delta(a: float | None, b: float | None) -> str:
    if a is None or b is None:
        return ""
    d = b - a
    pct = f" ({d / a * 100:+.0f}%)" if a else ""
    return f"{d:+.3f}s{pct}"


def _timing_table(a: TimingStats | None, b: TimingStats | None) -> Table:
    table = Table(box=None, padding=(0, 2), show_edge=False)
    for name, justify in (("timing", "left"), ("A", "right"), ("B", "right"), ("B - A", "right")):
        table.add_column(name, justify=justify, style="bold" if name == "timing" else None)  # type: ignore[arg-type]

    def row(label: str, key: str) -> None:
        va = getattr(a, key) if a else None
        vb = getattr(b, key) if b else None
        table.add_row(label, _s(va), _s(vb), _delta(va, vb))

    row("time to first byte", "ttfb")
    row("first chunk", "first_chunk")
    row("duration", "duration")
    row("gap p50", "gap_p50")
    row("gap p95", "gap_p95")
    table.add_row("chunks", str(a.chunks) if a else "-", str(b.chunks) if b else "-", "")
    table.add_row("events", str(a.events) if a else "-", str(b.events) if b else "-", "")

    def tps(s: TimingStats | None) -> str:
        return "-" if s is None or s.tokens_per_second is None else f"{s.tokens_per_second:.1f}"

    table.add_row("tokens/s", tps(a), tps(b), "")
    return table


def _print_item(console: Console, item: InteractionDiff, limit: int) -> None:
    status = item.status
    if item.a_index is not None and item.b_index is not None and item.a_index != item.b_index:
        where = f"A#{item.a_index} / B#{item.b_index}"
    else:
        where = f"#{item.a_index if item.a_index is not None else item.b_index}"
    words = {"same": "unchanged", "changed": "changed", "added": "only in B", "removed": "only in A"}
    console.print(f"[{_STYLE[status]}]{_MARK[status]} {where} {escape(item.label)}: {words[status]}[/]")
    changes = item.changes
    for change in changes[:limit]:
        console.print(f"    {escape(str(change))}")
    if len(changes) > limit:
        console.print(f"    ... and {len(changes) - limit} more (--max-changes to see them)")
    if item.text_changed:
        console.print(f"    text: {escape(repr(item.text_a))} -> {escape(repr(item.text_b))}")
    a, b = item.timing_a, item.timing_b
    if a is not None and a == b:
        console.print(
            f"    timing identical (ttfb {_s(a.ttfb)}, duration {_s(a.duration)}, {a.chunks} chunks)"
        )
    else:
        console.print(_timing_table(a, b))
    console.print()


def run(args: argparse.Namespace) -> int:
    try:
        a = load_cassette(args.a)
        b = load_cassette(args.b)
    except ReplayError as exc:
        print(f"llm-replay diff: {one_line(exc)}", file=sys.stderr)
        return BAD_INPUT
    keys = () if args.no_ignore else DEFAULT_IGNORED_KEYS
    headers = () if args.no_ignore else DEFAULT_IGNORED_HEADERS
    result = diff_cassettes(
        a, b, ignore_keys=(*keys, *args.ignore_key), ignore_headers=(*headers, *args.ignore_header)
    )
    if args.json:
        print(json.dumps({"a": str(args.a), "b": str(args.b), **result.as_dict()}, indent=2))
        return 0 if result.same else 1
    console = Console(highlight=False, soft_wrap=True)
    for label, path, cassette in (("A", args.a, a), ("B", args.b, b)):
        n = len(cassette.interactions)
        console.print(f"{label}: {escape(str(path))} ({n} interaction{'s' if n != 1 else ''})")
    if result.ignored_keys or result.ignored_headers:
        console.print(
            f"[dim]ignoring keys {', '.join(result.ignored_keys) or '-'} and volatile headers "
            "(--no-ignore compares everything)[/]"
        )
    console.print()
    for item in result.interactions:
        _print_item(console, item, args.max_changes)
    console.print(
        f"{result.count('changed')} changed, {result.count('same')} unchanged, "
        f"{result.count('added')} only in B, {result.count('removed')} only in A."
    )
    return 0 if result.same else 1
