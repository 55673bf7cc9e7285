"""The cassette schema: pydantic models that are both the in-memory values and the file format.

In memory a body is bytes and a response is a list of timed chunks. On disk (see
:mod:`replay.io.storage`) the same models serialise to readable YAML: JSON bodies as data, SSE
chunks as text with their ``t``, anything else as base64. Validation turns the on-disk form back
into bytes, so a malformed file fails with the path of the field at fault.

Example usage::

    cassette = replay.load_cassette("cassettes/chat.yaml")
    first = cassette.interactions[0]
    first.response.chunks          # [Chunk(t=0.41, data=b'data: {...}\\n\\n'), ...]
    first.response.events()        # parsed events: SSE, NDJSON, AWS event-stream or JSON array
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainValidator,
    field_validator,
    model_serializer,
    model_validator,
)

from ..limits import MAX_CHUNK_T
from .bodies import check_nesting, decode_body, encode_body
from .chunks import Chunk, Chunks, _check_t, _round_t
from .framing import Event, Framing, detect_framing, iter_decoded
from .headers import Headers, headers_to_disk, media_type

# Re-exported: replay.transport.streams reads it from here.
from .headers import header_value as header_value
from .request import DiskModel, HTTPHeaders, Request

if TYPE_CHECKING:
    from os import PathLike

    from ..chat import AnthropicMessage, ChatCompletion
    from ..chat.assembled import Assembled

__all__ = [
    "FORMAT",
    "VERSION",
    "Cassette",
    "Chunk",
    "Chunks",
    "Headers",
    "Interaction",
    "Request",
    "Response",
    "StreamEnd",
    "dump_cassette",
]

FORMAT: Literal["llm-replay"] = "llm-replay"
VERSION: Literal[1] = 1

_STRICT = ConfigDict(extra="forbid", arbitrary_types_allowed=False)


class StreamEnd(BaseModel):
    """How a recorded body ended, when it did not end cleanly.

    ``kind`` is ``remote_protocol_error`` (the peer closed mid-body), ``read_error``
    (connection reset), ``read_timeout``, or ``closed_early`` (the application closed the
    stream before its end; the rest was never received).
    """

    model_config = _STRICT

    kind: Literal["remote_protocol_error", "read_error", "read_timeout", "closed_early"]
    message: str = ""
    t: float | None = None

    @field_validator("t", mode="before")
    @classmethod
    def _finite_t(cls, value: Any) -> Any:
        return None if value is None else _check_t(value, "end t")


class Response(DiskModel):
    """A recorded response: status, headers, time to headers ``t``, and timed body chunks."""

    model_config = ConfigDict(extra="forbid")

    status: int = Field(ge=100, le=599)  # anything else could not be replayed as HTTP
    t: float = 0.0
    headers: HTTPHeaders = Field(default_factory=list)
    # Typed as a sequence (callers pass lists); always held as a compact Chunks.
    chunks: Annotated[Sequence[Chunk], PlainValidator(Chunks.validate)] = Field(default_factory=Chunks)
    end: StreamEnd | None = None
    decoded_from: str | None = None
    synthetic_timing: bool = False

    @classmethod
    def _fields_from_disk(cls, value: dict[str, Any]) -> None:
        if "t" in value:
            value["t"] = _check_t(value["t"], "response t")
        # A body stored whole (``body:``) becomes chunks, cut as the stored chunk list says.
        body = value.pop("body", None)
        if body is not None:
            value["chunks"] = _split_sized(decode_body(body), value.get("chunks"))

    @model_validator(mode="after")
    def _check_times(self) -> Response:
        _check_t(self.t, "response t")
        times = self._store.times
        if times and not (math.isfinite(max(times)) and max(times) <= MAX_CHUNK_T):
            raise ValueError(f"chunk times must be finite and at most {MAX_CHUNK_T:g} seconds")
        check_nesting(self._store.body, "the response body")
        last = self.t
        for i, t in enumerate(self._store.times):
            if t < last:
                before = "the response headers" if i == 0 else f"chunk {i - 1}"
                raise ValueError(
                    f"chunks[{i}].t={t} is earlier than {before} (t={last}); arrival times must not decrease"
                )
            last = t
        return self

    @model_serializer(mode="plain")
    def _to_disk(self) -> dict[str, Any]:
        out: dict[str, Any] = {"status": self.status, "t": _round_t(self.t)}
        if self.headers:
            out["headers"] = headers_to_disk(self.headers)
        if self.decoded_from:
            out["decoded_from"] = self.decoded_from
        if self.synthetic_timing:
            out["synthetic_timing"] = True
        body = self.body
        as_body = encode_body(body) if body and not self.is_event_stream else None
        if as_body is not None and "json" in as_body:
            out["body"] = as_body
            out["chunks"] = [{"t": _round_t(t), "size": len(data)} for t, data in self._store.pairs()]
        else:
            out["chunks"] = [c.to_disk() for c in self.chunks]
        if self.end is not None:
            out["end"] = self.end.model_dump(exclude_none=True)
        return out

    @property
    def _store(self) -> Chunks:
        chunks = self.chunks
        # model_copy(update={"chunks": [...]}) skips validation and may leave a plain list.
        return chunks if isinstance(chunks, Chunks) else Chunks.of(chunks)

    @property
    def body(self) -> bytes:
        """The whole body: all chunks joined."""
        return self._store.body

    @property
    def chunk_times(self) -> Sequence[float]:
        """Each chunk's arrival time (seconds after the request was sent)."""
        return self._store.times

    def header(self, name: str) -> str | None:
        """First value of a header, case-insensitively."""
        return header_value(self.headers, name)

    @property
    def content_type(self) -> str:
        return media_type(self.header("content-type"))

    @property
    def is_event_stream(self) -> bool:
        return self.content_type == "text/event-stream"

    @property
    def duration(self) -> float:
        """Seconds from sending the request to the last byte."""
        return self._store.times[-1] if self.chunks else self.t

    @property
    def framing(self) -> Framing | None:
        """How the body is cut into events (``sse``, ``ndjson``, ``eventstream``, ``json-array``),
        from the content type and the first bytes; None for a body that is not a stream."""
        return detect_framing(self.header("content-type"), self.body)

    def events(self) -> list[Event]:
        """The events of the body, whatever its framing, each with its byte span and the ``t``
        of the chunk that completed it (an empty list for a body that is not a stream).

        An SSE body gives :class:`~replay.sse.SSEEvent` values, as it always did.

        Example usage::

            for event in response.events():
                print(event.t, event.name, event.start, event.end)
        """
        framing = self.framing
        if framing is None:
            return []
        return list(iter_decoded(framing, self._store.pairs()))

    def iter_events_timed(self) -> Iterator[tuple[float, Event]]:
        """Each event with the ``t`` of the chunk that completed it."""
        framing = self.framing
        if framing is None:
            return
        for event in iter_decoded(framing, self._store.pairs()):
            yield (event.t if event.t is not None else self.t), event

    def body_json(self) -> Any:
        """The body parsed as JSON."""
        import json

        return json.loads(self.body)

    def chat_completion(self) -> ChatCompletion | AnthropicMessage:
        """The completion a non-streaming call returns, assembled from the stream if streamed.

        An OpenAI-compatible body gives a :class:`~replay.chat.ChatCompletion`, an Anthropic
        one an :class:`~replay.chat.AnthropicMessage`; anything else (or a stream carrying an
        error event) raises :class:`~replay.chat.ChatCompletionError`.

        Example usage::

            completion = cassette.interactions[0].response.chat_completion()
            completion.choices[0].message.content
        """
        from ..chat.assembly import completion_of

        return completion_of(self)

    def assembled(self) -> Assembled:
        """Text, tool calls, finish reason and usage in any API llm-replay knows (OpenAI chat
        and Responses, Anthropic, Gemini, Ollama, Bedrock), streamed in any framing or not.

        Example usage::

            result = cassette.interactions[0].response.assembled()
            result.api, result.text, result.finish_reason, result.output_tokens
        """
        from ..chat.assembled import assemble

        return assemble(self)


def _split_sized(body: bytes, chunks: Any) -> Chunks:
    """Chunks of a whole-body response: ``{t, size}`` entries cut the body in order."""
    if chunks is None:
        return Chunks(body, [len(body)], [0.0]) if body else Chunks()
    if not isinstance(chunks, list):
        raise ValueError("chunks must be a list")
    ends: list[int] = []
    times: list[float] = []
    pos = 0
    for i, entry in enumerate(chunks):
        if not isinstance(entry, dict) or set(entry) != {"t", "size"}:
            raise ValueError(f"chunks[{i}]: with a whole 'body', each chunk is {{t, size}}; got {entry!r}")
        size = entry["size"]
        if isinstance(size, bool) or not isinstance(size, int) or size < 0:
            raise ValueError(f"chunks[{i}].size must be a whole number of bytes >= 0, got {size!r}")
        pos += size
        ends.append(pos)
        times.append(_check_t(entry["t"], f"chunks[{i}].t"))
    if pos != len(body):
        raise ValueError(f"chunk sizes add up to {pos} bytes but the body has {len(body)}")
    return Chunks(body, ends, times)


class Interaction(BaseModel):
    """One request and the response it received."""

    model_config = ConfigDict(extra="forbid")

    request: Request
    response: Response
    recorded_at: datetime | None = None
    match_on: tuple[str, ...] | None = None

    @field_validator("match_on")
    @classmethod
    def _known_matchers(cls, value: tuple[str, ...] | None) -> tuple[str, ...] | None:
        # Checked at load time, so a typo names the file and interaction, not a later request.
        if value is not None:
            from .match_on import normalize_match_on

            normalize_match_on(value)
        return value

    @model_serializer(mode="plain")
    def _to_disk(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.recorded_at is not None:
            out["recorded_at"] = self.recorded_at.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        if self.match_on is not None:
            out["match_on"] = list(self.match_on)
        out["request"] = self.request._to_disk()
        out["response"] = self.response._to_disk()
        return out


class Cassette(BaseModel):
    """A versioned list of interactions.

    Example usage::

        cassette = replay.load_cassette("cassettes/chat.yaml")
        cassette.interactions[0].response.chunks
        cassette.save("cassettes/copy.yaml")
    """

    model_config = ConfigDict(extra="forbid")

    format: Literal["llm-replay"] = FORMAT
    version: Literal[1] = VERSION
    interactions: list[Interaction] = Field(default_factory=list)

    @model_serializer(mode="plain")
    def _to_disk(self) -> dict[str, Any]:
        return {
            "format": self.format,
            "version": self.version,
            "interactions": [i._to_disk() for i in self.interactions],
        }

    def save(self, path: str | PathLike[str]) -> None:
        """Write the cassette atomically (as :func:`replay.io.storage.save_cassette` does)."""
        from ..io.atomic import write_atomic

        write_atomic(Path(path), dump_cassette(self).encode("utf-8"))

    @staticmethod
    def now() -> datetime:
        return datetime.now(timezone.utc).replace(microsecond=0)


_YAML_HEADER = "# llm-replay cassette: edit with care; `llm-replay inspect FILE` shows a summary.\n"


def dump_cassette(cassette: Cassette) -> str:
    """The YAML text of a cassette."""
    from .yamlio import dump_data

    return _YAML_HEADER + dump_data(cassette._to_disk())
