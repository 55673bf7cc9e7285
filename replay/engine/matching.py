"""Request matching: which recorded interaction answers a live request.

Requests are compared on a tuple of normalised parts (``match_on``): by default method, URL
(scheme, host, port, path, and query parameters in any order) and body (JSON compared as data,
so key order and whitespace do not matter). Interactions are indexed by that tuple, so a lookup
costs the same at 10 or 20,000 interactions; identical requests are served in recorded order.
On a miss, :meth:`Matcher.explain_miss` names the closest recorded request and how it differs.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

from ..model.cassette import Interaction, Request
from ..model.headers import header_value
from ..model.match_on import DEFAULT_MATCH_ON, MATCHERS, normalize_match_on
from ..scrub.bodies import form_pairs, looks_like_form

if TYPE_CHECKING:
    from ..chat.matchkey import ChatKey

__all__ = ["DEFAULT_MATCH_ON", "MATCHERS", "Matcher", "RequestParts", "normalize_match_on", "request_parts"]

_DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}
_MEMO_LIMIT = 4096


def _canonical_body(body: bytes) -> Any:
    if not body:
        return b""
    head = body.lstrip()[:1]
    if head in (b"{", b"["):
        try:
            return ("json", json.dumps(json.loads(body), sort_keys=True, separators=(",", ":")))
        except (ValueError, RecursionError):
            pass
    if looks_like_form(body):
        # Decoded pairs: a recording re-encoded by another tool (":" vs "%3A") still matches.
        return ("form", form_pairs(body))
    return body


@dataclass(slots=True)
class RequestParts:
    """A request split into the normalised parts that matchers compare."""

    method: str
    scheme: str
    host: str
    port: int | None
    path: str
    query: tuple[tuple[str, str], ...]
    raw_body: bytes
    _body: Any = field(default=None)
    _chat: ChatKey | None = field(default=None)
    _keys: dict[tuple[str, ...], tuple[Any, ...]] = field(default_factory=dict)

    @property
    def url(self) -> tuple[Any, ...]:
        return (self.scheme, self.host, self.port, self.path, self.query)

    @property
    def body(self) -> Any:
        if self._body is None:
            self._body = _canonical_body(self.raw_body)
        return self._body

    @property
    def chat(self) -> ChatKey:
        if self._chat is None:
            # The codecs load with the first request matched on "chat" (as_api), not with the engine.
            from ..chat.matchkey import chat_key

            query = f"?{'&'.join(f'{k}={v}' for k, v in self.query)}" if self.query else ""
            self._chat = chat_key(
                self.method, f"{self.scheme}://{self.host}{self.path}{query}", self.raw_body
            )
        return self._chat

    def get(self, name: str) -> Any:
        return getattr(self, name)

    def key(self, match_on: tuple[str, ...]) -> tuple[Any, ...]:
        # Memoised: the parts of a repeated request are shared (Matcher.parts_of).
        key = self._keys.get(match_on)
        if key is None:
            key = self._keys[match_on] = tuple(getattr(self, name) for name in match_on)
        return key


def request_parts(request: Request) -> RequestParts:
    """Normalise a request for matching."""
    split = urlsplit(request.url)
    scheme = split.scheme.lower()
    try:
        port = split.port
    except ValueError:
        port = None
    return RequestParts(
        method=request.method.upper(),
        scheme=scheme,
        host=(split.hostname or "").lower(),
        port=port if port is not None else _DEFAULT_PORTS.get(scheme),
        path=split.path or "/",
        query=tuple(sorted(parse_qsl(split.query, keep_blank_values=True))),
        raw_body=request.body,
    )


@dataclass(slots=True)
class _Slot:
    """The interactions that share one key, in file order, and how far playback got."""

    indices: list[int] = field(default_factory=list)
    cursor: int = 0  # next not-yet-played position
    repeats: int = 0


@dataclass(frozen=True, slots=True)
class Match:
    index: int
    interaction: Interaction
    repeat: bool


class Matcher:
    """Finds the interaction for each request, in recorded order, in O(number of match rules).

    Example usage::

        matcher = Matcher(cassette.interactions)
        found = matcher.find(request)   # a Match, or None
    """

    def __init__(
        self,
        interactions: Sequence[Interaction],
        *,
        match_on: Iterable[str] | None = None,
        allow_playback_repeats: bool = False,
        prepare: Callable[[Request], Request] | None = None,
        memoize: bool = True,
    ) -> None:
        self.match_on = normalize_match_on(match_on)
        self.allow_playback_repeats = allow_playback_repeats
        self._prepare = prepare
        # (method, URL, body, content-type) -> parts of the prepared request. A live request is
        # usually byte-identical to its recording in everything matching looks at, so it skips
        # preparation (scrubbing) and JSON canonicalisation. Off when ``prepare`` may depend on
        # anything else (a user hook).
        self._memo: dict[tuple[str, str, bytes, str | None], RequestParts] | None = {} if memoize else None
        self._interactions: list[Interaction] = []
        self._parts: list[RequestParts] = []
        self._plays: list[int] = []
        self._tables: dict[tuple[str, ...], dict[tuple[Any, ...], _Slot]] = {}
        # Interactions [0, _indexed) have parts and table slots. Indexing waits for the first
        # lookup: a test that opens a cassette and makes no request (or one) pays nothing for
        # the interactions it never compares.
        self._indexed = 0
        self._lock = threading.RLock()
        self._interactions.extend(interactions)
        self._plays.extend(0 for _ in interactions)

    # -- building -------------------------------------------------------------------------

    def _rule(self, interaction: Interaction) -> tuple[str, ...]:
        if interaction.match_on is not None:
            return normalize_match_on(interaction.match_on)
        return self.match_on

    def cached_parts(self, key: tuple[str, str, bytes, str | None]) -> RequestParts | None:
        """The parts memoised for (method, URL, body, content-type), if any (see __init__)."""
        if self._memo is None:
            return None
        self._ensure_indexed()  # the recorded requests' parts are what a live one usually hits
        return self._memo.get(key)

    def parts_of(self, request: Request) -> RequestParts:
        """The normalised parts matching compares, after ``prepare`` (memoised, see __init__)."""
        memo = self._memo
        if memo is not None:
            key = (request.method, request.url, request.body, header_value(request.headers, "content-type"))
            parts = memo.get(key)
            if parts is not None:
                return parts
        prepared = self._prepare(request) if self._prepare is not None else request
        parts = request_parts(prepared)
        if memo is not None:
            if len(memo) > _MEMO_LIMIT + len(self._interactions):
                memo.clear()  # bounded: a long session of distinct requests starts afresh
            memo[key] = parts
        return parts

    def _ensure_indexed(self) -> None:
        with self._lock:
            while self._indexed < len(self._interactions):
                index = self._indexed
                interaction = self._interactions[index]
                parts = self.parts_of(interaction.request)
                self._parts.append(parts)
                rule = self._rule(interaction)
                slot = self._tables.setdefault(rule, {}).setdefault(parts.key(rule), _Slot())
                slot.indices.append(index)
                if self._plays[index] and slot.cursor == len(slot.indices) - 1:
                    slot.cursor += 1
                self._indexed += 1

    def __len__(self) -> int:
        return len(self._interactions)

    def add_recorded(self, interaction: Interaction) -> int:
        """Add an interaction recorded in this session; it counts as played already."""
        with self._lock:
            self._interactions.append(interaction)
            self._plays.append(1)
            return len(self._interactions) - 1

    # -- lookup ---------------------------------------------------------------------------

    def find(self, request: Request | RequestParts, *, consume: bool = True) -> Match | None:
        """The interaction to play for ``request`` (marked as played), or None.

        With ``consume=False`` nothing is marked: the same call with ``consume=True`` would
        return the same match (a fault that answers instead of the recording uses this).
        ``request`` may be the result of :meth:`parts_of`, to prepare a request only once.
        """
        parts = request if isinstance(request, RequestParts) else self.parts_of(request)
        with self._lock:
            self._ensure_indexed()
            best: tuple[int, _Slot] | None = None
            repeat: tuple[int, _Slot] | None = None
            for rule, table in self._tables.items():
                slot = table.get(parts.key(rule))
                if slot is None:
                    continue
                # Skip entries played already (e.g. by an earlier looser rule).
                while slot.cursor < len(slot.indices) and self._plays[slot.indices[slot.cursor]]:
                    slot.cursor += 1
                if slot.cursor < len(slot.indices):
                    index = slot.indices[slot.cursor]
                    if best is None or index < best[0]:
                        best = (index, slot)
                elif self.allow_playback_repeats and slot.indices:
                    index = slot.indices[slot.repeats % len(slot.indices)]
                    if repeat is None or index < repeat[0]:
                        repeat = (index, slot)
            if not consume:
                found = best or repeat
                if found is None:
                    return None
                return Match(found[0], self._interactions[found[0]], repeat=best is None)
            if best is not None:
                index, slot = best
                slot.cursor += 1
                self._plays[index] += 1
                return Match(index, self._interactions[index], repeat=False)
            if repeat is not None:
                index, slot = repeat
                slot.repeats += 1
                self._plays[index] += 1
                return Match(index, self._interactions[index], repeat=True)
            return None

    @property
    def play_counts(self) -> list[int]:
        """How many times each interaction was played (recorded ones count once)."""
        return list(self._plays)

    @property
    def interactions(self) -> list[Interaction]:
        return list(self._interactions)

    # -- explaining a miss ----------------------------------------------------------------

    def explain_miss(self, request: Request, limit: int = 6) -> str:
        """A description of the closest recorded request and how it differs from ``request``."""
        if self._prepare is not None:
            request = self._prepare(request)
        live = request_parts(request)
        self._ensure_indexed()
        if not self._interactions:
            return "The cassette has no interactions."
        scored: list[tuple[int, int, list[str]]] = []
        for index, parts in enumerate(self._parts):
            rule = self._rule(self._interactions[index])
            diffs = _differences(live, parts, rule)
            scored.append((len(diffs), index, diffs))
        scored.sort(key=lambda s: (s[0], s[1]))
        n_diff, index, diffs = scored[0]
        rec = self._interactions[index].request
        rule = self._rule(self._interactions[index])
        if not diffs:
            plays = self._plays[index]
            return (
                f"Interaction #{index} ({rec.method} {rec.url}) matches but was already played "
                f"({plays} time{'s' if plays != 1 else ''}). Record the repeated request too "
                "(record_mode='new_episodes'), or pass allow_playback_repeats=True to serve it again."
            )
        lines = [
            f"Closest recorded request: #{index} {rec.method} {rec.url} "
            f"(differs in {n_diff} of {len(rule)} matcher{'s' if len(rule) != 1 else ''}: {', '.join(rule)})"
        ]
        lines.extend(f"  - {d}" for d in diffs[:limit])
        if len(diffs) > limit:
            lines.append(f"  - ... and {len(diffs) - limit} more")
        return "\n".join(lines)


def _differences(live: RequestParts, rec: RequestParts, rule: Sequence[str]) -> list[str]:
    out: list[str] = []
    for name in rule:
        a, b = live.get(name), rec.get(name)
        if a == b:
            continue
        if name == "url":
            for sub in ("scheme", "host", "port", "path", "query"):
                sa, sb = live.get(sub), rec.get(sub)
                if sa != sb:
                    out.extend(_describe(sub, sa, sb, live, rec))
        else:
            out.extend(_describe(name, a, b, live, rec))
    return out


def _describe(name: str, a: Any, b: Any, live: RequestParts, rec: RequestParts) -> list[str]:
    if name == "query":
        qa, qb = dict(a), dict(b)
        out = []
        for key in sorted(set(qa) | set(qb)):
            if qa.get(key) != qb.get(key):
                out.append(f"query {key}: {qa.get(key)!r} != recorded {qb.get(key)!r}")
        return out or [f"query: {a!r} != recorded {b!r}"]
    if name in ("body", "raw_body"):
        return _body_diff(live.raw_body, rec.raw_body)
    if name == "chat":
        return _chat_diff(a, b)
    return [f"{name}: {a!r} != recorded {b!r}"]


def _chat_diff(a: ChatKey, b: ChatKey) -> list[str]:
    out: list[str] = []
    if a[0] != b[0]:
        out.append(f"chat API: {a[0] or 'not a chat API'!r} != recorded {b[0] or 'not a chat API'!r}")
        if not (a[0] and b[0]):
            return out
    # Conversations are neutral data in every API: their differences count across APIs too, so
    # the closest request is the one in the caller's API when only the conversation differs.
    try:
        _json_diff("chat", json.loads(a[1]), json.loads(b[1]), out)
    except ValueError:
        out.append(f"chat body: {_short(a[1])} != recorded {_short(b[1])}")
    return out


def _body_diff(a: bytes, b: bytes) -> list[str]:
    try:
        ja, jb = json.loads(a), json.loads(b)
    except (ValueError, RecursionError):
        return [f"body: {_short(a)} != recorded {_short(b)}"]
    out: list[str] = []
    _json_diff("body", ja, jb, out)
    return out or ["body: same data, different bytes (raw_body matcher)"]


def _json_diff(path: str, a: Any, b: Any, out: list[str]) -> None:
    if isinstance(a, dict) and isinstance(b, dict):
        for key in list(dict.fromkeys([*a, *b])):
            sub = f"{path}.{key}"
            if key not in b:
                out.append(f"{sub}: {_short(a[key])} is not in the recorded request")
            elif key not in a:
                out.append(f"{sub}: missing (recorded {_short(b[key])})")
            else:
                _json_diff(sub, a[key], b[key], out)
    elif isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            out.append(f"{path}: {len(a)} items != recorded {len(b)} items")
        for i, (x, y) in enumerate(zip(a, b, strict=False)):
            _json_diff(f"{path}[{i}]", x, y, out)
    elif a != b or type(a) is not type(b):
        out.append(f"{path}: {_short(a)} != recorded {_short(b)}")


def _short(value: Any, limit: int = 60) -> str:
    text = repr(value.decode("utf-8", "replace")) if isinstance(value, bytes) else repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
