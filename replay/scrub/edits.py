"""Edits that remove secrets: the user's rules, headers, URLs and form bodies, JSON bodies
across chunk boundaries, and what was found."""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote_plus, unquote_plus

from ..errors import CassetteWriteError
from ..model.cassette import Chunk, Headers
from .patterns import _SECRET_HEADER_NAME, PLACEHOLDER, SECRET_HEADERS, _Edit, _key_edits, _redact_keys

__all__ = ["Finding", "SecretsFoundError"]

# -- rules given by the user ------------------------------------------------------------------

_AUTO = object()  # the default placeholder for that kind of header
_REMOVE = None


def _normalize_rules(value: Any, what: str, *, allow_remove: bool) -> tuple[tuple[str, Any], ...]:
    """``["name", ("name", "replacement"), ("name", None)]`` (or a mapping) -> rule pairs."""
    example = f"Example: {what}=['x-internal-token', ('x-tenant', 'tenant-1')]"
    if value is None:
        return ()
    if isinstance(value, str):
        value = [value]
    elif isinstance(value, dict):
        value = list(value.items())
    if not isinstance(value, (list, tuple, set, frozenset)):
        raise ValueError(f"{what} must be a list of names or (name, replacement) pairs. {example}")
    out: list[tuple[str, Any]] = []
    for entry in value:
        if isinstance(entry, str) and entry:
            out.append((entry, _AUTO))
            continue
        if (
            isinstance(entry, (tuple, list))
            and len(entry) == 2
            and isinstance(entry[0], str)
            and entry[0]
            and (entry[1] is None or isinstance(entry[1], str))
        ):
            name, replacement = entry
            if replacement is None and not allow_remove:
                raise ValueError(
                    f"{what}: {name!r} needs a replacement string (a JSON field is replaced, "
                    f"never removed); e.g. ({name!r}, {PLACEHOLDER!r})"
                )
            out.append((name, replacement))
            continue
        raise ValueError(
            f"{what}: each entry is a name or a (name, replacement) pair; got {entry!r}. {example}"
        )
    return tuple(out)


# -- headers ----------------------------------------------------------------------------------


def _is_secret_header(lname: str) -> bool:
    return lname in SECRET_HEADERS or bool(_SECRET_HEADER_NAME.search(lname))


def _auto_header_value(lname: str, value: str) -> str:
    if not value:
        return value
    if lname == "cookie":
        pairs = []
        for part in value.split(";"):
            name, sep, _ = part.strip().partition("=")
            pairs.append(f"{name}={PLACEHOLDER}" if sep else PLACEHOLDER)
        return "; ".join(pairs)
    if lname == "set-cookie":
        first, sep, rest = value.partition(";")
        name, eq, _ = first.strip().partition("=")
        head = f"{name}={PLACEHOLDER}" if eq else PLACEHOLDER
        return head + sep + rest
    scheme, space, _ = value.strip().partition(" ")
    if space and scheme.isalpha():
        return f"{scheme} {PLACEHOLDER}"  # "Bearer REDACTED": SDKs and servers still see a scheme
    return PLACEHOLDER


def _scrub_headers(headers: Headers, rules: dict[str, Any]) -> tuple[Headers, list[tuple[str, str]]]:
    out: Headers = []
    reasons: list[tuple[str, str]] = []
    for name, value in headers:
        lname = name.lower()
        rule = rules.get(lname, _AUTO if _is_secret_header(lname) else _MISSING)
        new: str | None = value
        why = ""
        if rule is _REMOVE:
            new, why = None, "a filtered header"
        elif rule is _AUTO:
            new = _auto_header_value(lname, value)
            why = "a credential header"
        elif isinstance(rule, str):
            new, why = rule, "a filtered header"
        if new is None:
            reasons.append((name, why))
            continue
        redacted, labels = _redact_keys(new)
        if redacted != value:
            reasons.append((name, labels[0] if labels else why))
        out.append((name, redacted))
    return out, reasons


_MISSING = object()


def _set_header(headers: Headers, name: str, value: str) -> Headers:
    lname = name.lower()
    return [(k, value if k.lower() == lname else v) for k, v in headers]


# -- URLs and form bodies ---------------------------------------------------------------------


def _scrub_pairs(text: str, rules: dict[str, Any]) -> tuple[str, list[str]]:
    """``a=1&key=secret`` with the listed names' values replaced (order and encoding kept)."""
    if not text:
        return text, []
    parts = text.split("&")
    reasons: list[str] = []
    out: list[str] = []
    for part in parts:
        raw_name, sep, raw_value = part.partition("=")
        try:
            lname = unquote_plus(raw_name, errors="strict").lower()
        except UnicodeDecodeError:
            lname = raw_name.lower()
        rule = rules.get(lname, _MISSING)
        if rule is _MISSING and sep:
            part, labels = _redact_encoded_value(raw_name, raw_value)
            reasons.extend(labels)
        if rule is _MISSING or not sep:
            out.append(part)
            continue
        if rule is _REMOVE:
            reasons.append(f"parameter {lname!r}")
            continue
        replacement = PLACEHOLDER if rule is _AUTO else str(rule)
        new_value = quote_plus(replacement, safe="")
        if new_value != raw_value:
            reasons.append(f"parameter {lname!r}")
        out.append(f"{raw_name}={new_value}")
    return "&".join(out), reasons


def _redact_encoded_value(raw_name: str, raw_value: str) -> tuple[str, list[str]]:
    """``name=value`` with keys in the decoded value redacted: percent-encoding splits a key
    (``%2B`` inside a base64 token, ``Credential%3DAKIA...``) where the raw text hides it."""
    try:
        value = unquote_plus(raw_value, errors="strict")
    except UnicodeDecodeError:
        return f"{raw_name}={raw_value}", []
    redacted, labels = _redact_keys(value)
    if not labels:
        return f"{raw_name}={raw_value}", []
    return f"{raw_name}={quote_plus(redacted, safe='')}", labels


def _scrub_url(url: str, query_rules: dict[str, Any]) -> tuple[str, list[str]]:
    reasons: list[str] = []
    scheme_end = url.find("://")
    if scheme_end != -1:
        auth_start = scheme_end + 3
        auth_end = len(url)
        for ch in "/?#":
            idx = url.find(ch, auth_start)
            if idx != -1:
                auth_end = min(auth_end, idx)
        netloc = url[auth_start:auth_end]
        userinfo, at, hostport = netloc.rpartition("@")
        if at:
            _, colon, _ = userinfo.partition(":")
            new_userinfo = PLACEHOLDER + (f":{PLACEHOLDER}" if colon else "")
            if new_userinfo != userinfo:
                reasons.append("credentials in the URL")
                url = url[:auth_start] + new_userinfo + "@" + hostport + url[auth_end:]
    q = url.find("?")
    if q != -1:
        f = url.find("#", q)
        end = f if f != -1 else len(url)
        query, why = _scrub_pairs(url[q + 1 : end], query_rules)
        if why:
            reasons.extend(f"query {w}" for w in why)
            url = url[: q + 1] + query + url[end:]
    url, labels = _redact_keys(url)
    reasons.extend(labels)
    return url, reasons


# -- bodies -----------------------------------------------------------------------------------


def _wire(text: str) -> str:
    """How a str looks in a body decoded as latin-1 (its UTF-8 bytes, one char per byte)."""
    return text.encode("utf-8").decode("latin-1")


def _field_rules(values: dict[str, str]) -> tuple[re.Pattern[str] | None, dict[str, str]]:
    """A regex finding ``"name": "value"`` for the given JSON field names, and each name's
    replacement as it appears on the wire (JSON-escaped)."""
    pattern, wire_values = _field_rules_of(tuple(values.items()))
    return pattern, dict(wire_values)


# Every cassette builds its scrubber, nearly always from the same settings: built once each.
@functools.lru_cache(maxsize=64)
def _field_rules_of(
    values: tuple[tuple[str, str], ...],
) -> tuple[re.Pattern[str] | None, tuple[tuple[str, str], ...]]:
    if not values:
        return None, ()
    # An escaped quote inside a JSON string can never start a match, so a field name quoted
    # inside some other string value is left alone.
    alts = "|".join(re.escape(_wire(n)) for n, _ in values)
    pattern = re.compile(r'"(?P<name>' + alts + r')"\s*:\s*"(?P<value>(?:[^"\\]|\\.)*)"')
    return pattern, tuple((_wire(n), json.dumps(v, ensure_ascii=True)[1:-1]) for n, v in values)


def _body_edits(
    data: bytes, *, fields: re.Pattern[str] | None, field_values: dict[str, str], keys: bool
) -> list[_Edit]:
    """Edits on the body seen as latin-1 text (a bijection, so offsets are byte offsets)."""
    if not data:
        return []
    text = data.decode("latin-1")
    edits: list[_Edit] = []
    if fields is not None:
        for m in fields.finditer(text):
            replacement = field_values[m.group("name")]
            if m.group("value") != replacement:  # already the placeholder: nothing to do
                edits.append(
                    _Edit(m.start("value"), m.end("value"), replacement, f"field {m.group('name')!r}")
                )
    if keys:
        edits.extend(_key_edits(text))
    return edits


def _merge_edits(edits: list[_Edit]) -> list[_Edit]:
    out: list[_Edit] = []
    for e in sorted(edits, key=lambda e: (e.start, -(e.end - e.start))):
        if out and e.start < out[-1].end:
            continue
        out.append(e)
    return out


def _edit_chunks(chunks: Sequence[Chunk], edits: list[_Edit]) -> list[Chunk]:
    """Apply edits made on the joined body to the chunks, keeping each chunk's time.

    A replacement goes into the chunk where the replaced span starts; the rest of the span is
    removed from the chunks it covers. A chunk left empty is dropped.
    """
    edits = _merge_edits(edits)
    out: list[Chunk] = []
    pos = 0
    k = 0
    for chunk in chunks:
        start, end = pos, pos + len(chunk.data)
        pos = end
        text = chunk.data.decode("latin-1")
        pieces: list[str] = []
        cursor = start
        while k < len(edits) and edits[k].start < end:
            e = edits[k]
            if e.start >= cursor:
                pieces.append(text[cursor - start : e.start - start])
                pieces.append(e.text)
            cursor = max(cursor, min(e.end, end))
            if e.end <= end:
                k += 1
            else:
                break
        pieces.append(text[cursor - start :] if cursor < end else "")
        data = "".join(pieces).encode("latin-1")
        if data or not chunk.data:
            out.append(Chunk(t=chunk.t, data=data) if data != chunk.data else chunk)
    return out


def _chunk_at(chunks: Sequence[Chunk], offset: int) -> int:
    pos = 0
    for i, chunk in enumerate(chunks):
        pos += len(chunk.data)
        if offset < pos:
            return i
    return max(0, len(chunks) - 1)


# -- findings ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Finding:
    """A secret-looking value still present: where (a field path) and what it looks like."""

    where: str
    what: str

    def __str__(self) -> str:
        return f"{self.where}: {self.what}"


class SecretsFoundError(CassetteWriteError):
    """A cassette about to be written still contains something that looks like a credential."""

    def __init__(self, message: str, findings: Sequence[Finding]) -> None:
        super().__init__(message)
        self.findings = list(findings)
