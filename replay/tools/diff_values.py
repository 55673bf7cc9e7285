"""Comparing two paired interactions: JSON values, bodies, text, headers and SSE streams event
by event."""

from __future__ import annotations

import difflib
import fnmatch
import json
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

from ..engine.matching import request_parts
from ..model.cassette import Headers, Interaction, Response
from ..model.framing import Event
from .diff_types import _MAX_CHANGES, Change, InteractionDiff, TimingStats
from .timeline import event_text, timeline

__all__ = []

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
