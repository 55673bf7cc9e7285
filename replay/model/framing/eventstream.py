"""AWS event-stream (``application/vnd.amazon.eventstream``: Bedrock ``ConverseStream``,
``InvokeModelWithResponseStream``): binary messages with CRC32 checks, decoded and encoded.

A message is a 12-byte prelude (total length, headers length, CRC32 of those 8 bytes; all
big-endian), the headers, the payload, and a CRC32 of everything before it. A header is a
1-byte name length, the name, a 1-byte type and a typed value (7 = UTF-8 string with a 2-byte
length, 6 = bytes, 0/1 = true/false, 2-5 = signed integers of 1/2/4/8 bytes, 8 = timestamp in
milliseconds, 9 = UUID). :func:`encode_message` writes the same layout with correct CRCs, so a
rewritten message is one the SDKs' parsers accept.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

from .event import BufferedDecoder, Event, Framing, FramingError, decode_chunks

__all__ = [
    "EventStreamDecoder",
    "EventStreamMessage",
    "Header",
    "HeaderValue",
    "decode_message",
    "encode_message",
    "parse_messages",
]

HeaderValue = bool | int | bytes | str
_PRELUDE = 12
_MAX_MESSAGE = 24 * 1024 * 1024  # botocore refuses payloads over 16 MiB and headers over 128 KiB
_INT_TYPES = {2: ">b", 3: ">h", 4: ">i", 5: ">q", 8: ">q"}


@dataclass(frozen=True, slots=True)
class Header:
    """One typed header: ``type_`` is the wire type (7 string, 6 bytes, 0/1 bool, ...)."""

    name: str
    type_: int
    value: HeaderValue

    @classmethod
    def string(cls, name: str, value: str) -> Header:
        return cls(name, 7, value)


@dataclass(frozen=True, slots=True)
class EventStreamMessage(Event):
    """One event-stream message: typed headers and the payload bytes (``data`` is its text).

    ``event`` is the ``:event-type`` header (``:exception-type`` or ``:error-code`` for errors);
    ``crc_ok`` is False when either CRC does not match (the message is shown, not trusted).
    """

    framing: ClassVar[Framing] = "eventstream"

    headers: tuple[Header, ...] = ()
    payload: bytes = b""
    crc_ok: bool = True

    def header(self, name: str) -> HeaderValue | None:
        """A header's value by name (``:event-type``, ``:message-type``, ``:content-type``...)."""
        return next((h.value for h in self.headers if h.name == name), None)

    @property
    def message_type(self) -> str:
        """``event``, ``exception`` or ``error`` (the ``:message-type`` header)."""
        value = self.header(":message-type")
        return value if isinstance(value, str) else "event"

    def with_payload(self, payload: bytes) -> bytes:
        """This message's bytes with another payload, CRCs recomputed."""
        return encode_message(self.headers, payload)


def _encode_header(header: Header) -> bytes:
    name = header.name.encode("utf-8")
    if len(name) > 255:
        raise ValueError(f"event-stream header name {header.name!r} is longer than 255 bytes")
    out = bytes([len(name)]) + name + bytes([header.type_])
    value = header.value
    if header.type_ in (0, 1):
        return out
    if header.type_ in _INT_TYPES and isinstance(value, int) and not isinstance(value, bool):
        return out + struct.pack(_INT_TYPES[header.type_], value)
    if header.type_ in (6, 7, 9):
        raw = value.encode("utf-8") if isinstance(value, str) else value
        if not isinstance(raw, bytes):
            raise ValueError(
                f"event-stream header {header.name!r} of type {header.type_} needs bytes or text"
            )
        if header.type_ == 9:
            if len(raw) != 16:
                raise ValueError(f"event-stream UUID header {header.name!r} needs 16 bytes")
            return out + raw
        return out + struct.pack(">H", len(raw)) + raw
    raise ValueError(f"event-stream header {header.name!r}: type {header.type_} cannot hold {value!r}")


def encode_message(headers: Sequence[Header], payload: bytes) -> bytes:
    """One message's bytes, with both CRCs.

    Example usage::

        frame = encode_message([Header.string(":event-type", "messageStop")], b'{"stopReason":"end_turn"}')
    """
    head = b"".join(_encode_header(h) for h in headers)
    total = _PRELUDE + len(head) + len(payload) + 4
    prelude = struct.pack(">II", total, len(head))
    prelude += struct.pack(">I", zlib.crc32(prelude))
    body = prelude + head + payload
    return body + struct.pack(">I", zlib.crc32(body))


def _decode_headers(raw: bytes, offset: int) -> tuple[Header, ...]:
    headers: list[Header] = []
    i = 0
    try:
        while i < len(raw):
            n = raw[i]
            name = raw[i + 1 : i + 1 + n].decode("utf-8")
            i += 1 + n
            kind = raw[i]
            i += 1
            value: HeaderValue
            if kind in (0, 1):
                value = kind == 0
            elif kind in _INT_TYPES:
                fmt = _INT_TYPES[kind]
                size = struct.calcsize(fmt)
                (value,) = struct.unpack(fmt, raw[i : i + size])
                i += size
            elif kind in (6, 7):
                (size,) = struct.unpack(">H", raw[i : i + 2])
                data = raw[i + 2 : i + 2 + size]
                if len(data) != size:
                    raise FramingError("header value runs past the headers")
                value = data.decode("utf-8") if kind == 7 else data
                i += 2 + size
            elif kind == 9:
                value = raw[i : i + 16]
                i += 16
            else:
                raise FramingError(f"unknown header type {kind}")
            headers.append(Header(name, kind, value))
    except (struct.error, IndexError, UnicodeDecodeError, FramingError) as exc:
        raise FramingError(
            f"event-stream headers of the message at offset {offset} are malformed: {exc}"
        ) from None
    return tuple(headers)


def decode_message(raw: bytes, offset: int = 0, t: float | None = None) -> EventStreamMessage:
    """One whole message (``raw`` holds exactly its bytes); ``offset`` is where it starts."""
    if len(raw) < _PRELUDE + 4:
        raise FramingError(f"event-stream message at offset {offset} is {len(raw)} bytes, shorter than 16")
    total, head_len, prelude_crc = struct.unpack(">III", raw[:_PRELUDE])
    (message_crc,) = struct.unpack(">I", raw[-4:])
    crc_ok = zlib.crc32(raw[:8]) == prelude_crc and zlib.crc32(raw[:-4]) == message_crc
    if total != len(raw) or _PRELUDE + head_len + 4 > total:
        raise FramingError(f"event-stream message at offset {offset}: lengths do not add up")
    headers = _decode_headers(raw[_PRELUDE : _PRELUDE + head_len], offset)
    payload = raw[_PRELUDE + head_len : -4]
    return EventStreamMessage(
        data=payload.decode("utf-8", errors="replace"),
        event=_event_name(headers),
        start=offset,
        end=offset + total,
        t=t,
        headers=headers,
        payload=payload,
        crc_ok=crc_ok,
    )


def _event_name(headers: tuple[Header, ...]) -> str:
    values = {h.name: h.value for h in headers}
    kind = values.get(":message-type", "event")
    key = {"exception": ":exception-type", "error": ":error-code"}.get(str(kind), ":event-type")
    name = values.get(key)
    return name if isinstance(name, str) else "message"


@dataclass(slots=True)
class EventStreamDecoder(BufferedDecoder[EventStreamMessage]):
    """Feed bytes in any pieces; get each message when its last byte arrives.

    The prelude is checked before its length is trusted: a stream whose prelude CRC fails
    raises :class:`FramingError` (the rest of it cannot be cut into messages).

    Example usage::

        decoder = EventStreamDecoder()
        messages = [*decoder.feed(frame[:7]), *decoder.feed(frame[7:]), *decoder.finish()]
    """

    def _frames(self, messages: list[EventStreamMessage], t: float | None) -> int:
        buf = self._buf
        i = 0
        while len(buf) - i >= _PRELUDE:
            total, _, prelude_crc = struct.unpack_from(">III", buf, i)
            if zlib.crc32(buf[i : i + 8]) != prelude_crc:
                raise FramingError(f"event-stream prelude CRC mismatch at offset {self._pos + i}")
            if total < _PRELUDE + 4 or total > _MAX_MESSAGE:
                raise FramingError(f"event-stream message at offset {self._pos + i} claims {total} bytes")
            if len(buf) - i < total:
                break
            messages.append(decode_message(bytes(buf[i : i + total]), self._pos + i, t))
            i += total
        return i

    def finish(self, t: float | None = None) -> list[EventStreamMessage]:
        """An incomplete last message is not an event (its CRC cannot be checked)."""
        self._drop(len(self._buf))
        return []


def parse_messages(data: bytes) -> list[EventStreamMessage]:
    """All messages of a complete event-stream body."""
    return list(decode_chunks(EventStreamDecoder(), [data]))
