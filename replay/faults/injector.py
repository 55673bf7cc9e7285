"""Applying faults to replayed responses: selection, the fixed order, ``times`` counting, and
the client's read timeout.

:class:`FaultInjector` belongs to one active cassette. For each replayed request it picks the
faults that select it and still have uses left, applies them in the fixed order of
:mod:`replay.faults` to a working copy of the recorded response, and returns the
:class:`~replay.transport.streams.ResponsePlan` the client receives. A fault is used up only by responses
it changed; why it did not fit the others is kept for the report at close.

Whatever the faults, a wait longer than the client's read timeout (the request's
``extensions["timeout"]["read"]``) ends in the client library's ``ReadTimeout`` at exactly the
moment the timeout expires, as it would on a live connection.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..errors import ReplayError
from ..model.cassette import Chunks, Request, Response, StreamEnd
from ..transport.streams import ResponsePlan, TimedChunk
from .base import DELIVERY, REPLACE, Fault, FaultNotApplied
from .delivery import Latency
from .draft import Draft, FaultContext

__all__ = ["FaultInjector", "FaultStatus", "apply_read_timeout", "read_timeout_of"]


@dataclass(frozen=True, slots=True)
class FaultStatus:
    """How a fault fared in a cassette: responses it changed, and why it skipped the others."""

    fault: Fault
    applied: int
    skipped: tuple[str, ...] = ()

    def describe(self) -> str:
        if self.applied:
            return f"{self.fault!r}: applied to {self.applied} response(s)"
        if not self.skipped:
            return f"{self.fault!r}: no replayed request selected it"
        shown = "; ".join(dict.fromkeys(self.skipped[-3:]))
        return f"{self.fault!r}: did not fit: {shown}"


@dataclass(slots=True)
class _Entry:
    fault: Fault
    seq: int
    remaining: int | None
    applied: int = 0
    skipped: list[str] = field(default_factory=list)


def _check_fault(fault: Any) -> Fault:
    if isinstance(fault, Fault):
        return fault
    if isinstance(fault, type) and issubclass(fault, Fault):
        raise TypeError(f"faults takes fault instances: write {fault.__name__}(...), not {fault.__name__}")
    raise TypeError(
        f"faults takes replay.faults instances (HTTPError(429), Truncate(after_events=3), ...), got {fault!r}"
    )


def read_timeout_of(request: Any) -> float | None:
    """The client's read timeout for this request (httpx2 and httpx put it in the extensions)."""
    timeout = getattr(request, "extensions", {}).get("timeout")
    if isinstance(timeout, dict):
        value = timeout.get("read")
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
    return None


class FaultInjector:
    """The faults of one active cassette and their use counts.

    Example usage::

        injector = FaultInjector([Truncate(after_events=3)])
        plan, replaced = injector.build(response, ctx)
    """

    def __init__(self, faults: Iterable[Fault] | Fault = ()) -> None:
        self._lock = threading.Lock()
        self._entries: list[_Entry] = []
        self._recorded: list[str] = []
        if isinstance(faults, Fault):
            faults = [faults]
        elif isinstance(faults, (str, bytes)) or not isinstance(faults, Iterable):
            raise TypeError(f"faults takes a list of replay.faults instances, got {faults!r}")
        for fault in faults:
            self.add(fault)

    def add(self, fault: Fault) -> None:
        """Add a fault (it applies to requests from now on)."""
        fault = _check_fault(fault)
        with self._lock:
            self._entries.append(_Entry(fault, len(self._entries), fault.times))

    def __bool__(self) -> bool:
        """Whether any fault is configured (none: replay takes its plain, faster path)."""
        return bool(self._entries)

    @property
    def faults(self) -> list[Fault]:
        return [e.fault for e in self._entries]

    @property
    def recorded(self) -> list[str]:
        """Requests that went to the network while these faults were active."""
        return list(self._recorded)

    def note_recorded(self, request: Request) -> None:
        """A request went to the network: faults never apply to recordings."""
        if self._entries:
            with self._lock:
                self._recorded.append(f"{request.method} {request.url}")

    # -- building a response ----------------------------------------------------------------

    def build(self, response: Response, ctx: FaultContext) -> tuple[ResponsePlan, bool]:
        """The plan for one replayed response, and whether a fault replaced it entirely (the
        recorded interaction is then not used up)."""
        with self._lock:
            chosen = [
                e
                for e in self._entries
                if (e.remaining is None or e.remaining > 0) and e.fault.selects(ctx.request, ctx.index)
            ]
            chosen.sort(key=lambda e: (e.fault.stage, e.fault.rank, e.seq))
            if not chosen:
                plan = ResponsePlan.from_response(response, ctx.source)
                return apply_read_timeout(plan, ctx.read_timeout, ctx.speed, ctx.source), False
            draft = Draft.from_response(response)
            fixed_length = False
            for entry in chosen:
                fault = entry.fault
                if fault.stage >= DELIVERY and not fixed_length:
                    fixed_length = True
                    if draft.content_changed:
                        draft.fix_content_length()
                if draft.replaced and fault.stage != REPLACE and not isinstance(fault, Latency):
                    # Only timing makes sense on an answer that replaced the recording.
                    why: str | None = f"the response was replaced by {chosen[0].fault!r}"
                else:
                    try:
                        why = fault.apply(draft, ctx)
                    except ReplayError as exc:
                        entry.skipped.append(f"{ctx.source}: refused: {exc}")
                        raise
                if why is None:
                    entry.applied += 1
                    if entry.remaining is not None:
                        entry.remaining -= 1
                else:
                    entry.skipped.append(f"{ctx.source}: {why}")
                    del entry.skipped[:-5]
            if draft.content_changed and not fixed_length:
                draft.fix_content_length()
        plan = ResponsePlan(
            status=draft.status,
            headers=draft.headers,
            head_t=draft.head_t,
            chunks=draft.body.to_chunks(),
            end=draft.end,
            source=ctx.source,
        )
        return apply_read_timeout(plan, ctx.read_timeout, ctx.speed, ctx.source), draft.replaced

    # -- reporting --------------------------------------------------------------------------

    def report(self) -> list[FaultStatus]:
        """Each fault, how many responses it changed, and why it did not fit others."""
        with self._lock:
            return [FaultStatus(e.fault, e.applied, tuple(e.skipped)) for e in self._entries]

    def not_applied_error(self, path: object) -> FaultNotApplied | None:
        """The error to raise at close when some fault changed no response, else None."""
        missing = [s for s in self.report() if not s.applied]
        if not missing:
            return None
        lines = [f"{len(missing)} fault(s) given to {path} changed no response:"]
        lines += [f"  - {s.describe()}" for s in missing]
        if self._recorded:
            lines.append(
                f"  ({len(self._recorded)} request(s) were recorded, not replayed, and faults apply only to "
                f"replays: {', '.join(self._recorded[:3])})"
            )
        lines.append(
            "Fix the fault's position or its selector (interaction=, match=), or remove it; "
            "a fault that changes nothing tests nothing."
        )
        return FaultNotApplied("\n".join(lines))


def apply_read_timeout(
    plan: ResponsePlan, read_timeout: float | None, speed: float, source: str
) -> ResponsePlan:
    """Cut the plan where a silence exceeds the client's read timeout, ending in ``ReadTimeout``.

    Times are on the recording's timeline; the application observes ``t / speed``, so the
    timeout spans ``read_timeout * speed`` of it.
    """
    chunks = plan.chunks
    times = chunks.times if isinstance(chunks, Chunks) else [c.t for c in chunks]
    if read_timeout is None:
        last = times[-1] if times else plan.head_t
        if math.isinf(plan.head_t) or math.isinf(last):
            raise ReplayError(
                f"{source}: a fault makes this response wait for ever and the client has no read timeout "
                "(timeout=None). Give the stall a length (seconds=), or set a read timeout on the client."
            )
        return plan
    limit = read_timeout * speed
    if plan.head_t > limit:
        return _timed_out(plan, limit, [], head=True)
    prev = plan.head_t
    for i, t in enumerate(times):
        if t - prev > limit:
            return _timed_out(plan, prev + limit, list(chunks[:i]))
        prev = t
    end = plan.end
    if end is not None and end.t is not None and end.t - prev > limit:
        return _timed_out(plan, prev + limit, list(chunks))
    return plan


def _timed_out(
    plan: ResponsePlan, t: float, chunks: Sequence[TimedChunk], *, head: bool = False
) -> ResponsePlan:
    end = StreamEnd(kind="read_timeout", message="The read operation timed out", t=t)
    return ResponsePlan(
        status=plan.status,
        headers=plan.headers,
        head_t=t if head else plan.head_t,
        chunks=list(chunks),
        end=end,
        source=plan.source,
        head_end=end if head else None,
    )
