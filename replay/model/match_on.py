"""The names ``match_on`` accepts (the model validates them when a cassette loads; matching
compares requests on them)."""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["DEFAULT_MATCH_ON", "MATCHERS", "normalize_match_on"]

DEFAULT_MATCH_ON: tuple[str, ...] = ("method", "url", "body")
# vcrpy's names are accepted too ("uri" is "url"; "raw_body" compares bytes exactly).
_ALIASES = {"uri": "url"}
# "chat": the conversation as data, across API layouts (replay.chat.matchkey; used by as_api).
MATCHERS = ("method", "scheme", "host", "port", "path", "query", "url", "body", "raw_body", "chat")


def normalize_match_on(match_on: Iterable[str] | None) -> tuple[str, ...]:
    """Validate matcher names; raises ValueError naming the unknown ones."""
    if match_on is None:
        return DEFAULT_MATCH_ON
    if isinstance(match_on, str):
        match_on = [match_on]
    out: list[str] = []
    for name in match_on:
        if not isinstance(name, str):
            raise ValueError(f"match_on entries are matcher names, got {name!r}")
        canon = _ALIASES.get(name, name)
        if canon not in MATCHERS:
            raise ValueError(f"Unknown matcher {name!r} in match_on; known matchers: {', '.join(MATCHERS)}.")
        if canon not in out:
            out.append(canon)
    if not out:
        raise ValueError("match_on is empty: every request would match every interaction.")
    return tuple(out)
