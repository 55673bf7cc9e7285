"""The ``llm-replay`` command: one module per subcommand, registered in :data:`COMMANDS`."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from ..errors import CassetteError, ReplayError
from .messages import BAD_INPUT, one_line

__all__ = ["COMMANDS", "main"]

# name -> (module under replay.cli, one-line help). Each module defines
# ``add_arguments(parser)`` and ``run(args) -> int``.
COMMANDS: dict[str, tuple[str, str]] = {
    "inspect": ("cmd_inspect", "Summarise a cassette: one row per interaction."),
    "convert": ("cmd_convert", "Convert cassettes between vcrpy and llm-replay formats (file or folder)."),
    "prune": ("cmd_prune", "Remove interactions no test played, using a --replay-usage-log file."),
    "unused": ("cmd_unused", "List cassette files that no collected test uses (--delete removes them)."),
    "diff": ("cmd_diff", "Compare two cassettes: requests, responses (JSON/SSE-aware) and timing."),
    "plot": (
        "cmd_plot",
        "Draw each interaction's chunk arrivals to PNG/SVG (needs llm-replay[plot]).",
    ),
    "scrub": (
        "cmd_scrub",
        "Remove secrets from cassettes in place (native and vcrpy); --check for pre-commit.",
    ),
    "serve": (
        "cmd_serve",
        "Serve cassettes over HTTP (any language, any process): prints its base URL first.",
    ),
    "demo": (
        "cmd_demo",
        "Replay the shipped demo cassette through the openai SDK (real, then virtual timing).",
    ),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="llm-replay", description="Record and replay LLM API traffic, chunk by chunk with timing."
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name, (module_name, help_text) in COMMANDS.items():
        module = importlib.import_module(f"{__name__}.{module_name}")
        cmd = sub.add_parser(name, help=help_text, description=help_text)
        module.add_arguments(cmd)
        cmd.set_defaults(_module=module)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code: int = args._module.run(args)
    except CassetteError as exc:
        print(f"llm-replay {args.command}: {one_line(exc)}", file=sys.stderr)
        return BAD_INPUT
    except ReplayError as exc:
        print(f"llm-replay {args.command}: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away (`llm-replay inspect ... | head`): stop quietly, like cat does.
        sys.stderr.close()
        return 141
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
