"""What a re-recording changed: interactions added/removed, content changed, timing before -> after.

Computed when a cassette that already had interactions is recorded again (record mode ``all``
or ``rewrite``, or ``expiry="record"``) and saved. Available as ``cassette.changes`` after the
``use_cassette`` block, and printed in the pytest terminal summary.

Example usage::

    with replay.use_cassette("cassettes/chat.yaml", record_mode="rewrite") as cassette:
        ...
    print(cassette.changes)   # "cassettes/chat.yaml re-recorded: 1 changed ..."; None if nothing was replaced
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..model.cassette import Cassette, Interaction
from ..tools.diff import CassetteDiff, Change, InteractionDiff, TimingStats, diff_cassettes

__all__ = ["RecordingChanges", "recording_changes"]


def _s(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}s"


def _quote(text: str, limit: int = 60) -> str:
    text = text if len(text) <= limit else text[: limit - 3] + "..."
    return repr(text)


def _timing(a: TimingStats | None, b: TimingStats | None) -> str:
    if a is None or b is None:
        s = a or b
        assert s is not None
        return f"ttfb {_s(s.ttfb)}, duration {_s(s.duration)}, {s.chunks} chunks"
    parts = [f"ttfb {_s(a.ttfb)} -> {_s(b.ttfb)}", f"duration {_s(a.duration)} -> {_s(b.duration)}"]
    if a.chunks != b.chunks:
        parts.append(f"chunks {a.chunks} -> {b.chunks}")
    return ", ".join(parts)


def _first(changes: Sequence[Change]) -> str:
    more = len(changes) - 1
    return str(changes[0]) + (f" (+{more} more)" if more else "")


def _describe(item: InteractionDiff) -> str:
    if item.status == "added":
        return f"+ #{item.b_index} {item.label}: added ({_timing(None, item.timing_b)})"
    if item.status == "removed":
        return f"- #{item.a_index} {item.label}: removed (was {_timing(item.timing_a, None)})"
    where = f"#{item.a_index}" if item.a_index == item.b_index else f"#{item.a_index} -> #{item.b_index}"
    content = item.content_changes
    if not content:
        what = "content unchanged" + (" (headers differ)" if item.changes else "")
    else:
        bits = []
        if item.text_changed:
            bits.append(f"text {_quote(item.text_a or '')} -> {_quote(item.text_b or '')}")
        request = [c for c in content if c.where.startswith("request.")]
        if request:
            bits.append(f"request: {_first(request)}")
        rest = [
            c
            for c in content
            if c.where.startswith("response.") and not (item.text_changed and ".data." in c.where)
        ]
        if rest:
            bits.append(_first(rest))
        what = "content changed: " + "; ".join(bits or ["response differs"])
    return f"~ {where} {item.label}: {what}; {_timing(item.timing_a, item.timing_b)}"


@dataclass(frozen=True, slots=True)
class RecordingChanges:
    """The difference between a cassette's previous interactions and its new recording."""

    path: Path
    diff: CassetteDiff

    @property
    def added(self) -> int:
        return self.diff.count("added")

    @property
    def removed(self) -> int:
        return self.diff.count("removed")

    @property
    def changed(self) -> int:
        """Paired interactions whose content (not just headers) differs."""
        return sum(1 for d in self.diff.interactions if d.status == "changed" and d.content_changes)

    @property
    def unchanged(self) -> int:
        return sum(1 for d in self.diff.interactions if d.a_index is not None and d.b_index is not None) - (
            self.changed
        )

    def headline(self) -> str:
        return (
            f"{self.path} re-recorded: {self.changed} changed, {self.added} added, "
            f"{self.removed} removed, {self.unchanged} unchanged"
        )

    def lines(self) -> list[str]:
        return [_describe(item) for item in self.diff.interactions]

    def __str__(self) -> str:
        return "\n".join([self.headline(), *("  " + line for line in self.lines())])

    def as_dict(self) -> dict[str, Any]:
        return {"path": str(self.path), **self.diff.as_dict()}


def recording_changes(path: Path, previous: Cassette, new: Sequence[Interaction]) -> RecordingChanges:
    """Compare the interactions a cassette had with those just recorded for it."""
    return RecordingChanges(path=path, diff=diff_cassettes(previous, new))
