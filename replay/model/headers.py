"""Header knowledge shared by every layer: which headers carry secrets, and the placeholder
written instead of a secret. The scrubber, the vcrpy format and the pytest-recording bridge
all read these sets, so a header added here is redacted everywhere."""

from __future__ import annotations

import re
from typing import Any

__all__ = [
    "COOKIE_HEADERS",
    "CREDENTIAL_HEADERS",
    "PLACEHOLDER",
    "SECRET_HEADERS",
    "Headers",
    "check_headers",
    "header_text",
    "header_value",
    "headers_from_disk",
    "headers_to_disk",
    "media_type",
]

Headers = list[tuple[str, str]]

PLACEHOLDER = "REDACTED"

# Headers whose value is the credential itself: redacted wherever a request is written.
CREDENTIAL_HEADERS = frozenset({"authorization", "proxy-authorization", "api-key", "x-api-key"})

# Cookies are dropped whole by the vcrpy paths: an expired Cloudflare cookie is of no use to a
# replay, and a redacted one is not a cookie.
COOKIE_HEADERS = frozenset({"cookie", "set-cookie"})

SECRET_HEADERS = (
    CREDENTIAL_HEADERS
    | COOKIE_HEADERS
    | frozenset(
        {
            "openai-organization",
            "openai-project",
            "anthropic-organization-id",  # Anthropic's counterpart of openai-organization
            "x-goog-api-key",
            "ocp-apim-subscription-key",
            "x-amz-security-token",
        }
    )
)


def header_text(value: bytes) -> str:
    """A header value recorded as bytes (botocore's, written ``!!binary`` by vcrpy) as text:
    UTF-8, else latin-1 (HTTP's historical header charset, in which every byte maps)."""
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        return value.decode("latin-1")


def headers_from_disk(value: Any) -> Headers:
    """Headers given as a mapping (value or list of values per name) or as [name, value] pairs."""
    if value is None:
        return []
    out: Headers = []
    if isinstance(value, dict):
        for name, v in value.items():
            values = v if isinstance(v, list) else [v]
            for item in values:
                if isinstance(item, bool) or not isinstance(item, (str, int, float)):
                    raise ValueError(f"header {name!r} has a non-text value {item!r}")
                out.append((str(name), str(item)))
        return out
    if isinstance(value, list):
        for pair in value:
            if (
                not isinstance(pair, (list, tuple))
                or len(pair) != 2
                or not all(isinstance(p, str) for p in pair)
            ):
                raise ValueError(f"a header must be a [name, value] pair of strings, got {pair!r}")
            out.append((pair[0], pair[1]))
        return out
    raise ValueError(f"headers must be a mapping or a list of pairs, got {type(value).__name__}")


def headers_to_disk(headers: Headers) -> dict[str, str | list[str]]:
    grouped: dict[str, list[str]] = {}
    for name, value in headers:
        grouped.setdefault(name, []).append(value)
    return {name: values[0] if len(values) == 1 else values for name, values in grouped.items()}


def header_value(headers: Headers, name: str) -> str | None:
    """First value of a header, case-insensitively."""
    lname = name.lower()
    for key, value in headers:
        if key.lower() == lname:
            return value
    return None


def media_type(content_type: str | None) -> str:
    """The media type of a Content-Type value, lower-cased, without parameters ("" if absent)."""
    return (content_type or "").split(";")[0].strip().lower()


# RFC 9110 field names are tokens; values never hold CR, LF or NUL (no server could send them,
# and a client handed them could split or forge headers).
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_BAD_VALUE = re.compile(r"[\r\n\x00]")


def check_headers(headers: Headers) -> Headers:
    """``headers`` if every name is an HTTP token and no value holds CR, LF or NUL."""
    for name, value in headers:
        if not _TOKEN.fullmatch(name):
            raise ValueError(
                f"header name {name[:60]!r} is not an HTTP field name (a token: no spaces, ':', CR/LF)"
            )
        if _BAD_VALUE.search(value):
            raise ValueError(f"header {name!r} has a value with CR, LF or NUL: {value[:60]!r}")
    return headers
