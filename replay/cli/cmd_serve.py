"""``llm-replay serve PATH``: serve cassettes over HTTP to any language and any process.

The first line on stdout is the base URL (``--port 0``, the default, picks a free port); point
an SDK's base URL at it. SIGINT or SIGTERM stops the server cleanly, finishing recordings.
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from .. import API_NAMES
from ..errors import ReplayError
from ..modes import RecordMode, Timing, parse_record_mode, parse_timing
from ..serve import SessionSettings
from ..serve.fault_spec import FaultSpecError, parse_faults
from ..serve.limits import DEFAULT_MAX_BODY
from ..serve.upstreams import UpstreamRefused, Upstreams

if TYPE_CHECKING:
    from ..serve import ServeConfig

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("path", type=Path, metavar="PATH", help="a cassette file, or a directory of them")
    parser.add_argument(
        "--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)"
    )
    parser.add_argument("--port", type=int, default=0, help="port (default 0: a free one, printed on start)")
    parser.add_argument(
        "--record-mode",
        default="none",
        choices=[m.value for m in RecordMode],
        help="none (default: replay only), once, new_episodes, all or rewrite; recording needs --upstream",
    )
    parser.add_argument(
        "--timing",
        default="real",
        choices=[Timing.REAL.value, Timing.INSTANT.value],
        help="real (default: chunks at their recorded offsets) or instant",
    )
    parser.add_argument(
        "--speed", type=float, default=1.0, help="divide recorded offsets by this (default 1.0)"
    )
    parser.add_argument(
        "--upstream",
        action="append",
        default=[],
        metavar="URL",
        help="base URL that record mode may forward to (repeatable); no other host is ever contacted",
    )
    parser.add_argument(
        "--faults",
        default=None,
        metavar="JSON",
        help='faults for every replay, e.g. \'[{"type": "Disconnect", "after_events": 3}]\'',
    )
    parser.add_argument(
        "--as-api",
        action="append",
        default=[],
        choices=API_NAMES,
        metavar="API",
        help="also answer chat calls made in this API, translated from the recorded one with its "
        f"timing (repeatable; {', '.join(API_NAMES)})",
    )
    parser.add_argument(
        "--allow-playback-repeats", action="store_true", help="serve an interaction again once all are played"
    )
    parser.add_argument(
        "--token",
        default=os.environ.get("LLM_REPLAY_SERVE_TOKEN"),
        help="require this token on the control API (/__replay/); default $LLM_REPLAY_SERVE_TOKEN",
    )
    parser.add_argument(
        "--max-body-mb",
        type=float,
        default=DEFAULT_MAX_BODY / 2**20,
        help="largest request body accepted (MiB)",
    )


def _config(args: argparse.Namespace) -> ServeConfig:
    path: Path = args.path
    if not path.exists() and path.suffix not in (".yaml", ".yml", ".json"):
        raise ReplayError(f"{path} does not exist: give a cassette file or a directory of cassettes.")
    if path.exists() and not (path.is_file() or path.is_dir()):
        raise ReplayError(f"{path} is neither a file nor a directory.")
    if not args.speed > 0:
        raise ReplayError(f"--speed must be positive, got {args.speed}.")
    if not 0 <= args.port <= 65535:
        raise ReplayError(f"--port must be 0-65535, got {args.port}.")
    mode = parse_record_mode(args.record_mode)
    try:
        faults = tuple(parse_faults(args.faults)) if args.faults else ()
        upstreams = Upstreams.of(args.upstream).urls
    except (FaultSpecError, UpstreamRefused) as exc:
        raise ReplayError(str(exc)) from None
    if mode is not RecordMode.NONE and not upstreams:
        raise ReplayError(
            f"--record-mode {mode.value} forwards requests that must be recorded to an upstream: name it "
            "with --upstream URL (e.g. --upstream https://api.openai.com)."
        )
    settings = SessionSettings(
        record_mode=mode,
        timing=parse_timing(args.timing),
        speed=args.speed,
        allow_playback_repeats=args.allow_playback_repeats,
        faults=faults,
        as_api=tuple(args.as_api),
    )
    try:
        from ..serve import ServeConfig
    except ModuleNotFoundError as exc:
        raise ReplayError(str(exc)) from None
    return ServeConfig(
        path=path,
        host=args.host,
        port=args.port,
        settings=settings,
        upstreams=upstreams,
        token=args.token or None,
        max_body=int(args.max_body_mb * 2**20),
    )


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def run(args: argparse.Namespace) -> int:
    config = _config(args)
    if not _is_loopback(config.host):
        print(
            f"llm-replay serve: warning: listening on {config.host}, reachable from other machines; "
            + (
                "the control API requires the token."
                if config.token
                else "consider --token for the control API."
            ),
            file=sys.stderr,
            flush=True,
        )

    def announce(url: str) -> None:
        print(url, flush=True)
        kind = "directory" if config.path.is_dir() else "cassette"
        print(
            f"llm-replay serve: {kind} {config.path}, record mode {config.settings.record_mode.value}, "
            f"timing {config.settings.timing.value} x{config.settings.speed:g}; Ctrl-C to stop",
            file=sys.stderr,
            flush=True,
        )

    from ..serve import run_forever

    run_forever(config, announce)
    return 0
