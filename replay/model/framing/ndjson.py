"""Newline-delimited JSON (Ollama ``/api/chat`` and ``/api/generate`` streams): one value a line.

Lines end in LF or CRLF; blank lines carry nothing. A line's span covers its line break, so
the spans of consecutive events tile the body and a cut at an event's end leaves whole lines.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from .event import BufferedDecoder, Event, Framing, decode_chunks

__all__ = ["NDJSONDecoder", "NDJSONEvent", "encode_line", "parse_lines"]


@dataclass(frozen=True, slots=True)
class NDJSONEvent(Event):
    """One line of an NDJSON stream (``data`` without its line break)."""

    framing: ClassVar[Framing] = "ndjson"


@dataclass(slots=True)
class NDJSONDecoder(BufferedDecoder[NDJSONEvent]):
    """Feed bytes in any pieces; get one event per complete non-blank line.

    Example usage::

        decoder = NDJSONDecoder()
        events = [*decoder.feed(b'{"a":1}\\n{"a"'), *decoder.feed(b':2}\\n'), *decoder.finish()]
    """

    _searched: int = 0  # bytes of _buf already known to hold no LF

    def _frames(self, events: list[NDJSONEvent], t: float | None) -> int:
        buf = self._buf
        i = 0
        while (lf := buf.find(b"\n", max(i, self._searched))) != -1:
            self._line(bytes(buf[i:lf]), self._pos + i, self._pos + lf + 1, t, events)
            i = lf + 1
        self._searched = len(buf) - i
        return i

    def finish(self, t: float | None = None) -> list[NDJSONEvent]:
        """A last line without a line break is an event too (Ollama ends with one)."""
        events: list[NDJSONEvent] = []
        if self._buf:
            self._line(bytes(self._buf), self._pos, self._pos + len(self._buf), t, events)
            self._drop(len(self._buf))
            self._searched = 0
        return events

    def _line(self, raw: bytes, start: int, end: int, t: float | None, events: list[NDJSONEvent]) -> None:
        text = raw.decode("utf-8", errors="replace").removesuffix("\r")
        if text.strip():
            events.append(NDJSONEvent(data=text, event="message", start=start, end=end, t=t))


def parse_lines(data: bytes) -> list[NDJSONEvent]:
    """All events of a complete NDJSON body."""
    return list(decode_chunks(NDJSONDecoder(), [data]))


def encode_line(data: str, *, eol: str = "\n") -> bytes:
    """One NDJSON line (``data`` must not hold a line break: JSON text never needs one)."""
    if "\n" in data:
        raise ValueError("an NDJSON line cannot hold a line break; serialise the value compactly")
    return (data + eol).encode("utf-8")
