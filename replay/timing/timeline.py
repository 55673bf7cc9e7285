"""One virtual timeline for the whole process, and the discrete-event rule that moves it.

While a virtual cassette is active the process has one clock, :class:`Timeline`. It starts at
the real readings of the moment the cassette opens (:class:`Origin`) and only moves forward, in
whole microseconds (``now_us``), so every offset the application computes is exact to 1e-6 s.

**When the clock moves (autojump).** Code waits on the timeline for an absolute deadline: a
replayed chunk (request sent + ``t``), a ``time.sleep`` or an event loop's next timer. The clock
jumps to the earliest pending deadline as soon as nothing that takes part is still running:

- a thread *takes part* while it holds a :class:`Hold`: a replayed response it has not finished
  reading, an event loop it runs, a call the loop handed to its executor; a hold handed to a
  thread not yet started (the executor's) counts as running from the start;
- the thread that opened the cassette takes part until it closes;
- a thread that takes part and is waiting on the timeline is blocked, and so is one *parked* in
  a real wait for another thread (``Thread.join``, ``Condition.wait``, hence ``Event.wait``,
  ``Queue.get``, ``Future.result``, ``concurrent.futures.wait``: :mod:`replay.timing.threads`);
  any other one is running code between two waits (parsing a chunk), and the clock waits for
  it, so N streams in flight each get chunk i at exactly their own request's send time + ``t_i``.

Never deadlocks: a thread that takes part but blocks on something the timeline cannot see (a
plain lock, a socket) is waited for while it uses CPU; after a :data:`GRACE` of real time in
which the timeline saw no event and no running thread used any CPU, the clock moves anyway.
Never flakes: a thread that is working (parsing, building a client, a real computation) uses
CPU and is waited for however long it takes and however loaded the machine; threads that only
read their streams, sleep and join are never timed at all, only counted.

**While a recording is in flight** (``new_episodes``), real I/O is happening: the clock then
follows real time (a wait lasts its real duration) instead of jumping, so a timeout around a
live request cannot fire early.
"""

from __future__ import annotations

import math
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from . import continuous
from .origin import Origin

__all__ = [
    "GRACE",
    "NEVER",
    "Hold",
    "Member",
    "Origin",
    "Timeline",
    "ceil_us",
    "to_us",
]

NEVER = sys.maxsize
# The timeline waits on its own condition with the original method: threads.py patches
# Condition.wait while a timeline is active (to park threads blocked on each other).
_WAIT = threading.Condition.wait
# Real seconds the clock waits for a thread that holds a response open but neither reads it
# nor waits on the clock, while nothing else happens: long enough that a thread merely parsing
# a chunk on a loaded machine is never overtaken, short enough that a stream the application
# abandoned (held open while it blocks elsewhere) costs a fraction of a second per jump.
GRACE = 0.25
# CPU seconds a thread must use within a grace to count as working (1% of the grace).
BUSY_CPU = GRACE / 100


def _thread_cpu(ident: int) -> float | None:
    """CPU seconds the thread has used, or None where that cannot be read."""
    try:
        return time.clock_gettime(time.pthread_getcpuclockid(ident))
    except (AttributeError, OSError, OverflowError, ValueError):
        return None


def to_us(seconds: float) -> int:
    """Seconds as whole microseconds (the timeline's unit)."""
    return round(seconds * 1_000_000)


def ceil_us(seconds: float) -> int:
    """Whole microseconds at or after ``seconds``, ignoring float noise below 1 ns."""
    return math.ceil(round(seconds * 1_000_000, 3))


@dataclass(eq=False, slots=True)
class Member:
    """A thread known to the timeline: its sleeps are virtual; its holds make it take part."""

    ident: int
    holds: int = 0
    waiting: bool = False
    parked: bool = False  # waiting on another thread, not on the clock
    cpu: float | None = None  # the thread's CPU time when the timeline last looked
    deadline: int = NEVER
    wake: Callable[[], None] | None = None  # how to interrupt an event loop's select


class Hold:
    """Something that runs outside the clock and will come back to it (see the module doc)."""

    __slots__ = ("__weakref__", "_timeline", "member")

    def __init__(self, timeline: Timeline, member: Member | None) -> None:
        self._timeline = timeline
        self.member = member

    def to_current_thread(self) -> None:
        """Attach the hold to the calling thread (the one that now reads the response)."""
        member = self.member
        if member is None or member.ident != threading.get_ident():
            self._timeline._move(self)

    def release(self) -> None:
        """Done: the thread no longer takes part on this hold's account. Idempotent."""
        self._timeline._release(self)


@dataclass(eq=False)
class Timeline:
    """The process's virtual clock while a virtual cassette is active (see the module doc)."""

    origin: Origin = field(default_factory=Origin.now)
    grace: float = GRACE
    now_us: int = 0
    active: bool = True
    _cond: threading.Condition = field(default_factory=threading.Condition)
    _members: dict[int, Member] = field(default_factory=dict)
    _free_holds: int = 0
    _version: int = 0
    _live: int = 0

    # -- readings ---------------------------------------------------------------------------

    def seconds(self) -> float:
        """Seconds since the timeline started."""
        return self.now_us / 1_000_000

    def monotonic(self) -> float:
        return self.origin.monotonic + self.now_us / 1_000_000

    def utc(self) -> datetime:
        return self.origin.utc + timedelta(microseconds=self.now_us)

    # -- membership -------------------------------------------------------------------------

    def join(self, ident: int | None = None) -> Member:
        """The calling (or given) thread's member record, created on first use."""
        key = threading.get_ident() if ident is None else ident
        member = self._members.get(key)
        if member is None:
            with self._cond:
                member = self._members.setdefault(key, Member(key))
        return member

    def is_member(self, ident: int) -> bool:
        return ident in self._members

    def hold(self, *, detached: bool = False) -> Hold:
        """A hold on the calling thread, or (``detached``) on a thread that has not started."""
        with self._cond:
            if detached:
                self._free_holds += 1
                return Hold(self, None)
            member = self.join()
            member.holds += 1
            self._version += 1
            return Hold(self, member)

    def _move(self, hold: Hold) -> None:
        with self._cond:
            old = hold.member
            if old is None:
                self._free_holds -= 1
            elif old.holds > 0:
                old.holds -= 1
            else:
                return  # released meanwhile
            member = self.join()
            member.holds += 1
            hold.member = member
            self._version += 1
            self._maybe_jump()

    def _release(self, hold: Hold) -> None:
        with self._cond:
            member = hold.member
            hold.member = _RELEASED
            if member is _RELEASED:
                return
            if member is None:
                self._free_holds -= 1
            else:
                member.holds -= 1
            self._version += 1
            self._maybe_jump()

    # -- moving the clock -------------------------------------------------------------------

    def _running(self) -> bool:
        if self._free_holds:
            return True
        return any(m.holds and not m.waiting for m in self._members.values())

    def _advance(self, target_us: int) -> None:
        """Move to ``target_us`` and wake whoever it concerns (lock held)."""
        if target_us <= self.now_us:
            return
        self.now_us = target_us
        self._version += 1
        self._cond.notify_all()
        me = threading.get_ident()
        for m in self._members.values():
            if m.waiting and m.wake is not None and m.deadline <= target_us and m.ident != me:
                m.wake()

    def _stuck(self) -> bool:
        """After a grace with no timeline event: is every running thread blocked (lock held)?

        A thread that used CPU since the last look is working (parsing, building a client, a
        real computation), not blocked: the clock keeps waiting for it, whatever the load. A
        blocked one (a lock, a socket) uses none. Where threads' CPU clocks cannot be read, the
        grace alone decides.
        """
        stuck = True
        for m in self._members.values():
            if m.holds and not m.waiting:
                cpu = _thread_cpu(m.ident)
                if cpu is None:
                    continue
                # A thread that only polls (a server's select loop wakes every 0.5 s and uses
                # microseconds) is waiting, not working: it must not hold the clock forever.
                if m.cpu is None or cpu - m.cpu >= BUSY_CPU:
                    stuck = False
                m.cpu = cpu
        return stuck

    def _maybe_jump(self, *, force: bool = False) -> None:
        """The autojump rule (lock held): to the earliest deadline when nothing runs."""
        if self._live or not self.active:
            return
        if force and not self._stuck():
            return
        if not force and self._running():
            return
        target = min((m.deadline for m in self._members.values() if m.waiting), default=NEVER)
        if target != NEVER:
            self._advance(target)

    def advance_to(self, seconds: float) -> None:
        """Move the clock forward to ``seconds`` since the start (never backwards)."""
        with self._cond:
            self._advance(to_us(seconds))

    def live(self, delta: int) -> None:
        """A recording started (+1) or ended (-1): while any is in flight the clock follows
        real time instead of jumping."""
        with self._cond:
            self._live += delta
            self._version += 1
            self._maybe_jump()

    def stop(self) -> None:
        """The cassette closed: release every waiter where it stands."""
        with self._cond:
            self.active = False
            self._cond.notify_all()
            for m in self._members.values():
                if m.waiting and m.wake is not None:
                    m.wake()

    # -- waiting ----------------------------------------------------------------------------

    def _enter(
        self, member: Member, deadline: int, wake: Callable[[], None] | None, *, jump: bool = True
    ) -> None:
        member.waiting = True
        member.deadline = deadline
        member.wake = wake
        self._version += 1
        if jump:
            self._maybe_jump()

    def _leave(self, member: Member) -> None:
        member.waiting = False
        member.deadline = NEVER
        member.wake = None
        self._version += 1

    def wait_until(self, deadline: int) -> None:
        """Block the calling thread until the clock reaches ``deadline`` (microseconds)."""
        cond = self._cond
        with cond:
            if deadline <= self.now_us:
                return
            member = self.join()
            self._enter(member, deadline, None)
            try:
                while self.now_us < deadline and self.active:
                    version = self._version
                    if self._live:
                        if not _WAIT(cond, (deadline - self.now_us) / 1_000_000):
                            self._advance(deadline)
                    elif not _WAIT(cond, self.grace) and version == self._version:
                        self._maybe_jump(force=True)
            finally:
                self._leave(member)

    def loop_wait(
        self,
        deadline: int,
        wake: Callable[[], None],
        poll: Callable[[float | None], list[object]],
        *,
        real: bool = False,
    ) -> list[object]:
        """An event loop's idle wait: its next timer is at ``deadline``; ``poll(timeout)`` waits
        for real I/O. Returns the I/O events, or ``[]`` once the clock reached the deadline.
        ``real``: the loop has real I/O in flight, so the wait lasts its real duration."""
        cond = self._cond
        with cond:
            if deadline <= self.now_us:
                return []
            member = self.join()
            self._enter(member, deadline, wake, jump=not real)
        try:
            while True:
                with cond:
                    if self.now_us >= deadline or not self.active:
                        return []
                    version, live = self._version, bool(self._live) or real
                    timeout: float | None = None
                    if deadline != NEVER:
                        timeout = (deadline - self.now_us) / 1_000_000 if live else self.grace
                events = poll(timeout)
                if events:
                    return events
                with cond:
                    if timeout is not None and version == self._version and self.now_us < deadline:
                        if live:
                            self._advance(deadline)
                        else:
                            self._maybe_jump(force=True)
        finally:
            with cond:
                self._leave(member)

    def park(self) -> Member | None:
        """The calling thread blocks on something real (a join, a future, a queue): until
        :meth:`unpark`, the clock does not wait for it. None if it was not taking part."""
        member = self._members.get(threading.get_ident())
        if member is None or member.waiting or not member.holds:
            return None
        with self._cond:
            member.parked = True
            self._enter(member, NEVER, None)
        return member

    def rouse(self, member: Member) -> None:
        """An event loop idle on the timeline was handed work from another thread
        (``call_soon_threadsafe``): it runs from now on, before it even wakes up."""
        with self._cond:
            if member.waiting and member.wake is not None:
                self._leave(member)

    def unpark(self, member: Member) -> None:
        """The parked thread is (about to be) running again; idempotent. Called by whoever
        wakes it (a notify, the end of a joined thread), so the clock waits for it at once."""
        with self._cond:
            if member.parked:
                member.parked = False
                self._leave(member)

    # -- lifetime ---------------------------------------------------------------------------

    def start(self) -> None:
        """Make this the process's timeline (what the continuous clocks read)."""
        continuous.follow(self)

    def end(self) -> None:
        """Stop; the continuous clocks keep this timeline's lead over real time."""
        self.stop()
        continuous.unfollow(self)


_RELEASED = Member(-1)
