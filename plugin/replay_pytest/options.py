"""The plugin's command-line options as data: each module lists its own, one function adds them.

Example usage::

    def pytest_addoption(parser: pytest.Parser) -> None:
        add_options(parser, flag("--replay-strict", "Fail a test whose cassette ..."))
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest

__all__ = ["REPLAY_GROUP", "Option", "add_options", "flag", "value"]

REPLAY_GROUP = ("replay", "llm-replay: record and replay LLM API traffic")


@dataclass(frozen=True, slots=True)
class Option:
    name: str
    help: str
    settings: dict[str, Any] = field(default_factory=dict)


def flag(name: str, help: str, *, default: bool | None = None) -> Option:
    """An on/off option; ``default=None`` lets a marker or ini setting decide when it is absent."""
    return Option(name, help, {"action": "store_true", "default": default})


def value(
    name: str,
    help: str,
    *,
    metavar: str | None = None,
    choices: Sequence[str] | None = None,
    type: type | None = None,
    repeat: bool = False,
) -> Option:
    """An option taking a value (``repeat``: given several times, collected in a list)."""
    settings: dict[str, Any] = {"action": "append", "default": []} if repeat else {"default": None}
    extra = {"metavar": metavar, "choices": list(choices) if choices else None, "type": type}
    settings.update({k: v for k, v in extra.items() if v is not None})
    return Option(name, help, settings)


def add_options(parser: pytest.Parser, *options: Option, group: tuple[str, str] = REPLAY_GROUP) -> None:
    section = parser.getgroup(*group)
    for option in options:
        section.addoption(option.name, help=option.help, **option.settings)
