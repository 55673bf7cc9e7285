"""A response body as bytes with arrival times: the material faults edit.

Every byte arrives with the chunk that carried it. Edits keep that mapping: replaced bytes
arrive when the last byte of what they replace arrived, inserted bytes arrive with the chunk
after the insertion point, a cut keeps the chunks before it. So an event rewritten by a fault
is complete at the same moment the recorded event was, and timing only changes where a fault
says so.

Example usage::

    body = TimedBody.from_chunks(response.chunks)
    body = body.edit([(10, 20, b"replacement")]).rechunk(1)
    chunks = body.to_chunks()
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import NamedTuple

from ..transport.streams import TimedChunk

__all__ = ["PlannedChunk", "TimedBody"]


class PlannedChunk(NamedTuple):
    """One read of a replayed body (a :class:`~replay.transport.streams.TimedChunk`), cheaper to make than
    a validated :class:`~replay.model.cassette.Chunk`."""

    t: float
    data: bytes


@dataclass(frozen=True, slots=True)
class TimedBody:
    """``data`` cut into chunks: chunk ``i`` ends at offset ``ends[i]`` and arrives at ``times[i]``."""

    data: bytes
    ends: tuple[int, ...]
    times: tuple[float, ...]

    def __post_init__(self) -> None:
        if len(self.ends) != len(self.times):
            raise ValueError("ends and times must have one entry per chunk")
        if self.ends and self.ends[-1] != len(self.data):
            raise ValueError(f"the last chunk must end at {len(self.data)}, not {self.ends[-1]}")
        if not self.ends and self.data:
            raise ValueError("non-empty data needs at least one chunk")

    @classmethod
    def from_chunks(cls, chunks: Sequence[TimedChunk]) -> TimedBody:
        ends: list[int] = []
        times: list[float] = []
        pos = 0
        for chunk in chunks:
            if not chunk.data:
                continue
            pos += len(chunk.data)
            ends.append(pos)
            times.append(chunk.t)
        return cls(b"".join(c.data for c in chunks), tuple(ends), tuple(times))

    def to_chunks(self) -> list[PlannedChunk]:
        data = self.data
        if not self.ends:
            return []
        starts = (0, *self.ends[:-1])
        return [PlannedChunk(t, data[a:b]) for a, b, t in zip(starts, self.ends, self.times, strict=True)]

    # -- reading ----------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self.data)

    def chunk_index(self, pos: int) -> int:
        """The chunk holding byte ``pos`` (``0 <= pos < len``)."""
        return bisect.bisect_right(self.ends, pos)

    def time_of_byte(self, pos: int) -> float:
        """When byte ``pos`` arrived; past the end, when the last byte did."""
        if not self.ends:
            raise ValueError("an empty body has no arrival times")
        return self.times[min(self.chunk_index(pos), len(self.times) - 1)]

    @property
    def last_t(self) -> float | None:
        return self.times[-1] if self.times else None

    # -- editing ----------------------------------------------------------------------------

    def edit(self, edits: Sequence[tuple[int, int, bytes]], *, default_t: float = 0.0) -> TimedBody:
        """Replace ``data[start:end]`` by ``new`` for each (sorted, non-overlapping) edit.

        Chunk boundaries inside a replaced span move to its start, so the replacement arrives
        with the chunk that completed the span; bytes inserted at a boundary (``start == end``)
        join the chunk after it (the last chunk at the very end). ``default_t`` times bytes
        inserted into an empty body.
        """
        if not edits:
            return self
        last = 0
        for start, end, _ in edits:
            if not (last <= start <= end <= len(self.data)):
                raise ValueError(
                    f"edits must be sorted, non-overlapping spans within the body; got {start}:{end}"
                )
            last = end
        pieces: list[bytes] = []
        pos = 0
        for start, end, new in edits:
            pieces.append(self.data[pos:start])
            pieces.append(new)
            pos = end
        pieces.append(self.data[pos:])
        data = b"".join(pieces)
        if not self.ends:
            return TimedBody(data, (len(data),), (default_t,)) if data else self
        ends: list[int] = []
        i = 0  # edits wholly before the boundary
        shift = 0
        n = len(self.data)
        for b in self.ends:
            while i < len(edits):
                start, end, new = edits[i]
                before = end < b or (end == b and (start < end or b == n))
                if not before:
                    break
                shift += len(new) - (end - start)
                i += 1
            new_b = b + shift
            if i < len(edits):
                start, end, _ = edits[i]
                if start < b < end:
                    new_b = start + shift
            ends.append(new_b)
        return _compact(data, ends, list(self.times))

    def cut(self, pos: int) -> TimedBody:
        """Only the first ``pos`` bytes, keeping their chunks and times."""
        if pos >= len(self.data):
            return self
        pos = max(pos, 0)
        ends: list[int] = []
        times: list[float] = []
        for end, t in zip(self.ends, self.times, strict=True):
            ends.append(min(end, pos))
            times.append(t)
            if end >= pos:
                break
        return _compact(self.data[:pos], ends, times)

    def split_at(self, pos: int) -> TimedBody:
        """The same bytes with a chunk boundary at ``pos`` (both halves keep the chunk's time)."""
        if pos <= 0 or pos >= len(self.data) or pos in self.ends:
            return self
        i = self.chunk_index(pos)
        ends = [*self.ends[:i], pos, *self.ends[i:]]
        times = [*self.times[: i + 1], *self.times[i:]]
        return TimedBody(self.data, tuple(ends), tuple(times))

    def delay_from(self, pos: int, seconds: float) -> TimedBody:
        """Bytes from ``pos`` on arrive ``seconds`` later (``math.inf``: never)."""
        body = self.split_at(pos)
        times = [t + seconds if end > pos else t for end, t in zip(body.ends, body.times, strict=True)]
        # A chunk that started before pos ends at or before it after split_at, so only whole
        # chunks move; "end > pos" picks exactly the chunks holding bytes at or after pos.
        return TimedBody(body.data, body.ends, tuple(times))

    def rechunk(self, size: int) -> TimedBody:
        """The same bytes in reads of ``size`` bytes; each read arrives with its last byte."""
        n = len(self.data)
        if n == 0:
            return self
        ends = [*range(size, n, size), n]
        times: list[float] = []
        i = 0
        old_ends, old_times = self.ends, self.times
        for end in ends:
            # The read holding bytes [end - size, end) is complete when byte end - 1 arrived.
            while old_ends[i] < end:
                i += 1
            times.append(old_times[i])
        return TimedBody(self.data, tuple(ends), tuple(times))

    def retime(self, when: Callable[[float], float]) -> TimedBody:
        """Every chunk's time mapped through ``when`` (which must not reorder them)."""
        times = tuple(when(t) for t in self.times)
        return TimedBody(self.data, self.ends, times)


def _compact(data: bytes, ends: list[int], times: list[float]) -> TimedBody:
    """Drop chunks left empty by an edit; keep times non-decreasing."""
    out_ends: list[int] = []
    out_times: list[float] = []
    prev = 0
    for end, t in zip(ends, times, strict=True):
        if end <= prev:
            continue
        out_ends.append(end)
        out_times.append(max(t, out_times[-1]) if out_times else t)
        prev = end
    if data and (not out_ends or out_ends[-1] != len(data)):
        # Bytes past the last boundary (an insertion at the very end of a body whose last
        # chunk was emptied) arrive with the last chunk.
        last_t = out_times[-1] if out_times else (times[-1] if times else 0.0)
        if out_ends:
            out_ends[-1] = len(data)
        else:
            out_ends.append(len(data))
            out_times.append(last_t)
    return TimedBody(data, tuple(out_ends), tuple(out_times))
