"""The working copy of one replayed response while faults rewrite it, and the helpers they share.

A :class:`Draft` starts as the recorded response (never the recording itself: the cassette in
memory and on disk are left alone) and ends as a :class:`~replay.transport.streams.ResponsePlan`.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from ..chat.shapes import Shape, body_shape, event_json, is_data_event, is_wrapped_chunk
from ..model.bodies import sniff_json_style
from ..model.cassette import Headers, Interaction, Request, Response, StreamEnd
from ..model.framing import (
    Event,
    EventStreamMessage,
    Framing,
    Header,
    decode,
    encode_event,
    encode_message,
    reencode,
)
from .timed_body import TimedBody

__all__ = [
    "Draft",
    "EventPayload",
    "FaultContext",
    "dumps_like",
    "event_bytes",
    "new_event_bytes",
    "rewrite_json_event",
]


@dataclass(frozen=True, slots=True)
class FaultContext:
    """What a fault may look at: the live request, the interaction it matched, the client's
    read timeout (``request.extensions["timeout"]["read"]``), and the replay speed."""

    request: Request
    interaction: Interaction
    index: int
    source: str
    read_timeout: float | None
    speed: float = 1.0


@dataclass(frozen=True, slots=True)
class EventPayload:
    """A data event of the stream with its position among data events and its JSON (if any)."""

    index: int
    event: Event
    data: Any  # parsed JSON, or None when the data is not JSON ([DONE], garbage)


@dataclass(slots=True)
class Draft:
    status: int
    headers: Headers
    head_t: float
    _body: TimedBody
    end: StreamEnd | None
    stream: bool
    replaced: bool = False
    content_changed: bool = False
    framing: Framing | None = None
    _events: list[Event] | None = field(default=None, repr=False)

    @classmethod
    def from_response(cls, response: Response) -> Draft:
        framing = response.framing
        return cls(
            status=response.status,
            headers=list(response.headers),
            head_t=response.t,
            _body=TimedBody.from_chunks(response.chunks),
            end=response.end,
            stream=framing is not None,
            framing=framing,
        )

    # -- body -----------------------------------------------------------------------------

    @property
    def body(self) -> TimedBody:
        return self._body

    def set_body(self, body: TimedBody, *, content: bool = True) -> None:
        self._body = body
        self._events = None
        if content:
            self.content_changed = True

    def events(self) -> list[Event]:
        """All events of the current body in its framing (empty for a body that is not a stream)."""
        if not self.stream or self.framing is None:
            return []
        if self._events is None:
            self._events = decode(self.framing, self._body.data)
        return self._events

    def data_events(self) -> list[Event]:
        """The events that count for ``after_events``/``at_event`` (see :func:`is_data_event`)."""
        return [e for e in self.events() if is_data_event(e)]

    def payloads(self) -> Iterator[EventPayload]:
        for i, event in enumerate(self.data_events()):
            data: Any = None
            if not event.is_done:
                try:
                    data = event_json(event)
                except ValueError:
                    data = None
            yield EventPayload(i, event, data)

    def shape(self) -> Shape | None:
        return body_shape(self.events() if self.stream else None, self._body.data)

    def json_body(self) -> Any:
        """The non-stream body parsed as JSON, or None."""
        try:
            return json.loads(self._body.data)
        except ValueError:
            return None

    def set_json_body(self, obj: Any) -> None:
        """Replace a whole (non-stream) body with ``obj`` in the original's JSON style."""
        text = self._body.data.decode("utf-8", "replace")
        new = dumps_like(obj, text).encode("utf-8")
        self.set_body(self._body.edit([(0, len(self._body), new)], default_t=self.head_t))

    def replace_events(self, replacements: list[tuple[Event, bytes]]) -> None:
        """Swap whole events for new bytes (each arrives when the event it replaces completed)."""
        edits = sorted((e.start, e.end, new) for e, new in replacements)
        self.set_body(self._body.edit(edits, default_t=self.head_t))

    def array_tail(self) -> bytes:
        """What closes a streamed JSON array after its last element (``"\\n]"``), so a stream
        cut cleanly still parses as a whole array; empty for other framings."""
        if self.framing != "json-array":
            return b""
        events = self.events()
        data = self._body.data
        tail = data[events[-1].end :] if events else data[data.find(b"[") + 1 :]
        return tail.replace(b",", b"") if b"]" in tail else b"]"

    def insert_at(self, pos: int, data: bytes) -> None:
        self.set_body(self._body.edit([(pos, pos, data)], default_t=self.head_t))

    # -- headers --------------------------------------------------------------------------

    def header(self, name: str) -> str | None:
        lname = name.lower()
        return next((v for k, v in self.headers if k.lower() == lname), None)

    def set_header(self, name: str, value: str | None) -> None:
        lname = name.lower()
        kept = [(k, v) for k, v in self.headers if k.lower() != lname]
        if value is not None:
            kept.append((name, value))
        self.headers = kept

    def fix_content_length(self) -> None:
        """Content-Length follows a rewritten body (a chunked body has none to fix)."""
        if self.header("content-length") is not None:
            self.set_header("content-length", str(len(self._body)))


def dumps_like(obj: Any, original: str) -> str:
    """``obj`` as JSON in the style (compact, spaced, indented) of the text it replaces."""
    return sniff_json_style(original).dumps(obj)


def event_bytes(original: Event, raw: bytes, data: str) -> bytes:
    """An event with new data, in its framing: an SSE event keeps its name, id and line
    endings; an event-stream message its headers (CRCs recomputed)."""
    return reencode(original, raw, data)


def _wrapped(event: Event) -> dict[str, Any] | None:
    """A Bedrock InvokeModel ``chunk``'s outer JSON (the model's JSON base64-encoded under
    ``bytes``), or None."""
    if not isinstance(event, EventStreamMessage):
        return None
    try:
        outer = event.json()
    except ValueError:
        return None
    return outer if is_wrapped_chunk(outer) else None


def rewrite_json_event(draft: Draft, payload: EventPayload, new: Any) -> tuple[Event, bytes]:
    """The replacement bytes for an event whose JSON becomes ``new`` (re-wrapped in a Bedrock
    ``chunk`` when it came in one, padding kept)."""
    event = payload.event
    raw = draft.body.data[event.start : event.end]
    outer = _wrapped(event)
    if outer is not None:
        inner = base64.b64decode(outer["bytes"]).decode("utf-8", "replace")
        packed = base64.b64encode(dumps_like(new, inner).encode()).decode()
        return event, event_bytes(event, raw, dumps_like({**outer, "bytes": packed}, event.data))
    return event, event_bytes(event, raw, dumps_like(new, event.data))


def new_event_bytes(
    like: Event, raw: bytes, name: str | None, data: str, *, exception: bool = False
) -> bytes:
    """A new event in the framing of ``like`` (whose bytes were ``raw``): SSE with ``name`` as
    its ``event:``, an NDJSON line, an array element, or an event-stream message whose
    ``:event-type`` (or ``:exception-type`` when ``exception``) is ``name``."""
    if isinstance(like, EventStreamMessage):
        kind = "exception" if exception else "event"
        headers = [
            Header.string(":exception-type" if exception else ":event-type", name or "message"),
            Header.string(":content-type", "application/json"),
            Header.string(":message-type", kind),
        ]
        return encode_message(headers, data.encode("utf-8"))
    if like.framing == "sse":
        eol = "\r\n" if b"\r\n" in raw else ("\r" if b"\r" in raw else "\n")
        return encode_event(data, event=name, eol=eol)
    return reencode(like, raw, data)
