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

from collections.abc import Iterable, Sequence
from typing import Any
from urllib.parse import urlsplit

from ..engine.matching import DEFAULT_MATCH_ON, request_parts
from ..model.cassette import Cassette, Interaction
from . import diff_types
from .diff_types import *  # noqa: F403 - the result types are this module's API too
from .diff_types import DEFAULT_IGNORED_HEADERS, DEFAULT_IGNORED_KEYS, CassetteDiff
from .diff_values import _diff_pair

__all__ = [*diff_types.__all__, "diff_cassettes", "pair_interactions"]

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
