"""Stage 1, replacing the response: ``HTTPError`` answers instead of the recording."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import KW_ONLY, dataclass
from typing import Any, ClassVar

from .base import REPLACE, Fault, _check_seconds
from .draft import Draft, FaultContext
from .providers import (
    PROVIDERS,
    Provider,
    encode_json,
    error_headers,
    error_payload,
    provider_for_request,
)
from .timed_body import TimedBody

__all__ = ["HTTPError"]

# ----------------------------------------------------------------------------------------
# replacing the response


@dataclass(frozen=True, slots=True, repr=False)
class HTTPError(Fault):
    """Answer with an error status instead of the recording, shaped like the provider's errors.

    The body is the provider's error JSON (OpenAI/Together ``{"error": {...}}``, Anthropic
    ``{"type": "error", "error": {"type": "rate_limit_error" | "overloaded_error" | ...}}``),
    chosen from the recorded request (``/messages`` or an ``anthropic-version`` header:
    Anthropic; a Together host: Together; else OpenAI-compatible) unless ``provider`` or
    ``body`` is given. ``retry_after`` (seconds) sets ``retry-after`` and ``retry-after-ms``;
    a 429 also carries the provider's rate-limit headers. ``headers`` adds or overrides headers.
    The recorded interaction is not used up: the next request can still replay it.

    Example usage::

        faults=[HTTPError(429, retry_after=20, times=2)]   # fail twice, then succeed
        faults=[HTTPError(529)]                            # Anthropic overloaded_error
    """

    status: int
    retry_after: float | None = None
    body: Any = None
    _: KW_ONLY
    headers: Mapping[str, str] | None = None
    provider: Provider | None = None

    stage: ClassVar[int] = REPLACE

    def _validate(self) -> None:
        if isinstance(self.status, bool) or not isinstance(self.status, int) or not 400 <= self.status <= 599:
            raise ValueError(f"HTTPError status must be an error status 400-599, got {self.status!r}")
        _check_seconds("retry_after", self.retry_after)
        if self.body is not None and not isinstance(self.body, (dict, list, str, bytes)):
            raise TypeError(
                f"HTTPError body must be a dict/list (sent as JSON), str or bytes, got {self.body!r}"
            )
        if isinstance(self.body, (dict, list)):
            try:
                json.dumps(self.body)
            except (TypeError, ValueError) as exc:
                raise ValueError(f"HTTPError body is not JSON-serialisable: {exc}") from None
        if self.provider is not None and self.provider not in PROVIDERS:
            raise ValueError(
                f"HTTPError provider must be one of {', '.join(PROVIDERS)}, got {self.provider!r}"
            )
        if self.headers is not None and not all(
            isinstance(k, str) and isinstance(v, str) for k, v in dict(self.headers).items()
        ):
            raise TypeError("HTTPError headers must map header names to string values")

    def _id(self) -> str:
        return f"http={self.status}"

    def apply(self, draft: Draft, ctx: FaultContext) -> str | None:
        provider = self.provider or _provider(draft, ctx)
        if self.body is None:
            body = encode_json(error_payload(provider, self.status, retry_after=self.retry_after))
        elif isinstance(self.body, (dict, list)):
            body = encode_json(self.body)
        else:
            body = self.body.encode("utf-8") if isinstance(self.body, str) else self.body
        headers = error_headers(provider, self.status, self.retry_after, body)
        if self.body is not None and not isinstance(self.body, (dict, list)) and not _is_json(body):
            headers = [(k, v) for k, v in headers if k != "content-type"]
            headers.insert(0, ("content-type", "text/plain; charset=utf-8"))
        for name, value in (self.headers or {}).items():
            headers = [(k, v) for k, v in headers if k.lower() != name.lower()]
            headers.append((name, value))
        draft.status = self.status
        draft.headers = headers
        draft.stream = False
        draft.end = None
        draft.replaced = True
        draft.set_body(TimedBody(body, (len(body),) if body else (), (draft.head_t,) if body else ()))
        draft.content_changed = False  # the headers above already describe this body
        return None


def _is_json(data: bytes) -> bool:
    try:
        json.loads(data)
    except ValueError:
        return False
    return True


def _provider(draft: Draft, ctx: FaultContext) -> Provider:
    provider = provider_for_request(ctx.interaction.request)
    if provider == "openai" and draft.shape() == "anthropic":
        return "anthropic"
    return provider
