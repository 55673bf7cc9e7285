"""``llm-replay scrub PATH...``: remove secrets from cassette files in place (native and vcrpy).

With ``--check`` nothing is written: the command lists every secret-looking value and exits 1
if there is any (a pre-commit hook). Without it, files are rewritten atomically; anything
that could not be removed automatically (a key inside a response body, unless
``--response-bodies``) is listed and the exit status is 1.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..errors import ReplayError
from ..scrub import Scrubber
from ..scrub.files import FileResult, scrub_path
from .messages import BAD_INPUT, one_line

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "paths",
        nargs="+",
        type=Path,
        metavar="PATH",
        help="cassette file(s) or folder(s) (searched recursively)",
    )
    parser.add_argument(
        "--check", action="store_true", help="write nothing; exit 1 if anything secret-looking is found"
    )
    parser.add_argument(
        "--header", action="append", default=[], metavar="NAME", help="also scrub this header (repeatable)"
    )
    parser.add_argument(
        "--query",
        action="append",
        default=[],
        metavar="NAME",
        help="also scrub this query parameter (repeatable)",
    )
    parser.add_argument(
        "--body-field",
        action="append",
        default=[],
        metavar="NAME",
        help="also scrub this JSON field in request and response bodies (repeatable)",
    )
    parser.add_argument(
        "--response-bodies",
        action="store_true",
        help="also replace key-shaped values inside response bodies (they are replayed as REDACTED)",
    )


def _report(result: FileResult, check: bool) -> None:
    if result.error is not None:
        print(f"{result.path}: error: {result.error}", file=sys.stderr)
        return
    if result.kind == "not a cassette":
        print(f"{result.path}: skipped (not a cassette)")
        return
    if result.rewritten:
        print(f"{result.path}: scrubbed {len(result.fixed)} value(s) ({result.kind})")
    for finding in result.findings:
        label = "secret" if check else "secret remains"
        print(f"{result.path}: {label}: {finding}")
    if not result.rewritten and not result.findings:
        print(f"{result.path}: clean ({result.kind})")


def run(args: argparse.Namespace) -> int:
    scrubber = Scrubber.build(
        filter_headers=args.header,
        filter_query=args.query,
        filter_body_fields=args.body_field,
        redact_response_bodies=args.response_bodies,
    )
    results: list[FileResult] = []
    for path in args.paths:
        try:
            for result in scrub_path(path, scrubber, check_only=args.check):
                _report(result, args.check)
                results.append(result)
        except ReplayError as exc:
            print(f"{path}: error: {one_line(exc)}", file=sys.stderr)
            results.append(FileResult(path, "not a cassette", error=str(exc)))
    errors = [r for r in results if r.error is not None]
    dirty = [r for r in results if r.findings]
    cassettes = [r for r in results if r.kind != "not a cassette"]
    rewritten = [r for r in results if r.rewritten]
    summary = (
        f"{len(cassettes)} cassette(s) checked"
        if args.check
        else f"{len(cassettes)} cassette(s), {len(rewritten)} rewritten"
    )
    if dirty:
        fix = (
            "run `llm-replay scrub PATH` to remove them"
            if args.check
            else (
                "remove them by hand, with --response-bodies, or re-record with a before_record_response hook"
            )
        )
        print(f"{summary}; {len(dirty)} still contain secret-looking values: {fix}.", file=sys.stderr)
    elif not errors:
        print(f"{summary}; no secrets found.")
    if errors:
        print(f"{len(errors)} file(s) could not be read.", file=sys.stderr)
    return BAD_INPUT if errors else 1 if dirty else 0
