"""Header knowledge shared by every layer: which headers carry secrets, and the placeholder
written instead of a secret. The scrubber, the vcrpy format and the pytest-recording bridge
all read these sets, so a header added here is redacted everywhere."""

from __future__ import annotations

from typing import Any

__all__ = [
    "COOKIE_HEADERS",
    "CREDENTIAL_HEADERS",
    "PLACEHOLDER",
    "SECRET_HEADERS",
    "Headers",
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
