"""Stage 2, content rewrites of single events: ``MalformedEvent``, ``ErrorEvent``."""

from __future__ import annotations

import json
from abc import abstractmethod
from dataclasses import KW_ONLY, dataclass
from typing import Any, ClassVar

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
class _AtEventFault(Fault):
    """A rewrite of event ``at_event`` of a stream (default: the middle data event), by
    :meth:`_at`; a body that is not a stream is its only event (0), rewritten by :meth:`_whole`."""

    at_event: int | None = None

    def _id(self) -> str:
        return self.label + (f"@{self.at_event}" if self.at_event is not None else "")

    def apply(self, draft: Draft, ctx: FaultContext) -> str | None:
        if not draft.stream:
            if self.at_event not in (None, 0):
                return f"the body is not an event stream, so at_event={self.at_event} does not exist"
            return self._whole(draft, ctx)
        payload, why = _event_at(draft, self.at_event, f"at_event={self.at_event}")
        if payload is None:
            return why
        return self._at(draft, ctx, payload)

    @abstractmethod
    def _whole(self, draft: Draft, ctx: FaultContext) -> str | None: ...

    @abstractmethod
    def _at(self, draft: Draft, ctx: FaultContext, payload: EventPayload) -> str | None: ...


@dataclass(frozen=True, slots=True, repr=False)
class MalformedEvent(_AtEventFault):
    """Replace the data of event ``at_event`` (default: the middle one) with ``data`` (default:
    the first half of the original JSON, as a broken proxy sends it); the stream goes on. On a
    non-stream body the whole body becomes ``data``.

    Example usage::

        faults=[MalformedEvent(at_event=2)]
    """

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

    def _whole(self, draft: Draft, ctx: FaultContext) -> str | None:
        text = draft.body.data.decode("utf-8", "replace")
        if not text:
            return "the body is empty"
        new = self.data if self.data is not None else text[: len(text) // 2]
        draft.set_body(draft.body.edit([(0, len(draft.body), new.encode())], default_t=draft.head_t))
        return None

    def _at(self, draft: Draft, ctx: FaultContext, payload: EventPayload) -> str | None:
        event = payload.event
        new = self.data if self.data is not None else event.data[: len(event.data) // 2]
        raw = draft.body.data[event.start : event.end]
        draft.replace_events([(event, event_bytes(event, raw, new))])
        return None


@dataclass(frozen=True, slots=True, repr=False)
class ErrorEvent(_AtEventFault):
    """The provider's mid-stream error as event ``at_event`` (default: the middle one); the
    stream ends after it, as providers end it. OpenAI-compatible: ``data: {"error": {...}}``;
    Anthropic: ``event: error`` with ``{"type": "error", "error": {"type": "overloaded_error"}}``.
    ``error_type`` and ``message`` override the defaults. On a non-stream body, the body
    becomes the error object (with the recorded status: some servers answer 200 with it).

    Example usage::

        faults=[ErrorEvent(at_event=3)]
    """

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
        # Named, not super(): a slots dataclass's methods cannot use super() without arguments.
        return _AtEventFault._id(self) + (f"={self.error_type}" if self.error_type else "")

    def _error(self, draft: Draft, ctx: FaultContext) -> tuple[str | None, str | None, dict[str, Any]]:
        """The API, and the error event's name and payload as the API's provider sends them."""
        api = "bedrock" if draft.framing == "eventstream" else draft.shape()
        own = error_event_payload(api, self.error_type, self.message)
        if own is None:
            own = stream_error_payload(_provider(draft, ctx), self.error_type, self.message)
        return api, own[0], own[1]

    def _whole(self, draft: Draft, ctx: FaultContext) -> str | None:
        draft.set_json_body(self._error(draft, ctx)[2])
        return None

    def _at(self, draft: Draft, ctx: FaultContext, payload: EventPayload) -> str | None:
        api, name, payload_data = self._error(draft, ctx)
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
