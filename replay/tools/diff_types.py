"""What a cassette diff reports: changes, timing statistics, per-interaction and whole-cassette
results, and the keys and headers ignored by default."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from .timeline import Timeline, percentile

__all__ = [
    "DEFAULT_IGNORED_HEADERS",
    "DEFAULT_IGNORED_KEYS",
    "CassetteDiff",
    "Change",
    "InteractionDiff",
    "TimingStats",
]

DEFAULT_IGNORED_KEYS: tuple[str, ...] = ("id", "created", "system_fingerprint")
DEFAULT_IGNORED_HEADERS: tuple[str, ...] = (
    "date",
    "age",
    "via",
    "server-timing",
    "alt-svc",
    "cf-ray",
    "cf-cache-status",
    "set-cookie",
    "cookie",
    "authorization",
    "*api-key",
    "content-length",
    "user-agent",
    "x-stainless-*",
    "*request-id",
    "*processing-ms",
    "x-envoy-upstream-service-time",
    "*ratelimit*remaining*",
    "*ratelimit*reset*",
)
_MAX_CHANGES = 200  # per interaction; a rewritten 5,000-event stream needs no more to be understood


@dataclass(frozen=True, slots=True)
class Change:
    """One difference: where, the value in A, the value in B (short forms; ``None`` = absent)."""

    where: str
    a: str | None
    b: str | None

    def __str__(self) -> str:
        if self.a is None:
            return f"{self.where}: added {self.b}"
        if self.b is None:
            return f"{self.where}: removed {self.a}"
        return f"{self.where}: {self.a} -> {self.b}"


@dataclass(frozen=True, slots=True)
class TimingStats:
    """Time to first byte (headers), first chunk, last chunk, and gaps between chunks (seconds)."""

    ttfb: float
    first_chunk: float | None
    duration: float
    chunks: int
    events: int
    gap_p50: float | None
    gap_p95: float | None
    tokens_per_second: float | None

    @classmethod
    def of(cls, line: Timeline) -> TimingStats:
        gaps = line.gaps
        return cls(
            ttfb=line.ttfb,
            first_chunk=line.first_chunk,
            duration=line.duration,
            chunks=len(line.chunk_times),
            events=len(line.events),
            gap_p50=percentile(gaps, 50),
            gap_p95=percentile(gaps, 95),
            tokens_per_second=line.tokens_per_second,
        )


@dataclass(frozen=True, slots=True)
class InteractionDiff:
    """One interaction of A paired with one of B (either side may be missing)."""

    a_index: int | None
    b_index: int | None
    label: str  # "POST /v1/chat/completions"
    request: tuple[Change, ...] = ()
    response: tuple[Change, ...] = ()
    timing_a: TimingStats | None = None
    timing_b: TimingStats | None = None
    text_a: str | None = None
    text_b: str | None = None
    truncated: bool = False

    @property
    def status(self) -> Literal["added", "removed", "changed", "same"]:
        if self.a_index is None:
            return "added"
        if self.b_index is None:
            return "removed"
        return "changed" if self.request or self.response else "same"

    @property
    def changes(self) -> tuple[Change, ...]:
        return self.request + self.response

    @property
    def content_changes(self) -> tuple[Change, ...]:
        """Changes outside the headers: status, URL, bodies, events, how the stream ended."""
        return tuple(c for c in self.changes if ".headers." not in c.where)

    @property
    def text_changed(self) -> bool:
        return self.text_a is not None and self.text_b is not None and self.text_a != self.text_b

    def as_dict(self) -> dict[str, Any]:
        def stats(s: TimingStats | None) -> dict[str, Any] | None:
            return None if s is None else {k: getattr(s, k) for k in TimingStats.__slots__}

        return {
            "a": self.a_index,
            "b": self.b_index,
            "label": self.label,
            "status": self.status,
            "request": [_change_dict(c) for c in self.request],
            "response": [_change_dict(c) for c in self.response],
            "timing_a": stats(self.timing_a),
            "timing_b": stats(self.timing_b),
            "text_a": self.text_a,
            "text_b": self.text_b,
            "truncated": self.truncated,
        }


def _change_dict(c: Change) -> dict[str, Any]:
    return {"where": c.where, "a": c.a, "b": c.b}


@dataclass(frozen=True, slots=True)
class CassetteDiff:
    """All pairs, in B's order (interactions only in A come where they stood in A)."""

    interactions: tuple[InteractionDiff, ...]
    ignored_keys: tuple[str, ...] = DEFAULT_IGNORED_KEYS
    ignored_headers: tuple[str, ...] = DEFAULT_IGNORED_HEADERS

    @property
    def same(self) -> bool:
        """True when no request or response differs (timing always may)."""
        return all(d.status == "same" for d in self.interactions)

    def count(self, status: str) -> int:
        return sum(1 for d in self.interactions if d.status == status)

    def as_dict(self) -> dict[str, Any]:
        return {
            "same": self.same,
            "added": self.count("added"),
            "removed": self.count("removed"),
            "changed": self.count("changed"),
            "unchanged": self.count("same"),
            "ignored_keys": list(self.ignored_keys),
            "ignored_headers": list(self.ignored_headers),
            "interactions": [d.as_dict() for d in self.interactions],
        }
