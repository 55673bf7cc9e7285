"""Newline-delimited JSON (Ollama ``/api/chat`` and ``/api/generate`` streams): one value a line.

Lines end in LF or CRLF; blank lines carry nothing. A line's span covers its line break, so
the spans of consecutive events tile the body and a cut at an event's end leaves whole lines.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import ClassVar

from .event import Event, Framing

__all__ = ["NDJSONDecoder", "NDJSONEvent", "encode_line", "iter_lines", "parse_lines"]


@dataclass(frozen=True, slots=True)
class NDJSONEvent(Event):
    """One line of an NDJSON stream (``data`` without its line break)."""

    framing: ClassVar[Framing] = "ndjson"


@dataclass(slots=True)
class NDJSONDecoder:
    """Feed bytes in any pieces; get one event per complete non-blank line.

    Example usage::

        decoder = NDJSONDecoder()
        events = [*decoder.feed(b'{"a":1}\\n{"a"'), *decoder.feed(b':2}\\n'), *decoder.finish()]
    """

    _buf: bytearray = field(default_factory=bytearray)
    _pos: int = 0  # stream offset of _buf[0]
    _searched: int = 0  # bytes of _buf already known to hold no LF

    def feed(self, chunk: bytes, t: float | None = None) -> list[NDJSONEvent]:
        events: list[NDJSONEvent] = []
        if not chunk:
            return events
        buf = self._buf
        buf += chunk
        i = 0
        while True:
            lf = buf.find(b"\n", max(i, self._searched))
            if lf == -1:
                break
            self._line(bytes(buf[i:lf]), self._pos + i, self._pos + lf + 1, t, events)
            i = lf + 1
        del buf[:i]
        self._pos += i
        self._searched = len(buf)
        return events

    def finish(self, t: float | None = None) -> list[NDJSONEvent]:
        """A last line without a line break is an event too (Ollama ends with one)."""
        events: list[NDJSONEvent] = []
        if self._buf:
            end = self._pos + len(self._buf)
            self._line(bytes(self._buf), self._pos, end, t, events)
            self._buf.clear()
            self._pos = end
            self._searched = 0
        return events

    def _line(self, raw: bytes, start: int, end: int, t: float | None, events: list[NDJSONEvent]) -> None:
        text = raw.decode("utf-8", errors="replace").removesuffix("\r")
        if text.strip():
            events.append(NDJSONEvent(data=text, event="message", start=start, end=end, t=t))


def iter_lines(chunks: Iterable[bytes]) -> Iterator[NDJSONEvent]:
    """Events from a sequence of byte chunks, as they complete."""
    decoder = NDJSONDecoder()
    for chunk in chunks:
        yield from decoder.feed(chunk)
    yield from decoder.finish()


def parse_lines(data: bytes) -> list[NDJSONEvent]:
    """All events of a complete NDJSON body."""
    return list(iter_lines([data]))


def encode_line(data: str, *, eol: str = "\n") -> bytes:
    """One NDJSON line (``data`` must not hold a line break: JSON text never needs one)."""
    if "\n" in data:
        raise ValueError("an NDJSON line cannot hold a line break; serialise the value compactly")
    return (data + eol).encode("utf-8")
