"""A JSON array streamed element by element (Gemini ``streamGenerateContent`` without
``alt=sse``): ``[{...}\\n,\\r\\n{...}]`` arriving in arbitrary reads.

Each top-level element is one event; its span covers the element's own bytes, so the separators
(``[``, ``,``, whitespace, ``]``) lie between events. The scan keeps its state across reads and
jumps between significant bytes with regular expressions: linear time, however the body is split.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import ClassVar

from .event import BufferedDecoder, Event, Framing, FramingError, decode_chunks

__all__ = ["JSONArrayDecoder", "JSONArrayEvent", "parse_elements"]

_NONWS = re.compile(rb"[^ \t\r\n]")
_SIGNIFICANT = re.compile(rb'[\[\]{}",]')
_IN_STRING = re.compile(rb'["\\]')
_SCALAR_END = re.compile(rb"[ \t\r\n,\]]")

_BEFORE, _EXPECT, _CONTAINER, _SCALAR, _AFTER, _DONE = range(6)
_OPEN = frozenset(b"[{")
_CLOSE = frozenset(b"]}")


@dataclass(frozen=True, slots=True)
class JSONArrayEvent(Event):
    """One element of a streamed JSON array (``data`` is the element's JSON text)."""

    framing: ClassVar[Framing] = "json-array"


@dataclass(slots=True)
class JSONArrayDecoder(BufferedDecoder[JSONArrayEvent]):
    """Feed bytes in any pieces; get each top-level element as soon as it closes.

    Example usage::

        decoder = JSONArrayDecoder()
        events = [*decoder.feed(b'[{"a": 1},\\n{"a"'), *decoder.feed(b": 2}]"), *decoder.finish()]
    """

    _i: int = 0  # scan position in _buf
    _state: int = _BEFORE
    _depth: int = 0
    _in_string: bool = False
    _escape: bool = False
    _elem: int | None = None  # _buf index where the current element starts

    def _frames(self, events: list[JSONArrayEvent], t: float | None) -> int:
        self._scan(events, t)
        return self._rebase()

    def finish(self, t: float | None = None) -> list[JSONArrayEvent]:
        """A bare scalar ends with the body; an element cut off mid-way is not an event."""
        events: list[JSONArrayEvent] = []
        if self._state == _SCALAR and self._elem is not None:
            self._emit(len(self._buf), t, events)
        self._drop(self._rebase())
        return events

    def _scan(self, events: list[JSONArrayEvent], t: float | None) -> None:
        buf = self._buf
        n = len(buf)
        i = self._i
        while i < n:
            state = self._state
            if state == _CONTAINER:
                i = self._scan_container(i, t, events)
            elif state == _SCALAR:
                m = _SCALAR_END.search(buf, i)
                if m is None:
                    i = n
                else:
                    i = m.start()
                    self._emit(i, t, events)
            else:
                m = _NONWS.search(buf, i)
                i = n if m is None else self._between(m.start())
        self._i = i

    def _between(self, j: int) -> int:
        """A significant byte outside any element: ``[``, ``,``, ``]`` or an element's first."""
        c = self._buf[j]
        state = self._state
        if state == _BEFORE:
            if c != ord("["):
                raise FramingError(
                    f"a streamed JSON array starts with '[', found {chr(c)!r} at offset {self._pos + j}"
                )
            self._state = _EXPECT
        elif state == _EXPECT and c != ord("]"):
            self._elem = j
            if c in _OPEN:
                self._state, self._depth = _CONTAINER, 1
            elif c == ord('"'):
                self._state, self._depth, self._in_string = _CONTAINER, 0, True
            else:
                self._state = _SCALAR
                return j
        elif state == _AFTER and c == ord(","):
            self._state = _EXPECT
        elif state in (_EXPECT, _AFTER) and c == ord("]"):
            self._state = _DONE
        elif state != _DONE:
            raise FramingError(f"expected ',' or ']' between array elements at offset {self._pos + j}")
        return j + 1

    def _scan_container(self, i: int, t: float | None, events: list[JSONArrayEvent]) -> int:
        buf = self._buf
        n = len(buf)
        if self._escape:
            self._escape = False
            return i + 1
        if self._in_string:
            m = _IN_STRING.search(buf, i)
            if m is None:
                return n
            j = m.start()
            if buf[j] == ord("\\"):
                if j + 1 >= n:
                    self._escape = True
                    return n
                return j + 2
            self._in_string = False
            if self._depth == 0:
                self._emit(j + 1, t, events)
            return j + 1
        m = _SIGNIFICANT.search(buf, i)
        if m is None:
            return n
        j = m.start()
        c = buf[j]
        if c == ord('"'):
            self._in_string = True
        elif c in _OPEN:
            self._depth += 1
        elif c in _CLOSE:
            self._depth -= 1
            if self._depth == 0:
                self._emit(j + 1, t, events)
        return j + 1

    def _emit(self, end: int, t: float | None, events: list[JSONArrayEvent]) -> None:
        start = self._elem if self._elem is not None else end
        text = bytes(self._buf[start:end]).decode("utf-8", errors="replace")
        events.append(
            JSONArrayEvent(data=text, event="message", start=self._pos + start, end=self._pos + end, t=t)
        )
        self._elem = None
        self._state = _AFTER

    def _rebase(self) -> int:
        """How many leading bytes are done with, the scan's indices moved past them."""
        # Keep only the open element's bytes: memory stays one element, not the whole body.
        cut = self._i if self._elem is None else self._elem
        self._i -= cut
        if self._elem is not None:
            self._elem -= cut
        return cut


def parse_elements(data: bytes) -> list[JSONArrayEvent]:
    """All elements of a complete (or truncated) streamed JSON array."""
    return list(decode_chunks(JSONArrayDecoder(), [data]))
