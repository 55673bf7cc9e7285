"""Response bodies as timed chunk streams, independent of the HTTP client library.

- :class:`ResponsePlan` is what a replayed response will do: status, headers, time to headers,
  the chunks with their offsets, and how the body ends (cleanly, or with the error recorded).
- :class:`ChunkPlayer` delivers a plan's chunks on a :class:`~replay.timing.clock.Schedule`, one chunk
  per read, sync or async, never joining or splitting them.
- :class:`RecordingTap` passes a live body through chunk by chunk, unchanged and undelayed,
  noting each chunk's arrival time for the cassette.

The client-library adapters (:mod:`replay.transport.adapters`) wrap these in the library's own
``SyncByteStream``/``AsyncByteStream`` classes.
"""

from __future__ import annotations

import threading
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol

from ..errors import ReplayError
from ..model.cassette import Chunk, Chunks, Headers, Interaction, Request, Response, StreamEnd
from ..timing.base import REAL, Schedule
from .drain import drain_async, drain_budget, drain_sync, yield_to

__all__ = [
    "BodySource",
    "ChunkPlayer",
    "ErrorMapping",
    "LiveBody",
    "LiveRequestView",
    "PendingRecording",
    "RecordingTap",
    "ResponsePlan",
    "TimedChunk",
]


class ErrorMapping(Protocol):
    """How a client library's exceptions map to recorded stream endings (an adapter is one)."""

    def transport_error(self, kind: str, message: str, request: Any) -> Exception:
        """The library's exception for a recorded ending ``kind``."""
        ...

    def error_kind(self, exc: BaseException) -> str | None:
        """The recorded ending for a transport exception, or None if it is not one."""
        ...


class BodySource(Protocol):
    """A body a client library's stream reads: replayed (:class:`ChunkPlayer`) or recorded
    (:class:`RecordingTap`)."""

    def iter_sync(self) -> Iterator[bytes]: ...
    def iter_async(self) -> AsyncIterator[bytes]: ...
    def close(self) -> None: ...
    async def aclose(self) -> None: ...


class LiveRequestView(Protocol):
    """A request being recorded; its full model is built only when the recording is saved."""

    @property
    def model(self) -> Request: ...


class TimedChunk(Protocol):
    """What a plan delivers per read: a recorded :class:`~replay.model.cassette.Chunk`, or a lighter
    value with the same two fields (faults that re-split a body make thousands of them)."""

    @property
    def t(self) -> float: ...

    @property
    def data(self) -> bytes: ...


@dataclass(slots=True)
class ResponsePlan:
    """What one replayed response does, after faults have rewritten it."""

    status: int
    headers: Headers
    head_t: float
    chunks: Sequence[TimedChunk]
    end: StreamEnd | None = None
    source: str = ""  # "cassette.yaml #3", for error messages
    # Set when the response head itself never arrives (a wait past the read timeout): the
    # client gets this error at head_t instead of a response.
    head_end: StreamEnd | None = None

    @classmethod
    def from_response(cls, response: Response, source: str = "") -> ResponsePlan:
        return cls(
            status=response.status,
            headers=response.headers,
            head_t=response.t,
            chunks=response.chunks,
            end=response.end,
            source=source,
        )


class ChunkPlayer:
    """Plays a plan's chunks on a schedule; raises the recorded ending, if any, after them."""

    __slots__ = ("_closed", "_lib", "_next", "_plan", "_request", "_rest", "_schedule")

    def __init__(self, plan: ResponsePlan, schedule: Schedule, lib: ErrorMapping, request: Any) -> None:
        self._plan = plan
        self._schedule = schedule
        self._lib = lib
        self._request = request
        self._closed = False
        self._rest: Iterator[tuple[float, bytes]] | None = None
        self._next: tuple[float, bytes] | None = None

    def _due(self) -> tuple[float, bytes] | None:
        """The next chunk not yet delivered. A body is read once, as from a socket: iterating
        it again (openai drains a stream it stopped reading at ``[DONE]``) continues where the
        reader stopped, and a chunk whose wait was interrupted is still delivered next."""
        if self._next is None:
            if self._rest is None:
                chunks = self._plan.chunks
                # A recorded body is sliced chunk by chunk as it is played.
                self._rest = chunks.pairs() if isinstance(chunks, Chunks) else ((c.t, c.data) for c in chunks)
            self._next = next(self._rest, None)
        return self._next

    def _when(self) -> float | None:
        """When the next step is due: the next chunk, else the recorded ending (None: at once)."""
        due = self._due()
        if due is not None:
            return due[0]
        return self._plan.end.t if self._plan.end is not None else None

    def _step(self) -> bytes | None:
        """What is delivered once :meth:`_when` has come: the next chunk, None when the body is
        over (the application closed it meanwhile, or all was delivered), or the recorded
        ending, raised."""
        due = self._due()
        if due is not None:
            if self._closed:
                return None
            self._next = None
            return due[1]
        if self._plan.end is not None:
            raise self._end_error(self._plan.end)
        return None

    # The schedule is released however the body ends (read, closed, failed), so the virtual
    # timeline stops waiting for this response's reader.
    def iter_sync(self) -> Iterator[bytes]:
        wait = self._schedule.wait
        try:
            while True:
                if (t := self._when()) is not None:
                    wait(t)
                if (data := self._step()) is None:
                    return
                yield data
        finally:
            self._schedule.release()

    async def iter_async(self) -> AsyncIterator[bytes]:
        wait = self._schedule.wait_async
        try:
            while True:
                if (t := self._when()) is not None:
                    await wait(t)
                if (data := self._step()) is None:
                    return
                yield data
        finally:
            self._schedule.release()

    def close(self) -> None:
        self._closed = True
        self._schedule.release()

    async def aclose(self) -> None:
        self.close()

    def _end_error(self, end: StreamEnd) -> BaseException:
        if end.kind == "closed_early":
            return ReplayError(
                f"{self._plan.source}: the application read past the end of this recording. When it "
                "was recorded, the application closed the stream early, so the rest of the body was "
                "never received. Re-record the cassette if the code now reads further."
            )
        return self._lib.transport_error(end.kind, end.message, self._request)


# -- recording -------------------------------------------------------------------------------


# SSE event names that end a provider's stream (Anthropic, Cohere v2, OpenAI Responses).
_TERMINAL_EVENTS = frozenset(
    {"message_stop", "message-end", "response.completed", "response.incomplete", "response.failed", "error"}
)


@dataclass(slots=True)
class PendingRecording:
    """An interaction being recorded: request, response head, and raw chunks as they arrive."""

    request: Request | LiveRequestView  # a live request becomes a Request when the recording is saved
    status: int
    headers: Headers
    sent_at: float  # REAL.perf_counter() when the request was handed to the real transport
    head_t: float
    raw: list[tuple[float, bytes]] = field(default_factory=list)
    end: StreamEnd | None = None
    done: bool = False
    on_done: Callable[[], None] | None = None  # the virtual timeline stops following real time
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, data: bytes) -> float:
        t = REAL.perf_counter() - self.sent_at
        self.raw.append((t, data))
        return t

    def looks_complete(self) -> bool:
        """Whether a body the application closed before EOF had in fact been fully received.

        The SDKs stop reading at the stream's terminal event (``[DONE]``, ``message_stop``...)
        and close, leaving only the empty end-of-body marker unread. Such a stream is recorded
        as complete; one cut short anywhere else is marked ``closed_early``.
        """
        from ..model.cassette import header_value
        from ..model.sse import iter_events

        if header_value(self.headers, "content-encoding"):
            return False
        length = header_value(self.headers, "content-length")
        received = sum(len(d) for _, d in self.raw)
        if length is not None and length.isdigit():
            return received == int(length)
        ctype = (header_value(self.headers, "content-type") or "").split(";")[0].strip().lower()
        if ctype != "text/event-stream" or not self.raw:
            return False
        events = list(iter_events(d for _, d in self.raw))
        return bool(events) and (events[-1].is_done or events[-1].event in _TERMINAL_EVENTS)

    def fail(self, kind: str, message: str = "") -> None:
        """End the recording with the ending ``kind``, timed now."""
        t = REAL.perf_counter() - self.sent_at
        self.finish(StreamEnd.model_validate({"kind": kind, "message": message, "t": t}))

    def closed_by_app(self, complete: bool = False) -> None:
        """The application closed the body: it ends cleanly if it was ``complete`` or had all
        arrived (:meth:`looks_complete`), else ``closed_early``."""
        if not self.done:
            self.finish(None if complete or self.looks_complete() else StreamEnd(kind="closed_early"))

    def finish(self, end: StreamEnd | None = None) -> None:
        with self._lock:
            if self.done:
                return
            self.done = True
            self.end = end
        if self.on_done is not None:
            self.on_done()

    def to_interaction(self) -> Interaction:
        from ..model.decoding import decode_recorded

        chunks, headers, decoded_from = decode_recorded(self.raw, self.headers)
        head_t = round(self.head_t, 6)
        timed = [Chunk(t=max(head_t, round(t, 6)), data=data) for t, data in chunks]
        # Rounding must not reorder: keep times non-decreasing.
        for i in range(1, len(timed)):
            if timed[i].t < timed[i - 1].t:
                timed[i] = Chunk(t=timed[i - 1].t, data=timed[i].data)
        end = self.end
        if end is not None and end.t is not None:
            end = end.model_copy(update={"t": round(end.t, 6)})
        response = Response(
            status=self.status,
            t=head_t,
            headers=headers,
            chunks=timed,
            end=end,
            decoded_from=decoded_from,
        )
        from ..model.cassette import Cassette

        request = self.request if isinstance(self.request, Request) else self.request.model
        return Interaction(request=request, response=response, recorded_at=Cassette.now())


@dataclass(frozen=True, slots=True)
class LiveBody:
    """Where a live body being recorded reports, whatever the client library: each read is timed
    into ``pending`` and told to ``on_chunk`` (virtual time follows the recording); a background
    drain of a body closed early is told to ``on_drain`` (see :mod:`replay.transport.drain`)."""

    pending: PendingRecording
    on_chunk: Callable[[float], None] | None = None
    on_drain: Callable[[Any], None] | None = None

    def note(self, data: bytes) -> None:
        t = self.pending.add(data)
        if self.on_chunk is not None:
            self.on_chunk(t)


class RecordingTap:
    """Passes a live body through untouched, timing each chunk into a :class:`PendingRecording`."""

    __slots__ = ("_body", "_exhausted", "_inner", "_lib", "_pending")

    def __init__(
        self,
        inner: Any,
        pending: PendingRecording,
        lib: ErrorMapping,
        on_chunk: Callable[[float], None] | None = None,
        on_drain: Callable[[Any], None] | None = None,
    ) -> None:
        self._inner = inner
        self._pending = pending
        self._lib = lib
        self._body = LiveBody(pending, on_chunk, on_drain)
        self._exhausted = False

    def iter_sync(self) -> Iterator[bytes]:
        inner: Iterable[bytes] = self._inner
        note = self._body.note
        with self._reading():
            for chunk in inner:
                note(chunk)
                yield chunk

    async def iter_async(self) -> AsyncIterator[bytes]:
        inner: AsyncIterable[bytes] = self._inner
        note = self._body.note
        with self._reading():
            async for chunk in inner:
                note(chunk)
                yield chunk

    @contextmanager
    def _reading(self) -> Iterator[None]:
        """Around the reads of the body, sync or async: how the recording ends."""
        try:
            yield
        except Exception as exc:
            kind = self._lib.error_kind(exc)
            if kind is None:
                # Not a transport failure (e.g. the app raised inside the loop): the body was cut
                # short by the application, not by the server.
                self._pending.fail("closed_early")
            else:
                self._pending.fail(kind, str(exc))
            raise
        self._exhausted = True
        self._pending.finish()

    def close(self) -> None:
        budget = self._drain_budget()
        if budget is not None:
            # A small body the app did not read: read it off the app's path (replay.drain).
            self._body.on_drain(drain_sync(self._inner, self._pending, budget))  # type: ignore[misc]
            return
        try:
            self._inner.close()
        finally:
            self._closed_by_app()

    async def aclose(self) -> None:
        budget = self._drain_budget()
        if budget is not None:
            task = drain_async(self._inner, self._pending, budget)
            if task is not None:
                self._body.on_drain(task)  # type: ignore[misc]
                await yield_to(task)
                return
        try:
            await self._inner.aclose()
        finally:
            self._closed_by_app()

    def _drain_budget(self) -> int | None:
        if self._exhausted or self._body.on_drain is None or self._pending.looks_complete():
            return None
        return drain_budget(self._pending)

    def _closed_by_app(self) -> None:
        if not self._exhausted:
            self._pending.closed_by_app()
