"""The event value every framing produces, and the protocol every framing decoder follows.

An event is one unit of a streamed body: an SSE event, an NDJSON line, an AWS event-stream
message, one element of a streamed JSON array. Each carries its byte span in the whole body
(``start``/``end``), so faults can cut, delay or rewrite the stream at event boundaries whatever
its framing, and the arrival time ``t`` of the read that completed it when it was decoded from
timed chunks.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal, Protocol

__all__ = ["FRAMINGS", "Event", "FrameDecoder", "Framing", "FramingError"]

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
