"""One entry point for every framing: detect it, decode a body or timed reads, split a body at
event boundaries, and re-encode an event with new data in its own framing and style."""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterable, Iterator
from typing import cast

from ..headers import media_type
from .event import Event, FrameDecoder, Framing, split_after_events
from .eventstream import EventStreamDecoder, EventStreamMessage, encode_message
from .jsonarray import JSONArrayDecoder
from .ndjson import NDJSONDecoder
from .sse import SSEDecoder, SSEEvent, encode_event

__all__ = [
    "CONTENT_TYPES",
    "decode",
    "detect_framing",
    "iter_decoded",
    "new_decoder",
    "reencode",
    "split_at",
]

CONTENT_TYPES: dict[Framing, str] = {
    "sse": "text/event-stream",
    "ndjson": "application/x-ndjson",
    "eventstream": "application/vnd.amazon.eventstream",
    "json-array": "application/json",
}
_NDJSON_TYPES = frozenset(
    {
        "application/x-ndjson",
        "application/ndjson",
        "application/jsonl",
        "application/x-jsonlines",
        "application/jsonlines",
    }
)


def _is_json_type(ctype: str) -> bool:
    return ctype in ("application/json", "text/json") or ctype.endswith("+json")


def _looks_like_eventstream(body: bytes) -> bool:
    if len(body) < 16:
        return False
    total, head_len, crc = struct.unpack_from(">III", body)
    return bool(zlib.crc32(body[:8]) == crc and 16 + head_len <= total)


def detect_framing(content_type: str | None, body: bytes = b"") -> Framing | None:
    """The framing of a body from its content type, then from its first bytes; None if unframed.

    Example usage::

        detect_framing("application/x-ndjson; charset=utf-8")   # "ndjson"
        detect_framing("application/json", b'[{"candidates": []}]')   # "json-array"
    """
    ctype = media_type(content_type)
    if ctype == "text/event-stream":
        return "sse"
    if ctype in _NDJSON_TYPES:
        return "ndjson"
    if ctype == "application/vnd.amazon.eventstream":
        return "eventstream"
    head = body[:64].lstrip()
    if _is_json_type(ctype):
        return "json-array" if head.startswith(b"[") else None
    if head.startswith((b"data:", b"event:")):
        return "sse"
    if _looks_like_eventstream(body):
        return "eventstream"
    return None


def new_decoder(framing: Framing) -> FrameDecoder:
    """A fresh incremental decoder for ``framing``."""
    if framing == "sse":
        return SSEDecoder()
    if framing == "ndjson":
        return NDJSONDecoder()
    if framing == "eventstream":
        return EventStreamDecoder()
    if framing == "json-array":
        return JSONArrayDecoder()
    raise ValueError(f"unknown framing {framing!r}; expected one of sse, ndjson, eventstream, json-array")


def iter_decoded(framing: Framing, reads: Iterable[tuple[float | None, bytes]]) -> Iterator[Event]:
    """Events from ``(t, bytes)`` reads, each stamped with the ``t`` of the read completing it."""
    decoder = new_decoder(framing)
    last: float | None = None
    for t, data in reads:
        last = t
        yield from cast("list[Event]", decoder.feed(data, t))
    yield from cast("list[Event]", decoder.finish(last))


def decode(framing: Framing, data: bytes) -> list[Event]:
    """All events of a complete body."""
    return list(iter_decoded(framing, [(None, data)]))


def split_at(framing: Framing, data: bytes) -> list[bytes]:
    """Split a body into pieces that each end where an event ends (``b"".join`` gives it back).

    Used to turn a body recorded whole (vcrpy) into one read per event.
    """
    return split_after_events(data, decode(framing, data))


def reencode(event: Event, raw: bytes, data: str) -> bytes:
    """``event`` (whose bytes were ``raw``) with new ``data``, in its framing and style.

    SSE keeps the name, id and line endings; NDJSON its line break; an event-stream message its
    headers, with both CRCs recomputed; a JSON-array element is its JSON text.
    """
    if isinstance(event, SSEEvent):
        eol = "\r\n" if b"\r\n" in raw else ("\r" if b"\r" in raw else "\n")
        name = event.event if event.event != "message" or b"event:" in raw else None
        has_id = b"\nid:" in b"\n" + raw or b"\rid:" in raw
        return encode_event(data, event=name, id=event.id if has_id else None, eol=eol)
    if isinstance(event, EventStreamMessage):
        return encode_message(event.headers, data.encode("utf-8"))
    if event.framing == "ndjson":
        eol = "\r\n" if raw.endswith(b"\r\n") else ("\n" if raw.endswith(b"\n") else "")
        return (data.replace("\n", " ") + eol).encode("utf-8")
    return data.encode("utf-8")
