"""The cassette schema: pydantic models that are both the in-memory values and the file format.

In memory a body is bytes and a response is a list of timed chunks. On disk (see
:mod:`replay.storage`) the same models serialise to readable YAML: JSON bodies as data, SSE
chunks as text with their ``t``, anything else as base64. Validation turns the on-disk form back
into bytes, so a malformed file fails with the path of the field at fault.

Example usage::

    cassette = replay.load_cassette("cassettes/chat.yaml")
    first = cassette.interactions[0]
    first.response.chunks          # [Chunk(t=0.41, data=b'data: {...}\\n\\n'), ...]
    first.response.events()        # parsed SSE events
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_serializer, model_validator

from .bodies import decode_body, encode_body, is_yaml_safe_text
from .sse import SSEEvent, iter_events

if TYPE_CHECKING:
    from os import PathLike

    from .chat import AnthropicMessage, ChatCompletion

__all__ = [
    "FORMAT",
    "VERSION",
    "Cassette",
    "Chunk",
    "Headers",
    "Interaction",
    "Request",
    "Response",
    "StreamEnd",
]

FORMAT: Literal["llm-replay"] = "llm-replay"
VERSION: Literal[1] = 1

Headers = list[tuple[str, str]]

_STRICT = ConfigDict(extra="forbid", arbitrary_types_allowed=False)


def _round_t(t: float) -> float:
    # Microseconds: what freezegun's clock resolves, and enough for any network timing.
    return round(t, 6)


def _check_t(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{where} must be a number of seconds, got {value!r}")
    t = float(value)
    if not math.isfinite(t) or t < 0:
        raise ValueError(f"{where} must be a finite number of seconds >= 0, got {value!r}")
    return t


def headers_from_disk(value: Any) -> Headers:
    """Headers given as a mapping (value or list of values per name) or as [name, value] pairs."""
    if value is None:
        return []
    out: Headers = []
    if isinstance(value, dict):
        for name, v in value.items():
            values = v if isinstance(v, list) else [v]
            for item in values:
                if isinstance(item, bool) or not isinstance(item, (str, int, float)):
                    raise ValueError(f"header {name!r} has a non-text value {item!r}")
                out.append((str(name), str(item)))
        return out
    if isinstance(value, list):
        for pair in value:
            if (
                not isinstance(pair, (list, tuple))
                or len(pair) != 2
                or not all(isinstance(p, str) for p in pair)
            ):
                raise ValueError(f"a header must be a [name, value] pair of strings, got {pair!r}")
            out.append((pair[0], pair[1]))
        return out
    raise ValueError(f"headers must be a mapping or a list of pairs, got {type(value).__name__}")


def headers_to_disk(headers: Headers) -> dict[str, str | list[str]]:
    grouped: dict[str, list[str]] = {}
    for name, value in headers:
        grouped.setdefault(name, []).append(value)
    return {name: values[0] if len(values) == 1 else values for name, values in grouped.items()}


def header_value(headers: Headers, name: str) -> str | None:
    """First value of a header, case-insensitively."""
    lname = name.lower()
    for key, value in headers:
        if key.lower() == lname:
            return value
    return None


class Chunk(BaseModel):
    """The bytes of one network read, ``t`` seconds after the request was sent."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    t: float
    data: bytes

    @model_validator(mode="before")
    @classmethod
    def _from_disk(cls, value: Any) -> Any:
        if not isinstance(value, dict) or "data" in value:
            return value
        if "t" not in value:
            raise ValueError("a chunk needs its arrival time 't'")
        rest = {k: v for k, v in value.items() if k != "t"}
        t = _check_t(value["t"], "chunk t")
        if set(rest) in ({"text"}, {"b64"}):
            return {"t": t, "data": decode_body(rest)}
        raise ValueError(f"a chunk needs 't' and one of 'text' or 'b64'; got {sorted(value)}")

    @model_serializer(mode="plain")
    def _to_disk(self) -> dict[str, Any]:
        text = is_yaml_safe_text(self.data)
        if text is not None:
            return {"t": _round_t(self.t), "text": text}
        return {"t": _round_t(self.t), **encode_body(self.data, allow_json=False)}

    def __repr__(self) -> str:
        return f"Chunk(t={self.t!r}, data={self.data!r})"


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


class Request(BaseModel):
    """A recorded request: method, URL, headers (in order, repeats allowed) and body bytes."""

    model_config = ConfigDict(extra="forbid")

    method: str
    url: str
    headers: Headers = Field(default_factory=list)
    body: bytes = b""

    @model_validator(mode="before")
    @classmethod
    def _from_disk(cls, value: Any) -> Any:
        if not isinstance(value, dict):
            return value
        value = dict(value)
        if "headers" in value:
            value["headers"] = headers_from_disk(value["headers"])
        body = value.get("body")
        if body is None:
            value.pop("body", None)
        elif isinstance(body, dict):
            value["body"] = decode_body(body)
        if isinstance(value.get("method"), str):
            value["method"] = value["method"].upper()
        return value

    @model_serializer(mode="plain")
    def _to_disk(self) -> dict[str, Any]:
        out: dict[str, Any] = {"method": self.method, "url": self.url}
        if self.headers:
            out["headers"] = headers_to_disk(self.headers)
        if self.body:
            out["body"] = encode_body(self.body)
        return out

    def header(self, name: str) -> str | None:
        """First value of a header, case-insensitively."""
        return header_value(self.headers, name)

    @property
    def host(self) -> str:
        return urlsplit(self.url).hostname or ""

    @property
    def path(self) -> str:
        return urlsplit(self.url).path


class Response(BaseModel):
    """A recorded response: status, headers, time to headers ``t``, and timed body chunks."""

    model_config = ConfigDict(extra="forbid")

    status: int = Field(ge=100, le=599)  # anything else could not be replayed as HTTP
    t: float = 0.0
    headers: Headers = Field(default_factory=list)
    chunks: list[Chunk] = Field(default_factory=list)
    end: StreamEnd | None = None
    decoded_from: str | None = None
    synthetic_timing: bool = False

    @model_validator(mode="before")
    @classmethod
    def _from_disk(cls, value: Any) -> Any:
        if not isinstance(value, dict):
            return value
        value = dict(value)
        if "headers" in value:
            value["headers"] = headers_from_disk(value["headers"])
        if "t" in value:
            value["t"] = _check_t(value["t"], "response t")
        body = value.pop("body", None)
        if body is not None:
            value["chunks"] = _split_sized(decode_body(body), value.get("chunks"))
        return value

    @model_validator(mode="after")
    def _check_times(self) -> Response:
        last = self.t
        for i, chunk in enumerate(self.chunks):
            if chunk.t < last:
                before = "the response headers" if i == 0 else f"chunk {i - 1}"
                raise ValueError(
                    f"chunks[{i}].t={chunk.t} is earlier than {before} (t={last}); "
                    "arrival times must not decrease"
                )
            last = chunk.t
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
            out["chunks"] = [{"t": _round_t(c.t), "size": len(c.data)} for c in self.chunks]
        else:
            out["chunks"] = [c._to_disk() for c in self.chunks]
        if self.end is not None:
            out["end"] = self.end.model_dump(exclude_none=True)
        return out

    @property
    def body(self) -> bytes:
        """The whole body: all chunks joined."""
        return b"".join(c.data for c in self.chunks)

    def header(self, name: str) -> str | None:
        """First value of a header, case-insensitively."""
        return header_value(self.headers, name)

    @property
    def content_type(self) -> str:
        return (self.header("content-type") or "").split(";")[0].strip().lower()

    @property
    def is_event_stream(self) -> bool:
        return self.content_type == "text/event-stream"

    @property
    def duration(self) -> float:
        """Seconds from sending the request to the last byte."""
        return self.chunks[-1].t if self.chunks else self.t

    def events(self) -> list[SSEEvent]:
        """The SSE events of the body (an empty list for a body that is not an event stream)."""
        if not self.is_event_stream and not self.body.lstrip().startswith((b"data:", b"event:")):
            return []
        return list(iter_events(c.data for c in self.chunks))

    def iter_events_timed(self) -> Iterator[tuple[float, SSEEvent]]:
        """Each SSE event with the ``t`` of the chunk that completed it."""
        from .sse import SSEDecoder

        decoder = SSEDecoder()
        for chunk in self.chunks:
            for event in decoder.feed(chunk.data):
                yield chunk.t, event
        last = self.chunks[-1].t if self.chunks else self.t
        for event in decoder.finish():
            yield last, event

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
        from .chat.assembly import completion_of

        return completion_of(self)


def _split_sized(body: bytes, chunks: Any) -> list[dict[str, Any]]:
    """Chunks of a whole-body response: ``{t, size}`` entries cut the body in order."""
    if chunks is None:
        return [{"t": 0.0, "data": body}] if body else []
    if not isinstance(chunks, list):
        raise ValueError("chunks must be a list")
    out: list[dict[str, Any]] = []
    pos = 0
    for i, entry in enumerate(chunks):
        if not isinstance(entry, dict) or set(entry) != {"t", "size"}:
            raise ValueError(f"chunks[{i}]: with a whole 'body', each chunk is {{t, size}}; got {entry!r}")
        size = entry["size"]
        if isinstance(size, bool) or not isinstance(size, int) or size < 0:
            raise ValueError(f"chunks[{i}].size must be a whole number of bytes >= 0, got {size!r}")
        out.append({"t": _check_t(entry["t"], f"chunks[{i}].t"), "data": body[pos : pos + size]})
        pos += size
    if pos != len(body):
        raise ValueError(f"chunk sizes add up to {pos} bytes but the body has {len(body)}")
    return out


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
            from .matching import normalize_match_on

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
        """Write the cassette atomically (see :func:`replay.storage.save_cassette`)."""
        from .storage import save_cassette

        save_cassette(self, path)

    @staticmethod
    def now() -> datetime:
        return datetime.now(timezone.utc).replace(microsecond=0)
