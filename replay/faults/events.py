"""Stage 2, content rewrites of single events: ``MalformedEvent``, ``ErrorEvent``."""

from __future__ import annotations

import json
from dataclasses import KW_ONLY, dataclass
from typing import ClassVar

from ..chat.finish import error_event_payload
from .base import Fault, _check_count
from .draft import Draft, EventPayload, FaultContext, event_bytes, new_event_bytes
from .providers import (
    stream_error_payload,
)
from .replacement import _provider

__all__ = ["ErrorEvent", "MalformedEvent"]


def _event_at(draft: Draft, at_event: int | None, fault: str) -> tuple[EventPayload | None, str | None]:
    payloads = list(draft.payloads())
    if not payloads:
        return None, "the stream has no data events"
    index = len(payloads) // 2 if at_event is None else at_event
    if index >= len(payloads):
        return None, f"the stream has only {len(payloads)} data events, so {fault} does not exist"
    return payloads[index], None


@dataclass(frozen=True, slots=True, repr=False)
class MalformedEvent(Fault):
    """Replace the data of event ``at_event`` (default: the middle one) with ``data`` (default:
    the first half of the original JSON, as a broken proxy sends it); the stream goes on. On a
    non-stream body the whole body becomes ``data``.

    Example usage::

        faults=[MalformedEvent(at_event=2)]
    """

    at_event: int | None = None
    data: str | None = None

    rank: ClassVar[int] = 4
    label: ClassVar[str] = "malformed"

    def _validate(self) -> None:
        _check_count("at_event", self.at_event)
        if self.data is not None and not isinstance(self.data, str):
            raise TypeError(f"MalformedEvent data must be a string, got {self.data!r}")
        if self.data is not None and "\n" in self.data.strip("\n"):
            raise ValueError(
                "MalformedEvent data must be one line (a new line would start another SSE field)"
            )

    def _id(self) -> str:
        return self.label + (f"@{self.at_event}" if self.at_event is not None else "")

    def apply(self, draft: Draft, ctx: FaultContext) -> str | None:
        if not draft.stream:
            if self.at_event not in (None, 0):
                return f"the body is not an event stream, so at_event={self.at_event} does not exist"
            text = draft.body.data.decode("utf-8", "replace")
            if not text:
                return "the body is empty"
            new = self.data if self.data is not None else text[: len(text) // 2]
            draft.set_body(draft.body.edit([(0, len(draft.body), new.encode())], default_t=draft.head_t))
            return None
        payload, why = _event_at(draft, self.at_event, f"at_event={self.at_event}")
        if payload is None:
            return why
        event = payload.event
        new = self.data if self.data is not None else event.data[: len(event.data) // 2]
        raw = draft.body.data[event.start : event.end]
        draft.replace_events([(event, event_bytes(event, raw, new))])
        return None


@dataclass(frozen=True, slots=True, repr=False)
class ErrorEvent(Fault):
    """The provider's mid-stream error as event ``at_event`` (default: the middle one); the
    stream ends after it, as providers end it. OpenAI-compatible: ``data: {"error": {...}}``;
    Anthropic: ``event: error`` with ``{"type": "error", "error": {"type": "overloaded_error"}}``.
    ``error_type`` and ``message`` override the defaults. On a non-stream body, the body
    becomes the error object (with the recorded status: some servers answer 200 with it).

    Example usage::

        faults=[ErrorEvent(at_event=3)]
    """

    at_event: int | None = None
    _: KW_ONLY
    error_type: str | None = None
    message: str | None = None

    rank: ClassVar[int] = 5
    label: ClassVar[str] = "error-event"

    def _validate(self) -> None:
        _check_count("at_event", self.at_event)
        for name in ("error_type", "message"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, str) or not value):
                raise ValueError(f"ErrorEvent {name} must be a non-empty string, got {value!r}")

    def _id(self) -> str:
        out = self.label + (f"@{self.at_event}" if self.at_event is not None else "")
        return out + (f"={self.error_type}" if self.error_type else "")

    def apply(self, draft: Draft, ctx: FaultContext) -> str | None:
        shape = draft.shape()
        api = "bedrock" if draft.framing == "eventstream" else shape
        own = error_event_payload(api, self.error_type, self.message)
        if own is None:
            name, payload_data = stream_error_payload(_provider(draft, ctx), self.error_type, self.message)
        else:
            name, payload_data = own
        if not draft.stream:
            if self.at_event not in (None, 0):
                return f"the body is not an event stream, so at_event={self.at_event} does not exist"
            draft.set_json_body(payload_data)
            return None
        payload, why = _event_at(draft, self.at_event, f"at_event={self.at_event}")
        if payload is None:
            return why
        event = payload.event
        raw = draft.body.data[event.start : event.end]
        if api == "responses" and isinstance(payload.data, dict):
            payload_data["sequence_number"] = payload.data.get("sequence_number", payload.index)
        text = json.dumps(payload_data, separators=(",", ":"))
        data = new_event_bytes(event, raw, name, text, exception=draft.framing == "eventstream")
        tail = draft.array_tail()
        draft.replace_events([(event, data)])
        # Providers close the stream after an error event (a JSON array still closes).
        draft.set_body(draft.body.cut(event.start + len(data)))
        if tail:
            draft.insert_at(len(draft.body), tail)
        draft.end = None
        return None
