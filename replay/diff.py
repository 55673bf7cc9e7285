"""Comparing two cassettes interaction by interaction: requests, responses, timing.

Interactions are paired first by identical requests (the default matchers: method, URL and
JSON body as data), in recorded order, then by method + host + path, so a request whose body
changed still shows as one changed interaction. Bodies are compared as JSON data when both sides
parse, SSE streams event by event (each event's data as JSON), anything else as text. Keys that
change on every call (``id``, ``created``, ``system_fingerprint``) and volatile headers
(``date``, request ids, rate-limit counters...) are ignored unless asked for.

Example usage::

    result = replay.diff_cassettes(replay.load_cassette("old.yaml"), replay.load_cassette("new.yaml"))
    for item in result.interactions:
        print(item.label, item.status, [str(c) for c in item.changes])
"""

from __future__ import annotations

import difflib
import fnmatch
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlsplit

from .cassette import Cassette, Headers, Interaction, Response
from .matching import DEFAULT_MATCH_ON, request_parts
from .model.framing import Event
from .timeline import Timeline, event_text, percentile, timeline

__all__ = [
    "DEFAULT_IGNORED_HEADERS",
    "DEFAULT_IGNORED_KEYS",
    "CassetteDiff",
    "Change",
    "InteractionDiff",
    "TimingStats",
    "diff_cassettes",
    "pair_interactions",
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


# -- pairing -----------------------------------------------------------------------------------


def _loose_key(interaction: Interaction) -> tuple[str, str, str]:
    split = urlsplit(interaction.request.url)
    return (interaction.request.method.upper(), (split.hostname or "").lower(), split.path or "/")


def pair_interactions(
    a: Sequence[Interaction], b: Sequence[Interaction]
) -> list[tuple[int | None, int | None]]:
    """Pairs of indices (A, B): same request first, then same method + host + path, in order."""
    pairs: dict[int, int] = {}  # b index -> a index
    used_a: set[int] = set()
    for key_of in (
        lambda i: request_parts(i.request).key(DEFAULT_MATCH_ON),
        _loose_key,
    ):
        waiting: dict[Any, list[int]] = {}
        for ia, interaction in enumerate(a):
            if ia not in used_a:
                waiting.setdefault(key_of(interaction), []).append(ia)
        for ib, interaction in enumerate(b):
            if ib in pairs:
                continue
            queue = waiting.get(key_of(interaction))
            if queue:
                ia = queue.pop(0)
                pairs[ib] = ia
                used_a.add(ia)
    out: list[tuple[int | None, int | None]] = []
    removed = [ia for ia in range(len(a)) if ia not in used_a]
    for ib in range(len(b)):
        partner = pairs.get(ib)
        # Interactions only in A go before the first B paired with a later A interaction.
        while removed and (partner is not None and removed[0] < partner):
            out.append((removed.pop(0), None))
        out.append((partner, ib))
    out.extend((gone, None) for gone in removed)
    return out


# -- comparing values --------------------------------------------------------------------------


def _short(value: Any, limit: int = 80) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    text = json.dumps(text, ensure_ascii=False) if isinstance(value, str) else text
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _short_event(event: Event, ignore: frozenset[str]) -> str:
    ok, value = _parse_json(event.data)
    if not ok:
        return _short(event.data)
    text = event_text(value, event.event)
    # What a reader wants to know about an added/removed token event is its text.
    return f"event with text {_short(text)}" if text else _short(_strip(value, ignore))


def _json_changes(where: str, a: Any, b: Any, ignore: frozenset[str], out: list[Change]) -> None:
    if len(out) >= _MAX_CHANGES:
        return
    if isinstance(a, dict) and isinstance(b, dict):
        for key in dict.fromkeys([*a, *b]):
            if key in ignore:
                continue
            sub = f"{where}.{key}" if where else str(key)
            if key not in a:
                out.append(Change(sub, None, _short(b[key])))
            elif key not in b:
                out.append(Change(sub, _short(a[key]), None))
            else:
                _json_changes(sub, a[key], b[key], ignore, out)
    elif isinstance(a, list) and isinstance(b, list):
        for i in range(max(len(a), len(b))):
            sub = f"{where}[{i}]"
            if i >= len(a):
                out.append(Change(sub, None, _short(b[i])))
            elif i >= len(b):
                out.append(Change(sub, _short(a[i]), None))
            else:
                _json_changes(sub, a[i], b[i], ignore, out)
    elif a != b or type(a) is not type(b):
        out.append(Change(where, _short(a), _short(b)))


def _parse_json(data: bytes | str) -> tuple[bool, Any]:
    try:
        return True, json.loads(data)
    except (ValueError, RecursionError):
        return False, None


def _body_changes(where: str, a: bytes, b: bytes, ignore: frozenset[str], out: list[Change]) -> None:
    if a == b:
        return
    ok_a, ja = _parse_json(a) if a.strip() else (False, None)
    ok_b, jb = _parse_json(b) if b.strip() else (False, None)
    if ok_a and ok_b:
        # Same data in another layout is the same content (and matches the same way).
        _json_changes(where, ja, jb, ignore, out)
        return
    _text_changes(where, a.decode("utf-8", "replace"), b.decode("utf-8", "replace"), out)


def _text_changes(where: str, a: str, b: str, out: list[Change]) -> None:
    if a == b:
        return
    la, lb = a.splitlines(), b.splitlines()
    matcher = difflib.SequenceMatcher(a=la, b=lb, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        old = "\n".join(la[i1:i2]) if i2 > i1 else None
        new = "\n".join(lb[j1:j2]) if j2 > j1 else None
        out.append(
            Change(
                f"{where} line {i1 + 1}",
                None if old is None else _short(old),
                None if new is None else _short(new),
            )
        )
        if len(out) >= _MAX_CHANGES:
            return


def _ignored(name: str, patterns: Iterable[str]) -> bool:
    lname = name.lower()
    return any(fnmatch.fnmatchcase(lname, p) for p in patterns)


def _header_changes(where: str, a: Headers, b: Headers, ignore: tuple[str, ...], out: list[Change]) -> None:
    def grouped(headers: Headers) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for name, value in headers:
            if not _ignored(name, ignore):
                out.setdefault(name.lower(), []).append(value)
        return out

    ga, gb = grouped(a), grouped(b)
    for name in dict.fromkeys([*ga, *gb]):
        va, vb = ga.get(name), gb.get(name)
        if va == vb:
            continue
        out.append(
            Change(
                f"{where}.{name}",
                None if va is None else _short(", ".join(va)),
                None if vb is None else _short(", ".join(vb)),
            )
        )


def _strip(value: Any, ignore: frozenset[str]) -> Any:
    if isinstance(value, dict):
        return {k: _strip(v, ignore) for k, v in value.items() if k not in ignore}
    if isinstance(value, list):
        return [_strip(v, ignore) for v in value]
    return value


def _event_key(event: Event, ignore: frozenset[str]) -> str:
    ok, data = _parse_json(event.data)
    body = json.dumps(_strip(data, ignore), sort_keys=True) if ok else event.data
    return f"{event.event}\n{body}"


def _event_changes(a: Response, b: Response, ignore: frozenset[str], out: list[Change]) -> None:
    ea, eb = a.events(), b.events()
    if len(ea) != len(eb):
        out.append(Change("response.events", f"{len(ea)} events", f"{len(eb)} events"))
    # Align the two streams like a text diff aligns lines, so one extra token shows as one
    # added event instead of every later event "changing".
    matcher = difflib.SequenceMatcher(
        a=[_event_key(e, ignore) for e in ea], b=[_event_key(e, ignore) for e in eb], autojunk=False
    )
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        for k in range(max(i2 - i1, j2 - j1)):
            if len(out) >= _MAX_CHANGES:
                return
            i, j = i1 + k, j1 + k
            if i >= i2:
                out.append(Change(f"response.events[{j}]", None, _short_event(eb[j], ignore)))
                continue
            if j >= j2:
                out.append(Change(f"response.events[{i}]", _short_event(ea[i], ignore), None))
                continue
            where = f"response.events[{i}]" if i == j else f"response.events[{i}->{j}]"
            x, y = ea[i], eb[j]
            if x.event != y.event:
                out.append(Change(f"{where}.event", _short(x.event), _short(y.event)))
            ok_x, jx = _parse_json(x.data)
            ok_y, jy = _parse_json(y.data)
            if ok_x and ok_y:
                _json_changes(f"{where}.data", jx, jy, ignore, out)
            elif x.data != y.data:
                out.append(Change(f"{where}.data", _short(x.data), _short(y.data)))


def _response_changes(
    a: Response, b: Response, keys: frozenset[str], headers: tuple[str, ...], out: list[Change]
) -> None:
    if a.status != b.status:
        out.append(Change("response.status", str(a.status), str(b.status)))
    _header_changes("response.headers", a.headers, b.headers, headers, out)
    fa, fb = a.framing, b.framing
    if fa is not None or fb is not None:
        if fa == fb:
            _event_changes(a, b, keys, out)
        else:
            out.append(Change("response.framing", fa or "-", fb or "-"))
    else:
        _body_changes("response.body", a.body, b.body, keys, out)
    ea, eb = a.end, b.end
    if (ea and ea.kind) != (eb and eb.kind):
        out.append(Change("response.end", ea.kind if ea else "complete", eb.kind if eb else "complete"))


def _diff_pair(
    a: Interaction | None,
    b: Interaction | None,
    ia: int | None,
    ib: int | None,
    keys: frozenset[str],
    headers: tuple[str, ...],
) -> InteractionDiff:
    some = b if b is not None else a
    assert some is not None
    label = f"{some.request.method} {urlsplit(some.request.url).path or '/'}"
    la = timeline(a.response) if a is not None else None
    lb = timeline(b.response) if b is not None else None
    request: list[Change] = []
    response: list[Change] = []
    if a is not None and b is not None:
        ra, rb = a.request, b.request
        if ra.method.upper() != rb.method.upper():
            request.append(Change("request.method", ra.method, rb.method))
        if ra.url != rb.url:
            pa, pb = request_parts(ra), request_parts(rb)
            if pa.url != pb.url:
                request.append(Change("request.url", ra.url, rb.url))
        _header_changes("request.headers", ra.headers, rb.headers, headers, request)
        _body_changes("request.body", ra.body, rb.body, frozenset(), request)
        _response_changes(a.response, b.response, keys, headers, response)
    truncated = len(request) + len(response) >= _MAX_CHANGES
    return InteractionDiff(
        a_index=ia,
        b_index=ib,
        label=label,
        request=tuple(request),
        response=tuple(response),
        timing_a=TimingStats.of(la) if la is not None else None,
        timing_b=TimingStats.of(lb) if lb is not None else None,
        text_a=la.text if la is not None else None,
        text_b=lb.text if lb is not None else None,
        truncated=truncated,
    )


def diff_cassettes(
    a: Cassette | Sequence[Interaction],
    b: Cassette | Sequence[Interaction],
    *,
    ignore_keys: Iterable[str] = DEFAULT_IGNORED_KEYS,
    ignore_headers: Iterable[str] = DEFAULT_IGNORED_HEADERS,
) -> CassetteDiff:
    """Compare two cassettes (or lists of interactions), interaction by interaction.

    ``ignore_keys`` are JSON keys skipped at any depth in response bodies and SSE event data;
    ``ignore_headers`` are header names (glob patterns, case-insensitive) skipped on both sides.

    Example usage::

        result = replay.diff_cassettes(old, new, ignore_keys=())   # compare ids too
        print(result.same, result.count("changed"))
    """
    xs = a.interactions if isinstance(a, Cassette) else list(a)
    ys = b.interactions if isinstance(b, Cassette) else list(b)
    keys = tuple(ignore_keys)
    headers = tuple(h.lower() for h in ignore_headers)
    items = [
        _diff_pair(
            xs[ia] if ia is not None else None,
            ys[ib] if ib is not None else None,
            ia,
            ib,
            frozenset(keys),
            headers,
        )
        for ia, ib in pair_interactions(xs, ys)
    ]
    return CassetteDiff(tuple(items), ignored_keys=keys, ignored_headers=headers)
