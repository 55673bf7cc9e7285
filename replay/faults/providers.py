"""What each provider's errors look like on the wire, and their finish-reason equivalents.

Error bodies and headers follow what the providers send and what the SDKs read:

- OpenAI-compatible (OpenAI, Groq, Mistral, vLLM...): ``{"error": {"message", "type", "param",
  "code"}}``; ``retry-after`` and ``retry-after-ms``; on 429 ``x-ratelimit-{limit,remaining,
  reset}-{requests,tokens}``.
- Together: the same envelope; on 429 ``x-ratelimit-{limit,remaining,reset}`` (no suffix).
- Anthropic: ``{"type": "error", "error": {"type": "rate_limit_error" | "overloaded_error" |
  ..., "message"}}``; ``retry-after``; on 429 ``anthropic-ratelimit-requests-*``.

Example usage::

    status, headers, body = error_response("anthropic", 529)
"""

from __future__ import annotations

import json
import math
from datetime import datetime, timedelta, timezone
from typing import Any, Literal

from ..model.cassette import Headers, Request

__all__ = [
    "ANTHROPIC_TO_OPENAI",
    "OPENAI_TO_ANTHROPIC",
    "PROVIDERS",
    "Provider",
    "encode_json",
    "error_headers",
    "error_payload",
    "finish_reason_for",
    "provider_for_request",
    "stream_error_payload",
]

Provider = Literal["openai", "together", "anthropic"]
PROVIDERS: tuple[Provider, ...] = ("openai", "together", "anthropic")

# The closest equivalent of each well-known finish reason in the other API; anything else is
# written as given (providers invent new reasons, and code must cope with them).
OPENAI_TO_ANTHROPIC = {
    "stop": "end_turn",
    "eos": "end_turn",
    "length": "max_tokens",
    "tool_calls": "tool_use",
    "function_call": "tool_use",
    "content_filter": "refusal",
}
ANTHROPIC_TO_OPENAI = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
}


def finish_reason_for(reason: str, shape: str) -> str:
    """``reason`` written the way an API of this shape spells it (OpenAI chat or Anthropic;
    the other APIs' spellings are in :mod:`replay.chat.finish`)."""
    if shape == "anthropic":
        return OPENAI_TO_ANTHROPIC.get(reason, reason)
    return ANTHROPIC_TO_OPENAI.get(reason, reason)


def provider_for_request(request: Request) -> Provider:
    """Anthropic for ``/messages`` or an ``anthropic-version`` header, Together by host, else
    the OpenAI-compatible shape that most providers share."""
    if request.header("anthropic-version") is not None or request.path.rstrip("/").endswith("/messages"):
        return "anthropic"
    host = request.host
    if host.endswith(("together.xyz", "together.ai")):
        return "together"
    return "openai"


_ANTHROPIC_TYPES = {
    400: ("invalid_request_error", "Invalid request."),
    401: ("authentication_error", "invalid x-api-key"),
    402: ("billing_error", "Your credit balance is too low to access the Anthropic API."),
    403: ("permission_error", "Your API key does not have permission to use the specified resource."),
    404: ("not_found_error", "The requested resource could not be found."),
    413: ("request_too_large", "Request exceeds the maximum allowed number of bytes."),
    429: (
        "rate_limit_error",
        "This request would exceed the rate limit for your organization. Please try again later.",
    ),
    500: ("api_error", "Internal server error"),
    504: ("timeout_error", "Request timed out."),
    529: ("overloaded_error", "Overloaded"),
}

_OPENAI_TYPES: dict[int, tuple[str, str | None, str]] = {
    400: ("invalid_request_error", None, "Invalid request."),
    401: (
        "invalid_request_error",
        "invalid_api_key",
        "Incorrect API key provided. You can find your API key at https://platform.openai.com/account/api-keys.",
    ),
    403: (
        "invalid_request_error",
        "unsupported_country_region_territory",
        "Country, region, or territory not supported",
    ),
    404: (
        "invalid_request_error",
        "model_not_found",
        "The model does not exist or you do not have access to it.",
    ),
    409: ("invalid_request_error", None, "Conflict."),
    422: ("invalid_request_error", None, "Unprocessable entity."),
    429: ("requests", "rate_limit_exceeded", "Rate limit reached for requests."),
    500: ("server_error", None, "The server had an error while processing your request. Sorry about that!"),
    502: ("server_error", None, "Bad gateway."),
    503: ("server_error", None, "The engine is currently overloaded, please try again later."),
    504: ("server_error", None, "Gateway timeout."),
}


def _reason(status: int) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def error_payload(provider: Provider, status: int, *, retry_after: float | None = None) -> dict[str, Any]:
    """The JSON error body a provider sends with this status."""
    if provider == "anthropic":
        kind, message = _ANTHROPIC_TYPES.get(
            status, ("api_error" if status >= 500 else "invalid_request_error", _reason(status))
        )
        return {"type": "error", "error": {"type": kind, "message": message}}
    kind, code, message = _OPENAI_TYPES.get(
        status, ("server_error" if status >= 500 else "invalid_request_error", None, _reason(status))
    )
    if status == 429 and retry_after is not None:
        message = f"{message[:-1]}. Please try again in {_seconds_text(retry_after)}."
    if provider == "together" and status == 429:
        kind, code = "rate_limit", None
    return {"error": {"message": message, "type": kind, "param": None, "code": code}}


def stream_error_payload(
    provider: Provider, error_type: str | None = None, message: str | None = None
) -> tuple[str | None, dict[str, Any]]:
    """(SSE event name, data) of a provider's mid-stream error event."""
    if provider == "anthropic":
        kind = error_type or "overloaded_error"
        default = next((m for k, m in _ANTHROPIC_TYPES.values() if k == kind), "Internal server error")
        return "error", {"type": "error", "error": {"type": kind, "message": message or default}}
    kind = error_type or "server_error"
    return None, {
        "error": {
            "message": message or "The server had an error while processing your request. Sorry about that!",
            "type": kind,
            "param": None,
            "code": None,
        }
    }


def _seconds_text(seconds: float) -> str:
    return f"{seconds:g}s"


def error_headers(provider: Provider, status: int, retry_after: float | None, body: bytes) -> Headers:
    """Content headers, ``retry-after`` (and ``-ms``), and on 429 the rate-limit headers."""
    headers: Headers = [("content-type", "application/json"), ("content-length", str(len(body)))]
    if retry_after is not None:
        # retry-after is whole seconds (RFC 9110); the -ms header carries the exact value.
        headers.append(("retry-after", str(math.ceil(retry_after))))
        if provider != "anthropic" or retry_after != math.ceil(retry_after):
            headers.append(("retry-after-ms", str(round(retry_after * 1000))))
    if status == 429:
        wait = retry_after if retry_after is not None else 1.0
        if provider == "anthropic":
            # The reset is a moment, on the application's clock (virtual under freezegun).
            reset = datetime.now(timezone.utc) + timedelta(seconds=wait)
            stamp = reset.strftime("%Y-%m-%dT%H:%M:%SZ")
            headers += [
                ("anthropic-ratelimit-requests-limit", "50"),
                ("anthropic-ratelimit-requests-remaining", "0"),
                ("anthropic-ratelimit-requests-reset", stamp),
            ]
        elif provider == "together":
            headers += [
                ("x-ratelimit-limit", "60"),
                ("x-ratelimit-remaining", "0"),
                ("x-ratelimit-reset", str(math.ceil(wait))),
            ]
        else:
            headers += [
                ("x-ratelimit-limit-requests", "500"),
                ("x-ratelimit-remaining-requests", "0"),
                ("x-ratelimit-reset-requests", _seconds_text(wait)),
                ("x-ratelimit-limit-tokens", "200000"),
                ("x-ratelimit-remaining-tokens", "0"),
                ("x-ratelimit-reset-tokens", _seconds_text(wait)),
            ]
    headers.append(("request-id" if provider == "anthropic" else "x-request-id", "req_llm_replay_fault"))
    return headers


def encode_json(payload: Any) -> bytes:
    return json.dumps(payload, separators=(",", ":")).encode()
