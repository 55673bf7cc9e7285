"""Server-Sent Events framing: an incremental decoder that accepts any split of the bytes.

Follows the WHATWG event-stream rules: lines end in CRLF, LF or CR (a CR at the end of one
chunk and an LF at the start of the next are one line break), ``:`` starts a comment, a field
without a colon has an empty value, one leading space after the colon is dropped, ``data``
lines are joined with ``\\n``, and a blank line dispatches the event if it has data. Each event
also carries the byte span it occupied in the stream, so faults can cut or rewrite the stream at
event boundaries.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import ClassVar

from .event import Event, Framing, decode_chunks, split_after_events

__all__ = ["SSEDecoder", "SSEEvent", "encode_event", "iter_events", "parse_events", "split_at_events"]

_BOM = b"\xef\xbb\xbf"


@dataclass(frozen=True, slots=True)
class SSEEvent(Event):
    """One dispatched event. ``start``/``end`` are byte offsets in the whole stream."""

    framing: ClassVar[Framing] = "sse"

    id: str | None = None
    retry: int | None = None

    @property
    def carries_data(self) -> bool:
        """Data that is not blank; Anthropic's ``ping`` events are keep-alives."""
        return bool(self.data.strip()) and self.event != "ping"


@dataclass(slots=True)
class SSEDecoder:
    """Feed bytes in any pieces; get complete events out, with their byte spans.

    Example usage::

        decoder = SSEDecoder()
        events = [*decoder.feed(b"data: a\\n"), *decoder.feed(b"\\n"), *decoder.finish()]
    """

    max_line: int | None = None  # bytes; None means unbounded
    _buf: bytearray = field(default_factory=bytearray)
    _pos: int = 0  # stream offset of _buf[0]
    _clean: int = 0
    _started: bool = False
    _data: list[str] = field(default_factory=list)
    _event: str = ""
    _id: str | None = None
    _last_id: str | None = None
    _retry: int | None = None
    _event_start: int | None = None
    _t: float | None = None

    def feed(self, chunk: bytes, t: float | None = None) -> list[SSEEvent]:
        events: list[SSEEvent] = []
        self._t = t
        if not chunk:
            return events
        self._buf += chunk
        if not self._started:
            if len(self._buf) < 3 and _BOM.startswith(bytes(self._buf)):
                return events
            self._started = True
            if self._buf.startswith(_BOM):
                del self._buf[:3]
                self._pos += 3
        self._scan(events, final=False)
        if self.max_line is not None and len(self._buf) > self.max_line:
            raise ValueError(
                f"SSE line longer than {self.max_line} bytes at offset {self._pos} without a line break"
            )
        return events

    def finish(self, t: float | None = None) -> list[SSEEvent]:
        """End of stream: a last event not followed by a blank line is dispatched too.

        (The specification discards it; the SDKs' decoders and real providers' final frames
        differ, and a replay tool must show what was sent.)
        """
        events: list[SSEEvent] = []
        if t is not None:
            self._t = t
        self._scan(events, final=True)
        if self._buf:
            end = self._pos + len(self._buf)
            self._line(bytes(self._buf), self._pos, end, events)
            self._pos = end
            self._buf.clear()
        if self._data:
            self._dispatch(self._pos, events)
        return events

    def _scan(self, events: list[SSEEvent], *, final: bool) -> None:
        buf = self._buf
        n = len(buf)
        i = 0
        # Bytes before self._clean were searched already and hold no line break, so a long
        # line arriving in many small reads costs linear time, not quadratic.
        search = self._clean
        clean = n
        # The next CR and LF at or after ``search``; -1 once none is left. A body with no CR at
        # all (most streams) is searched for one once, not once per line: linear, not quadratic.
        cr = lf = -2
        while i < n:
            if -1 < cr < search or cr == -2:
                cr = buf.find(b"\r", search)
            if -1 < lf < search or lf == -2:
                lf = buf.find(b"\n", search)
            if cr == -1 and lf == -1:
                break
            if cr == -1 or (lf != -1 and lf < cr):
                eol, nxt = lf, lf + 1
            elif cr + 1 < n:
                eol = cr
                nxt = cr + 2 if buf[cr + 1] == 0x0A else cr + 1
            elif final:
                eol, nxt = cr, cr + 1
            else:
                # A CR at the very end may be the first half of a CRLF split across reads:
                # wait for the next byte so spans are the same whatever the split.
                clean = cr
                break
            self._line(bytes(buf[i:eol]), self._pos + i, self._pos + nxt, events)
            i = search = nxt
        del buf[:i]
        self._pos += i
        self._clean = max(0, clean - i)

    def _line(self, raw: bytes, start: int, end: int, events: list[SSEEvent]) -> None:
        if not raw:
            if self._data:
                self._dispatch(end, events)
            else:
                self._reset_event()
            return
        if self._event_start is None:
            self._event_start = start
        line = raw.decode("utf-8", errors="replace")
        if line.startswith(":"):
            return
        name, sep, value = line.partition(":")
        if sep and value.startswith(" "):
            value = value[1:]
        if name == "data":
            self._data.append(value)
        elif name == "event":
            self._event = value
        elif name == "id":
            if "\x00" not in value:
                self._id = value
        elif name == "retry" and value.isdigit():
            self._retry = int(value)

    def _dispatch(self, end: int, events: list[SSEEvent]) -> None:
        if self._id is not None:
            self._last_id = self._id
        events.append(
            SSEEvent(
                data="\n".join(self._data),
                event=self._event or "message",
                id=self._last_id,
                retry=self._retry,
                start=self._event_start if self._event_start is not None else end,
                end=end,
                t=self._t,
            )
        )
        self._reset_event()

    def _reset_event(self) -> None:
        self._data = []
        self._event = ""
        self._id = None
        self._retry = None
        self._event_start = None


def iter_events(chunks: Iterable[bytes]) -> Iterator[SSEEvent]:
    """Events from a sequence of byte chunks, as they complete."""
    return decode_chunks(SSEDecoder(), chunks)


def parse_events(data: bytes) -> list[SSEEvent]:
    """All events of a complete stream body."""
    return list(iter_events([data]))


def split_at_events(data: bytes) -> list[bytes]:
    """Split a stream body into pieces that each end where a dispatched event ends.

    Used to turn a body recorded as one string (vcrpy) into chunks. A frame that dispatches
    nothing (a comment block, an event without data) travels with the next event's piece.
    """
    return split_after_events(data, parse_events(data))


def encode_event(data: str, *, event: str | None = None, id: str | None = None, eol: str = "\n") -> bytes:
    """Serialise one event (multi-line data becomes several ``data:`` lines)."""
    lines = []
    if event is not None:
        lines.append(f"event: {event}")
    if id is not None:
        lines.append(f"id: {id}")
    lines.extend(f"data: {line}" for line in data.split("\n"))
    return (eol.join(lines) + eol + eol).encode("utf-8")
