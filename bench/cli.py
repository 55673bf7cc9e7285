"""``python -m bench [--quick] [--only SECTION ...] [--json PATH] [--markdown PATH]``.

Runs the sections in order, prints each row as it is measured, then the whole table.
"""

from __future__ import annotations

import argparse
import importlib
import tempfile
import time
from pathlib import Path

from .core import Context, describe_machine, format_table, guard_network, machine_info, write_json

__all__ = ["SECTIONS", "expected_row_ids", "main"]

SECTIONS = ("overhead", "scaling", "virtual", "realtime", "recording", "memory", "imports", "serve", "dropin")


def expected_row_ids(quick: bool, sections: tuple[str, ...] = SECTIONS) -> list[str]:
    """Every row id a run produces (a row may say it was skipped, e.g. without ../shared)."""
    ids: list[str] = []
    for name in sections:
        module = importlib.import_module(f"bench.{name}")
        row_ids = getattr(module, "row_ids", None)
        ids += row_ids(quick) if row_ids is not None else module.ROW_IDS
    return ids


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="tiny sizes: checks the bench runs")
    parser.add_argument("--only", nargs="+", choices=SECTIONS, help="run only these sections")
    parser.add_argument("--json", type=Path, help="also write the results as JSON here")
    parser.add_argument("--markdown", type=Path, help="also write the table as Markdown here")
    args = parser.parse_args(argv)
    guard_network()

    info = machine_info()
    print(f"machine: {describe_machine(info)}", flush=True)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="llm-replay-bench-") as tmp:
        ctx = Context(quick=args.quick, workdir=Path(tmp), log=lambda s: print(s, flush=True))
        for name in args.only or SECTIONS:
            print(f"== {name}", flush=True)
            t0 = time.perf_counter()
            module = importlib.import_module(f"bench.{name}")
            module.run(ctx)
            print(f"   ({time.perf_counter() - t0:.1f} s)", flush=True)
    seconds = time.perf_counter() - started
    table = format_table(ctx.rows)
    print()
    print(table)
    failed = sum(1 for r in ctx.rows if r.passed is False)
    passed = sum(1 for r in ctx.rows if r.passed is True)
    print(f"\n{passed} targets met, {failed} missed; {len(ctx.rows)} rows in {seconds:.1f} s")
    if args.json:
        write_json(args.json, info, ctx.rows, seconds)
    if args.markdown:
        args.markdown.parent.mkdir(parents=True, exist_ok=True)
        args.markdown.write_text(f"Machine: {describe_machine(info)}\n\n{table}\n")
    return 0
