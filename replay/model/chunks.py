"""Timed chunks: the bytes of each network read and when it arrived, stored compactly.

A :class:`Chunks` keeps one ``bytes`` body with the chunk ends and times in arrays, so a long
stream costs one object rather than one per read; it validates from lists of :class:`Chunk`,
``(t, bytes)`` pairs, or the on-disk mappings.
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, overload

from ..limits import MAX_CHUNK_T
from .bodies import decode_body, encode_body, is_yaml_safe_text

if TYPE_CHECKING:
    pass

__all__ = ["Chunk", "Chunks"]


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
