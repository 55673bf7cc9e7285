"""Secret scrubbing: what reaches a cassette file never carries a credential.

Applied by default, with no configuration, to every interaction before it is written, and to
both sides of matching (a live request with a real key still matches its scrubbed recording):

- credential headers (``Authorization``, ``api-key``, ``x-api-key``, ``openai-organization``,
  ``openai-project``, ``anthropic-*`` key headers, ``Cookie``, ``Set-Cookie``,
  ``x-goog-api-key``, and any header named like ``*-api-key``, ``*-token``, ``*-secret``...) keep
  their name and get a placeholder value (``Bearer REDACTED``, ``name=REDACTED`` per cookie), so
  SDKs that expect the header still find it;
- URL credentials (``https://user:pass@host``) and query parameters such as ``key=``,
  ``api_key=``, ``access_token=``, ``sig=``;
- values that look like provider keys (``sk-...``, ``sk-ant-...``, ``sk-or-v1-...``, ``gsk_...``,
  ``tgp_v1_...``, ``AIza...``, ``xai-...``, ``hf_...``, ``r8_...``, ``fw_...``, ``pplx-...``,
  AWS ``AKIA``/``ASIA`` key ids, SigV4 signatures and session tokens, JWTs, ``Bearer <token>``...)
  anywhere in request URLs, headers and
  bodies, and in response headers;
- JSON fields named ``api_key``, ``client_secret``, ``password``... in request bodies.

Response bodies are replayed byte-exact, so they are not rewritten by default; the last check
before writing (:meth:`Scrubber.check`) refuses to save a cassette in which a key pattern is
still visible anywhere, naming the field, unless ``allow_secrets=True``. A
``before_record_response`` hook fixes that case; :func:`redact_secrets` is one ready-made.

Example usage::

    with replay.use_cassette(
        "cassettes/chat.yaml",
        record_mode="once",
        filter_headers=["x-internal-token", ("x-tenant", "tenant-1")],
        filter_query=["session"],
        filter_body_fields=["user_email"],
        before_record_response=replay.scrub.redact_secrets,
    ):
        ...
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import quote_plus, unquote_plus

from .cassette import Cassette, Chunk, Headers, Interaction, Request, Response
from .errors import CassetteWriteError, ReplayError

if TYPE_CHECKING:
    from pathlib import Path

__all__ = [
    "KEY_PATTERNS",
    "PLACEHOLDER",
    "SECRET_BODY_FIELDS",
    "SECRET_HEADERS",
    "SECRET_QUERY_PARAMS",
    "Finding",
    "Scrubber",
    "SecretsFoundError",
    "find_key_patterns",
    "redact_secrets",
]

PLACEHOLDER = "REDACTED"

SECRET_HEADERS = frozenset(
    {
        "authorization",
        "proxy-authorization",
        "api-key",
        "x-api-key",
        "openai-organization",
        "openai-project",
        "anthropic-organization-id",  # Anthropic's counterpart of openai-organization
        "cookie",
        "set-cookie",
        "x-goog-api-key",
        "ocp-apim-subscription-key",
        "x-amz-security-token",
    }
)
# Header names that carry credentials by convention (x-auth-token, x-goog-api-key, x-csrf-token,
# anthropic-admin-key...). Deliberately narrow: "x-ratelimit-*-tokens", "x-time-per-token",
# "idempotency-key" and CORS "access-control-allow-credentials" are metadata, not secrets.
_SECRET_HEADER_NAME = re.compile(
    r"(?:^|[-_])(?:api[-_]?key|(?:access|auth|session|security|refresh|id|csrf|xsrf|bearer)[-_]token|"
    r"secret|client[-_]secret|password|passwd|(?:access|secret|private|auth|subscription)[-_]key|"
    r"session[-_]id)$"
    r"|^x-(?:token|auth)$"
    r"|^anthropic-.*(?:key|token|secret)$",
    re.IGNORECASE,
)
SECRET_QUERY_PARAMS = frozenset(
    {
        "key",
        "api_key",
        "apikey",
        "api-key",
        "access_token",
        "auth",
        "auth_token",
        "token",
        "client_secret",
        "password",
        "secret",
        "sig",
        "signature",
        "x-api-key",
        "x-goog-api-key",
        # SigV4 presigned URLs (S3, Bedrock): the credential, its signature and session token
        "x-amz-credential",
        "x-amz-signature",
        "x-amz-security-token",
    }
)
SECRET_BODY_FIELDS: tuple[str, ...] = (
    "api_key",
    "apiKey",
    "access_token",
    "refresh_token",
    "id_token",
    "client_secret",
    "password",
    "private_key",
)


@dataclass(frozen=True, slots=True)
class _KeyPattern:
    label: str
    prefix: str  # kept in the placeholder, so a reader still sees which provider's key it was
    cls: str  # the characters a key of this kind is made of (where the match must stop)
    body: str  # the replaced part; must also contain a digit, so prose and placeholders never match


# Known credential shapes. Each body is long (16-35+ characters) and must contain a digit,
# which keeps hyphenated prose ("sk-learn-style-...") and the placeholders themselves out.
_TOKEN = "[A-Za-z0-9_-]"
_ALNUM = "[A-Za-z0-9]"
KEY_PATTERNS: tuple[_KeyPattern, ...] = (
    _KeyPattern("an Anthropic API key", r"sk-ant-(?:[a-z]+\d*-)?", _TOKEN, _TOKEN + "{20,}"),
    # OpenRouter before OpenAI: both start with sk-. sk-or-v1- + 64 hex digits.
    _KeyPattern("an OpenRouter API key", r"sk-or-v1-", _ALNUM, _ALNUM + "{32,}"),
    _KeyPattern("an OpenAI API key", r"sk-(?:proj-|svcacct-|admin-|None-)?", _TOKEN, _TOKEN + "{20,}"),
    # tgp_v1_ + 43 base64url characters (32 random bytes).
    _KeyPattern("a Together API key", r"tgp_v1_", _TOKEN, _TOKEN + "{32,}"),
    _KeyPattern("a Fireworks API key", r"fw_", _ALNUM, _ALNUM + "{20,}"),
    _KeyPattern("a Groq API key", r"gsk_", _ALNUM, _ALNUM + "{20,}"),
    _KeyPattern("a Google API key", r"AIza", _TOKEN, _TOKEN + "{35}"),
    _KeyPattern("a Google OAuth token", r"ya29\.", _TOKEN, _TOKEN + "{20,}"),
    _KeyPattern("an xAI API key", r"xai-", _ALNUM, _ALNUM + "{20,}"),
    _KeyPattern("a Hugging Face token", r"hf_", _ALNUM, _ALNUM + "{20,}"),
    _KeyPattern("a Replicate token", r"r8_", _ALNUM, _ALNUM + "{20,}"),
    _KeyPattern("a Perplexity API key", r"pplx-", _ALNUM, _ALNUM + "{20,}"),
    _KeyPattern("a GitHub token", r"(?:gh[pousr]_|github_pat_)", "[A-Za-z0-9_]", "[A-Za-z0-9_]{30,}"),
    _KeyPattern("an AWS access key id", r"(?:AKIA|ASIA)", "[0-9A-Z]", "[0-9A-Z]{16}"),
    # A SigV4 signature (Authorization header, X-Amz-Signature=, copied into a body).
    _KeyPattern("an AWS SigV4 signature", r"Signature=", "[0-9a-f]", "[0-9a-f]{64}"),
    # STS session tokens (X-Amz-Security-Token) are base64 of a structure that always starts
    # with the same bytes: "IQoJb3JpZ2luX2Vj..." (current), "FwoGZXIvYXdzE..." (older).
    _KeyPattern(
        "an AWS session token", r"(?:IQoJb3JpZ2luX2|FwoGZXIvYXdzE)", "[A-Za-z0-9+/=]", "[A-Za-z0-9+/=]{100,}"
    ),
    _KeyPattern("a Slack token", r"xox[abprs]-", "[A-Za-z0-9-]", "[A-Za-z0-9-]{10,}"),
    _KeyPattern("a Stripe key", r"(?:sk|rk)_(?:live|test)_", _ALNUM, _ALNUM + "{20,}"),
    _KeyPattern(
        "a JSON Web Token",
        "",
        "[A-Za-z0-9_.-]",
        r"eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}",
    ),
    _KeyPattern("a bearer token", r"(?i:bearer)[ \t]+", "[A-Za-z0-9._~+/=-]", "[A-Za-z0-9._~+/-]{16,}=*"),
)


def _compile_keys() -> re.Pattern[str]:
    parts = []
    for i, p in enumerate(KEY_PATTERNS):
        # The digit must be inside this key (the lookahead stays within the key's characters),
        # and the trailing guard keeps a match from stopping inside a longer token.
        parts.append(f"(?P<p{i}>{p.prefix})(?P<b{i}>(?={p.cls}*?[0-9]){p.body})(?!{p.cls})")
    return re.compile(r"(?<![A-Za-z0-9_])(?:" + "|".join(parts) + ")")


_KEYS = _compile_keys()


@dataclass(frozen=True, slots=True)
class _Edit:
    start: int
    end: int
    text: str
    reason: str


# Every key pattern starts with one of these literals. Finding them with str.find (C speed) and
# trying the full pattern only there is 5-20x faster than running the alternation at every
# position of a large body.
_LITERALS = (
    "sk-",
    "sk_",
    "rk_",
    "gsk_",
    "AIza",
    "ya29.",
    "xai-",
    "hf_",
    "r8_",
    "pplx-",
    "ghp_",
    "gho_",
    "ghu_",
    "ghs_",
    "ghr_",
    "github_pat_",
    "AKIA",
    "ASIA",
    "tgp_v1_",
    "fw_",
    "Signature=",
    "IQoJb3JpZ2luX2",
    "FwoGZXIvYXdzE",
    "xox",
    "eyJ",
)


def _candidates(text: str) -> list[int]:
    found: set[int] = set()
    for literal in _LITERALS:
        i = text.find(literal)
        while i != -1:
            found.add(i)
            i = text.find(literal, i + 1)
    if "earer" in text or "EARER" in text:
        lower = text.lower()
        i = lower.find("bearer")
        while i != -1:
            found.add(i)
            i = lower.find("bearer", i + 1)
    return sorted(found)


def _key_matches(text: str) -> list[tuple[int, int, int, str]]:
    """``(start, body start, end, label)`` of each key: the same leftmost, non-overlapping
    matches as ``_KEYS.finditer``, found only where a key can start."""
    out = []
    end = 0
    for pos in _candidates(text):
        if pos < end:
            continue  # inside a key already found
        m = _KEYS.match(text, pos)
        if m is None:
            continue
        i = int((m.lastgroup or "b0")[1:])
        out.append((m.start(), m.end(f"p{i}"), m.end(), KEY_PATTERNS[i].label))
        end = m.end()
    return out


def _key_edits(text: str) -> list[_Edit]:
    return [_Edit(body, end, PLACEHOLDER, label) for _, body, end, label in _key_matches(text)]


def find_key_patterns(text: str) -> list[tuple[int, int, str]]:
    """``(start, end, label)`` of every key-shaped value in ``text``: the span that scrubbing
    replaces (a provider prefix such as ``gsk_`` is kept).

    Example usage::

        find_key_patterns('{"key": "gsk_Qw3Er5Ty7Ui9Op1As3Df5Gh7"}')  # [(13, 37, 'a Groq API key')]
    """
    return [(e.start, e.end, e.reason) for e in _key_edits(text)]


def _apply(text: str, edits: Sequence[_Edit]) -> str:
    out = []
    pos = 0
    for e in sorted(edits, key=lambda e: e.start):
        if e.start < pos:  # overlapping: the earlier edit already covers it
            continue
        out.append(text[pos : e.start])
        out.append(e.text)
        pos = e.end
    out.append(text[pos:])
    return "".join(out)


def _redact_keys(text: str) -> tuple[str, list[str]]:
    edits = _key_edits(text)
    if not edits:
        return text, []
    return _apply(text, edits), [e.reason for e in edits]


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


def _header(headers: Headers, name: str) -> str | None:
    lname = name.lower()
    for k, v in headers:
        if k.lower() == lname:
            return v
    return None


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
    if not values:
        return None, {}
    # An escaped quote inside a JSON string can never start a match, so a field name quoted
    # inside some other string value is left alone.
    alts = "|".join(re.escape(_wire(n)) for n in values)
    pattern = re.compile(r'"(?P<name>' + alts + r')"\s*:\s*"(?P<value>(?:[^"\\]|\\.)*)"')
    return pattern, {_wire(n): json.dumps(v, ensure_ascii=True)[1:-1] for n, v in values.items()}


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


# -- the scrubber -----------------------------------------------------------------------------

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Scrubber:
    """Default scrubbing plus the user's rules and hooks; see the module docstring.

    ``filter_headers`` / ``filter_query``: names (placeholder value) or ``(name, replacement)``
    pairs, where a ``None`` replacement removes the header or parameter. ``filter_body_fields``:
    JSON field names (any depth; string values) or ``(name, replacement)``, applied to request
    and response bodies, and to form-encoded request bodies. Hooks run last and must return the
    (modified) request or response. ``allow_secrets`` turns off the check before writing.

    Example usage::

        scrubber = Scrubber.build(filter_headers=["x-internal-token"])
        clean = scrubber.scrub_interaction(interaction)
        scrubber.check(cassette, path)   # raises SecretsFoundError naming the field
    """

    filter_headers: tuple[tuple[str, Any], ...] = ()
    filter_query: tuple[tuple[str, Any], ...] = ()
    filter_body_fields: tuple[tuple[str, Any], ...] = ()
    before_record_request: Callable[[Request], Request] | None = None
    before_record_response: Callable[[Response], Response] | None = None
    allow_secrets: bool = False
    redact_response_bodies: bool = False
    _header_rules: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)
    _query_rules: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)
    _form_rules: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)
    _fields: re.Pattern[str] | None = field(default=None, compare=False, repr=False)
    _user_fields: re.Pattern[str] | None = field(default=None, compare=False, repr=False)
    _field_values: dict[str, str] = field(default_factory=dict, compare=False, repr=False)
    _user_field_values: dict[str, str] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        header_rules = {name.lower(): rule for name, rule in self.filter_headers}
        query_rules: dict[str, Any] = dict.fromkeys(SECRET_QUERY_PARAMS, _AUTO)
        query_rules.update({name.lower(): rule for name, rule in self.filter_query})
        field_values = dict.fromkeys(SECRET_BODY_FIELDS, PLACEHOLDER)
        user_values = {
            name: PLACEHOLDER if rule is _AUTO else str(rule) for name, rule in self.filter_body_fields
        }
        field_values.update(user_values)
        form_rules = dict(query_rules)
        form_rules.update({name.lower(): _AUTO for name in SECRET_BODY_FIELDS})
        form_rules.update({name.lower(): user_values[name] for name in user_values})
        fields, wire_values = _field_rules(field_values)
        user_fields, user_wire_values = _field_rules(user_values)
        # frozen dataclass: derived lookup tables are computed once, here
        object.__setattr__(self, "_header_rules", header_rules)
        object.__setattr__(self, "_query_rules", query_rules)
        object.__setattr__(self, "_form_rules", form_rules)
        object.__setattr__(self, "_fields", fields)
        object.__setattr__(self, "_field_values", wire_values)
        object.__setattr__(self, "_user_fields", user_fields)
        object.__setattr__(self, "_user_field_values", user_wire_values)

    @classmethod
    def build(
        cls,
        *,
        filter_headers: Any = None,
        filter_query: Any = None,
        filter_body_fields: Any = None,
        before_record_request: Any = None,
        before_record_response: Any = None,
        allow_secrets: Any = False,
        redact_response_bodies: bool = False,
    ) -> Scrubber:
        """Validate user-facing options (raises ValueError saying what is wrong and how to write it)."""
        for name, hook in (
            ("before_record_request", before_record_request),
            ("before_record_response", before_record_response),
        ):
            if hook is not None and not callable(hook):
                raise ValueError(f"{name} must be a function, got {type(hook).__name__}")
        if not isinstance(allow_secrets, bool):
            raise ValueError(f"allow_secrets must be True or False, got {allow_secrets!r}")
        return cls(
            filter_headers=_normalize_rules(filter_headers, "filter_headers", allow_remove=True),
            filter_query=_normalize_rules(filter_query, "filter_query", allow_remove=True),
            filter_body_fields=_normalize_rules(filter_body_fields, "filter_body_fields", allow_remove=False),
            before_record_request=before_record_request,
            before_record_response=before_record_response,
            allow_secrets=allow_secrets,
            redact_response_bodies=redact_response_bodies,
        )

    # -- requests ---------------------------------------------------------------------------

    def _request_rules(
        self, request: Request, *, headers_too: bool = True
    ) -> tuple[Request, list[tuple[str, str]]]:
        """The request with default and declared rules applied, and why each field changed."""
        reasons: list[tuple[str, str]] = []
        url, why = _scrub_url(request.url, self._query_rules)
        reasons.extend(("url", w) for w in why)
        headers = request.headers
        if headers_too:
            headers, hwhy = _scrub_headers(request.headers, self._header_rules)
            reasons.extend((f"headers.{name.lower()}", w) for name, w in hwhy)
        body = request.body
        ctype = (_header(request.headers, "content-type") or "").split(";")[0].strip().lower()
        if ctype == "application/x-www-form-urlencoded" and body:
            form, fwhy = _scrub_pairs(body.decode("latin-1"), self._form_rules)
            reasons.extend(("body", f"form {w}") for w in fwhy)
            body = form.encode("latin-1")
        edits = _merge_edits(
            _body_edits(body, fields=self._fields, field_values=self._field_values, keys=True)
        )
        if edits:
            reasons.extend(("body", e.reason) for e in edits)
            body = _apply(body.decode("latin-1"), edits).encode("latin-1")
        if body != request.body and _header(headers, "content-length") is not None:
            headers = _set_header(headers, "content-length", str(len(body)))
        if url == request.url and headers == request.headers and body == request.body:
            return request, []
        return request.model_copy(update={"url": url, "headers": headers, "body": body}), reasons

    def scrub_request(self, request: Request, *, headers_too: bool = True) -> Request:
        """The request as it is written (and compared): rules, then ``before_record_request``."""
        clean, _ = self._request_rules(request, headers_too=headers_too)
        if self.before_record_request is not None:
            result = self.before_record_request(clean)
            if not isinstance(result, Request):
                raise ReplayError(
                    f"before_record_request returned {type(result).__name__}; it must return the "
                    "(modified) replay.Request it was given"
                )
            clean = result
        return clean

    # -- responses --------------------------------------------------------------------------

    def _response_rules(self, response: Response) -> tuple[Response, list[tuple[str, str]]]:
        reasons: list[tuple[str, str]] = []
        headers, hwhy = _scrub_headers(response.headers, self._header_rules)
        reasons.extend((f"headers.{name.lower()}", w) for name, w in hwhy)
        chunks = response.chunks
        edits: list[_Edit] = []
        if self._user_fields is not None or self.redact_response_bodies:
            edits = _body_edits(
                response.body,
                fields=self._user_fields,
                field_values=self._user_field_values,
                keys=self.redact_response_bodies,
            )
        if edits:
            chunks = _edit_chunks(response.chunks, edits)
            body_len = sum(len(c.data) for c in chunks)
            if _header(headers, "content-length") is not None:
                headers = _set_header(headers, "content-length", str(body_len))
            reasons.extend(("body", e.reason) for e in edits)
        if headers == response.headers and chunks is response.chunks:
            return response, []
        return response.model_copy(update={"headers": headers, "chunks": chunks}), reasons

    def scrub_response(self, response: Response) -> Response:
        """The response as it is written: rules, then ``before_record_response``."""
        clean, _ = self._response_rules(response)
        if self.before_record_response is not None:
            result = self.before_record_response(clean)
            if not isinstance(result, Response):
                raise ReplayError(
                    f"before_record_response returned {type(result).__name__}; it must return the "
                    "(modified) replay.Response it was given"
                )
            clean = result
        return clean

    def scrub_interaction(self, interaction: Interaction) -> Interaction:
        """Both sides of an interaction, scrubbed."""
        request = self.scrub_request(interaction.request)
        response = self.scrub_response(interaction.response)
        if request is interaction.request and response is interaction.response:
            return interaction
        return interaction.model_copy(update={"request": request, "response": response})

    def prepare(self, request: Request) -> Request:
        """What matching compares: the same scrubbing as recording, so keys never decide a match.

        Matching never compares headers, so theirs is skipped (the costliest part of a scrub);
        the user's hook still runs, as it does before a recording is written.
        """
        return self.scrub_request(request, headers_too=False)

    # -- the last check ---------------------------------------------------------------------

    def findings(self, interactions: Sequence[Interaction]) -> list[Finding]:
        """Every place a secret-looking value is still visible (hooks are not run here)."""
        found: list[Finding] = []
        for i, interaction in enumerate(interactions):
            where = f"interactions[{i}]"
            _, reasons = self._request_rules(interaction.request)
            found.extend(Finding(f"{where}.request.{field_}", what) for field_, what in reasons)
            response = interaction.response
            _, reasons = self._response_rules(response)
            found.extend(
                Finding(f"{where}.response.{field_}", what) for field_, what in reasons if field_ != "body"
            )
            body = response.body
            edits = _body_edits(
                body, fields=self._user_fields, field_values=self._user_field_values, keys=True
            )
            for e in _merge_edits(edits):
                part = (
                    f"chunks[{_chunk_at(response.chunks, e.start)}]" if len(response.chunks) > 1 else "body"
                )
                found.append(Finding(f"{where}.response.{part}", _describe(e)))
            if response.end is not None and response.end.message:
                for _, _, label in find_key_patterns(response.end.message):
                    found.append(Finding(f"{where}.response.end.message", label))
        return found

    def check(self, cassette: Cassette | Sequence[Interaction], path: Path | str) -> None:
        """Raise :class:`SecretsFoundError` if anything secret-looking would be written."""
        if self.allow_secrets:
            return
        interactions = cassette.interactions if isinstance(cassette, Cassette) else cassette
        found = self.findings(interactions)
        if not found:
            return
        shown = "\n".join(f"  {f}" for f in found[:8])
        more = f"\n  ... and {len(found) - 8} more" if len(found) > 8 else ""
        raise SecretsFoundError(
            f"Refusing to write {path}: it would still contain what looks like a secret:\n{shown}{more}\n"
            "Nothing was written; the previous file, if any, is intact. To fix: redact it with a hook "
            "(before_record_response=replay.scrub.redact_secrets for response bodies) or with "
            "filter_headers / filter_query / filter_body_fields; for a cassette recorded before "
            "scrubbing, run `llm-replay scrub PATH`. If the value is not a secret, pass "
            "allow_secrets=True (pytest: @pytest.mark.replay(allow_secrets=True)).",
            found,
        )


def _describe(edit: _Edit) -> str:
    # Never echo any part of the value itself: error messages end up in CI logs.
    return f"{edit.reason} ({edit.end - edit.start} characters at body offset {edit.start})"


def redact_secrets(obj: T) -> T:
    """Replace key-shaped values (``sk-...``, ``gsk_...``, JWTs...) in a request or response.

    Usable directly as a hook: ``before_record_response=replay.scrub.redact_secrets`` keeps
    response bodies from carrying keys (a key-management API, a server echoing the request).
    Chunk times are kept; ``content-length`` is updated.

    Example usage::

        with replay.use_cassette(path, record_mode="once", before_record_response=redact_secrets):
            ...
    """
    if isinstance(obj, Response):
        clean, _ = _RESPONSE_REDACTOR._response_rules(obj)
        return clean  # type: ignore[return-value]
    if isinstance(obj, Request):
        clean_req, _ = _RESPONSE_REDACTOR._request_rules(obj)
        return clean_req  # type: ignore[return-value]
    raise TypeError(f"redact_secrets takes a replay.Request or replay.Response, got {type(obj).__name__}")


_RESPONSE_REDACTOR = Scrubber(redact_response_bodies=True)
