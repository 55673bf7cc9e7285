"""Header knowledge shared by every layer: which headers carry secrets, and the placeholder
written instead of a secret. The scrubber, the vcrpy format and the pytest-recording bridge
all read these sets, so a header added here is redacted everywhere."""

from __future__ import annotations

__all__ = ["COOKIE_HEADERS", "CREDENTIAL_HEADERS", "PLACEHOLDER", "SECRET_HEADERS", "header_text"]

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
