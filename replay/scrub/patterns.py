"""What a secret looks like: the secret header, query and body-field names, and the provider key
patterns found anywhere in text (one home for this knowledge: the vcrpy bridge and the
converter use these lists too)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from ..model.headers import PLACEHOLDER, SECRET_HEADERS

__all__ = [
    "KEY_PATTERNS",
    "PLACEHOLDER",
    "SECRET_BODY_FIELDS",
    "SECRET_HEADERS",
    "SECRET_QUERY_PARAMS",
    "find_key_patterns",
]

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
    "apikey",
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


def _key(label: str, prefix: str, cls: str = _ALNUM, length: str = "{20,}") -> _KeyPattern:
    """The common shape: ``prefix`` then ``length`` characters of ``cls``."""
    return _KeyPattern(label, prefix, cls, cls + length)


KEY_PATTERNS: tuple[_KeyPattern, ...] = (
    _key("an Anthropic API key", r"sk-ant-(?:[a-z]+\d*-)?", _TOKEN),
    # OpenRouter before OpenAI: both start with sk-. sk-or-v1- + 64 hex digits.
    _key("an OpenRouter API key", r"sk-or-v1-", length="{32,}"),
    _key("an OpenAI API key", r"sk-(?:proj-|svcacct-|admin-|None-)?", _TOKEN),
    # tgp_v1_ + 43 base64url characters (32 random bytes).
    _key("a Together API key", r"tgp_v1_", _TOKEN, "{32,}"),
    _key("a Fireworks API key", r"fw_"),
    _key("a Groq API key", r"gsk_"),
    _key("a Google API key", r"AIza", _TOKEN, "{35}"),
    _key("a Google OAuth token", r"ya29\.", _TOKEN),
    _key("an xAI API key", r"xai-"),
    _key("a Hugging Face token", r"hf_"),
    _key("a Replicate token", r"r8_"),
    _key("a Perplexity API key", r"pplx-"),
    _key("a GitHub token", r"(?:gh[pousr]_|github_pat_)", "[A-Za-z0-9_]", "{30,}"),
    _key("an AWS access key id", r"(?:AKIA|ASIA)", "[0-9A-Z]", "{16}"),
    # A SigV4 signature (Authorization header, X-Amz-Signature=, copied into a body).
    _key("an AWS SigV4 signature", r"Signature=", "[0-9a-f]", "{64}"),
    # STS session tokens (X-Amz-Security-Token) are base64 of a structure that always starts
    # with the same bytes: "IQoJb3JpZ2luX2Vj..." (current), "FwoGZXIvYXdzE..." (older).
    _key("an AWS session token", r"(?:IQoJb3JpZ2luX2|FwoGZXIvYXdzE)", "[A-Za-z0-9+/=]", "{100,}"),
    _key("a Slack token", r"xox[abprs]-", "[A-Za-z0-9-]", "{10,}"),
    _key("a Stripe key", r"(?:sk|rk)_(?:live|test)_"),
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
