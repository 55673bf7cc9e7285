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
import re
from array import array
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal, overload
from urllib.parse import urlsplit

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
from .bodies import check_nesting, decode_body, encode_body, is_yaml_safe_text
from .framing import Event, Framing, detect_framing, iter_decoded

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

Headers = list[tuple[str, str]]

_STRICT = ConfigDict(extra="forbid", arbitrary_types_allowed=False)


def _round_t(t: float) -> float:
    # Microseconds: what freezegun's clock resolves, and enough for any network timing.
    return round(t, 6)


def _check_t(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{where} must be a number of seconds, got {value!r}")
    try:
        t = float(value)
    except OverflowError:
        t = math.inf
    if not math.isfinite(t) or not 0 <= t <= MAX_CHUNK_T:
        shown = value if len(repr(value)) <= 40 else f"{repr(value)[:20]}... ({len(repr(value))} characters)"
        raise ValueError(
            f"{where} must be a finite number of seconds >= 0, got {shown} (at most {MAX_CHUNK_T:g}: a day)"
        )
    return t


# RFC 9110 field names are tokens; values never hold CR, LF or NUL (no server could send them,
# and a client handed them could split or forge headers).
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_BAD_VALUE = re.compile(r"[\r\n\x00]")


def check_headers(headers: Headers) -> Headers:
    """``headers`` if every name is an HTTP token and no value holds CR, LF or NUL."""
    for name, value in headers:
        if not _TOKEN.fullmatch(name):
            raise ValueError(
                f"header name {name[:60]!r} is not an HTTP field name (a token: no spaces, ':', CR/LF)"
            )
        if _BAD_VALUE.search(value):
            raise ValueError(f"header {name!r} has a value with CR, LF or NUL: {value[:60]!r}")
    return headers


def check_url(url: str) -> str:
    """``url`` if it is an absolute http(s) URL that parses (host, port)."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError as exc:
        raise ValueError(f"url {url[:80]!r} does not parse: {exc}") from None
    if parts.scheme.lower() not in {"http", "https", "ws", "wss"} or not parts.hostname:
        raise ValueError(f"url {url[:80]!r} is not an absolute http(s) URL with a host")
    if any(c in url for c in "\r\n\x00 \t"):
        raise ValueError(f"url {url[:80]!r} holds whitespace or control characters")
    return url


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


@dataclass(frozen=True, slots=True)
class Chunk:
    """The bytes of one network read, ``t`` seconds after the request was sent.

    A slotted dataclass rather than a pydantic model: a long stream holds thousands of them, and
    a model costs ~500 bytes of bookkeeping each (more than a typical SSE event). The response
    validates them (:meth:`from_disk`) and writes them (:meth:`to_disk`).
    """

    t: float
    data: bytes

    @classmethod
    def from_disk(cls, value: Any) -> Chunk:
        """A chunk from its on-disk mapping (``{t, text}`` or ``{t, b64}``) or a Chunk."""
        if isinstance(value, Chunk):
            return value
        if not isinstance(value, dict):
            raise ValueError(f"a chunk is a mapping with 't' and 'text' or 'b64', got {type(value).__name__}")
        if "t" not in value:
            raise ValueError("a chunk needs its arrival time 't'")
        t = _check_t(value["t"], "chunk t")
        if "data" in value and len(value) == 2:
            data = value["data"]
            if not isinstance(data, (bytes, bytearray)):
                raise ValueError(f"chunk data must be bytes, got {type(data).__name__}")
            return cls(t, bytes(data))
        rest = {k: v for k, v in value.items() if k != "t"}
        if set(rest) in ({"text"}, {"b64"}):
            return cls(t, decode_body(rest))
        raise ValueError(f"a chunk needs 't' and one of 'text' or 'b64'; got {sorted(value)}")

    def to_disk(self) -> dict[str, Any]:
        text = is_yaml_safe_text(self.data)
        if text is not None:
            return {"t": _round_t(self.t), "text": text}
        return {"t": _round_t(self.t), **encode_body(self.data, allow_json=False)}


class Chunks(Sequence[Chunk]):
    """A response body held compactly: one ``bytes`` plus each read's end offset and time.

    Reads like an immutable list of :class:`Chunk` (built on access), so a stream of thousands
    of small SSE events costs the body plus 16 bytes per chunk, and :attr:`body` needs no join.

    Example usage::

        chunks = Chunks.of([Chunk(0.3, b"data: a\\n\\n"), Chunk(0.4, b"data: b\\n\\n")])
        chunks[1].t, chunks.body
    """

    __slots__ = ("_body", "_ends", "_times")

    def __init__(self, body: bytes = b"", ends: Iterable[int] = (), times: Iterable[float] = ()) -> None:
        self._body = body
        self._ends = array("Q", ends)
        self._times = array("d", times)
        if len(self._ends) != len(self._times) or (self._ends and self._ends[-1] != len(body)):
            raise ValueError("chunk ends and times must pair up and cover the whole body")

    @classmethod
    def of(cls, chunks: Iterable[Chunk | tuple[float, bytes]]) -> Chunks:
        """From chunks (or ``(t, data)`` pairs), in order."""
        if isinstance(chunks, Chunks):
            return chunks
        pieces: list[bytes] = []
        ends = array("Q")
        times = array("d")
        pos = 0
        for chunk in chunks:
            t, data = (chunk.t, chunk.data) if isinstance(chunk, Chunk) else chunk
            pos += len(data)
            pieces.append(data)
            ends.append(pos)
            times.append(t)
        return cls(b"".join(pieces), ends, times)

    @classmethod
    def validate(cls, value: Any) -> Chunks:
        """Pydantic's entry point: a Chunks, or a list of chunks / on-disk chunk mappings."""
        if isinstance(value, Chunks):
            return value
        if not isinstance(value, (list, tuple)):
            raise ValueError(f"chunks must be a list, got {type(value).__name__}")
        items = []
        for i, item in enumerate(value):
            try:
                items.append(Chunk.from_disk(item))
            except ValueError as exc:
                raise ValueError(f"[{i}]: {exc}") from None
        return cls.of(items)

    @property
    def body(self) -> bytes:
        """All the chunks' bytes, joined (held as such: no copy)."""
        return self._body

    @property
    def times(self) -> Sequence[float]:
        """Each chunk's arrival time."""
        return self._times

    def pairs(self) -> Iterator[tuple[float, bytes]]:
        """``(t, data)`` for each chunk, without building Chunk objects."""
        body = self._body
        start = 0
        for t, end in zip(self._times, self._ends, strict=True):
            yield t, body[start:end]
            start = end

    def __len__(self) -> int:
        return len(self._ends)

    def __iter__(self) -> Iterator[Chunk]:
        for t, data in self.pairs():
            yield Chunk(t, data)

    @overload
    def __getitem__(self, index: int) -> Chunk: ...

    @overload
    def __getitem__(self, index: slice) -> list[Chunk]: ...

    def __getitem__(self, index: int | slice) -> Chunk | list[Chunk]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        n = len(self._ends)
        if index < 0:
            index += n
        if not 0 <= index < n:
            raise IndexError("chunk index out of range")
        start = self._ends[index - 1] if index else 0
        return Chunk(self._times[index], self._body[start : self._ends[index]])

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Chunks):
            return self._body == other._body and self._ends == other._ends and self._times == other._times
        if isinstance(other, (list, tuple)):
            return list(self) == list(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return repr(list(self))

    def __reduce__(self) -> tuple[Any, ...]:
        return (Chunks, (self._body, list(self._ends), list(self._times)))


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

    @field_validator("headers")
    @classmethod
    def _http_headers(cls, value: Headers) -> Headers:
        return check_headers(value)

    @field_validator("url")
    @classmethod
    def _absolute_url(cls, value: str) -> str:
        return check_url(value)

    @field_validator("body")
    @classmethod
    def _shallow_body(cls, value: bytes) -> bytes:
        check_nesting(value, "the request body")
        return value

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
    # Typed as a sequence (callers pass lists); always held as a compact Chunks.
    chunks: Annotated[Sequence[Chunk], PlainValidator(Chunks.validate)] = Field(default_factory=Chunks)
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

    @field_validator("headers")
    @classmethod
    def _http_headers(cls, value: Headers) -> Headers:
        return check_headers(value)

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
        return (self.header("content-type") or "").split(";")[0].strip().lower()

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
