"""The event value every framing produces, and the protocol every framing decoder follows.

An event is one unit of a streamed body: an SSE event, an NDJSON line, an AWS event-stream
message, one element of a streamed JSON array. Each carries its byte span in the whole body
(``start``/``end``), so faults can cut, delay or rewrite the stream at event boundaries whatever
its framing, and the arrival time ``t`` of the read that completed it when it was decoded from
timed chunks.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Generic, Literal, Protocol, TypeVar

__all__ = [
    "FRAMINGS",
    "BufferedDecoder",
    "Event",
    "FrameDecoder",
    "Framing",
    "FramingError",
    "decode_chunks",
    "split_after_events",
]

Framing = Literal["sse", "ndjson", "eventstream", "json-array"]
FRAMINGS: tuple[Framing, ...] = ("sse", "ndjson", "eventstream", "json-array")


class FramingError(ValueError):
    """Bytes that cannot be a frame of the stream's framing (a bad prelude, a broken CRC)."""


@dataclass(frozen=True, slots=True)
class Event:
    """One event of a stream: its text ``data``, its name ``event``, its byte span.

    ``t`` (seconds after the request, when known) does not take part in equality: the same
    bytes decode to equal events however they were timed or split.

    Example usage::

        for event in response.events():
            print(event.framing, event.name, event.start, event.end, event.json())
    """

    framing: ClassVar[Framing]

    data: str
    event: str = "message"
    start: int = 0
    end: int = 0
    t: float | None = field(default=None, compare=False)

    @property
    def name(self) -> str:
        """The event's name (SSE ``event:``, event-stream ``:event-type``); ``message`` if none."""
        return self.event

    @property
    def is_done(self) -> bool:
        """True for OpenAI's ``data: [DONE]`` terminator."""
        return self.data.strip() == "[DONE]"

    @property
    def carries_data(self) -> bool:
        """Whether the event counts as delivered data for faults (keep-alives do not)."""
        return bool(self.data.strip())

    def json(self) -> Any:
        """The data parsed as JSON (parsed on each call: most events are never looked into).

        Raises ``ValueError`` when the data is not JSON (``[DONE]``, a truncated line).
        """
        return json.loads(self.data)


class FrameDecoder(Protocol):
    """An incremental decoder: feed the body's reads in order, then finish.

    Events come out as soon as their last byte arrives, whatever the split of the bytes, with
    the same spans for every split. ``t`` is the arrival time of the read being fed.
    """

    def feed(self, chunk: bytes, t: float | None = None) -> list[Any]: ...

    def finish(self, t: float | None = None) -> list[Any]: ...


_E = TypeVar("_E", bound=Event)
_E_co = TypeVar("_E_co", bound=Event, covariant=True)


class _Decoder(Protocol[_E_co]):
    """A :class:`FrameDecoder` whose events are of one class (each framing's own)."""

    def feed(self, chunk: bytes, t: float | None = None) -> Sequence[_E_co]: ...

    def finish(self, t: float | None = None) -> Sequence[_E_co]: ...


@dataclass(slots=True)
class BufferedDecoder(ABC, Generic[_E]):
    """What the framings that cut whole frames off the front of their reads share: the bytes
    fed and not yet done with, and the stream offset of the first of them.

    A subclass decodes in :meth:`_frames`; the bytes it is done with are dropped at once, so a
    decoder holds one frame of the body, not the whole body.
    """

    _buf: bytearray = field(default_factory=bytearray)
    _pos: int = 0  # stream offset of _buf[0]

    def feed(self, chunk: bytes, t: float | None = None) -> list[_E]:
        events: list[_E] = []
        if chunk:
            self._buf += chunk
            self._drop(self._frames(events, t))
        return events

    @abstractmethod
    def _frames(self, events: list[_E], t: float | None) -> int:
        """Append the events the buffer now completes; return how many leading bytes are done."""

    def _drop(self, n: int) -> None:
        del self._buf[:n]
        self._pos += n


def decode_chunks(decoder: _Decoder[_E], chunks: Iterable[bytes]) -> Iterator[_E]:
    """Events from a sequence of byte chunks fed to a fresh ``decoder``, as they complete."""
    for chunk in chunks:
        yield from decoder.feed(chunk)
    yield from decoder.finish()


def split_after_events(data: bytes, events: Sequence[Event]) -> list[bytes]:
    """Cut a body into pieces that each end where one of its ``events`` ends.

    Bytes that end no event (a comment block, a keep-alive frame) travel with the next event's
    piece; bytes after the last event stay in a final piece, so ``b"".join(pieces) == data``.
    """
    pieces: list[bytes] = []
    last = 0
    for event in events:
        if event.end > last:
            pieces.append(data[last : event.end])
            last = event.end
    if last < len(data):
        pieces.append(data[last:])
    return pieces
