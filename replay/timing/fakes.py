"""The time functions the application calls while the virtual timeline is active.

``time.monotonic``, ``perf_counter``, ``time`` (and their ``_ns`` forms) read the timeline:
each starts at its own real reading of the moment the cassette opened, so a ``t0`` taken
before the cassette and a reading inside differ by what really elapsed plus what was replayed.
``time.sleep`` waits on the timeline in threads that take part in it (see
:mod:`replay.timing.timeline`); elsewhere it sleeps for real.

**Which calls keep real time, and why.** The rule depends on the call site only, never on the
stack depth or the thread: a call whose *immediate caller* is a module of :data:`REAL_CALLERS`
reads the real clock. Those are the standard library's real waits (``threading``, ``queue``,
``concurrent.futures``, ``subprocess``, ``selectors``, ``asyncio``'s loop internals...): they
compute "deadline = now + timeout" and then block on the operating system for the remaining
real time, so on a virtual clock they would either never time out or spin. Everything else,
application code, test code, the SDKs and logging, in any thread, at any depth, sees the
virtual clock. ``datetime.now()``/``today()``/``utcnow()`` (freezegun's fakes, driven by the
timeline) are virtual everywhere.

If a freezegun clock of the user's own is started inside the cassette, these functions defer to
it (freezegun's own fakes), as freezegun nesting does.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from datetime import datetime
from operator import attrgetter
from typing import Any, TypeVar

from freezegun import api as _fz

from .real import REAL
from .timeline import Timeline, to_us

__all__ = ["FUNCTIONS", "REAL_CALLERS", "DatetimeSource", "install", "uninstall"]

REAL_CALLERS: frozenset[str] = frozenset(
    {
        "_pytest",
        "asyncio",
        "concurrent",
        "multiprocessing",
        "queue",
        "selectors",
        "socket",
        "ssl",
        "subprocess",
        "threading",
    }
)


class _State:
    __slots__ = ("factory", "timeline")

    def __init__(self) -> None:
        self.timeline: Timeline | None = None
        self.factory: object = None


_STATE = _State()
_DECIDED: dict[str, bool] = {}
_getframe = sys._getframe
_get_ident = threading.get_ident

_FACTORIES: list[Any] = _fz.freeze_factories


class DatetimeSource:
    """What freezegun's ``FakeDatetime`` reads: the timeline's UTC datetime (naive)."""

    __slots__ = ("timeline",)

    def __init__(self, timeline: Timeline) -> None:
        self.timeline = timeline

    def __call__(self) -> datetime:
        return self.timeline.utc()


def _real_caller(name: str | None) -> bool:
    decided = _DECIDED.get(name or "")
    if decided is None:
        decided = _DECIDED[name or ""] = (name or "").partition(".")[0] in REAL_CALLERS
    return decided


def _timeline() -> Timeline | None:
    """The timeline for a call from two frames up, or None when that call reads real time."""
    timeline = _STATE.timeline
    if timeline is None or _real_caller(_getframe(2).f_globals.get("__name__")):
        return None
    return timeline


def _user_frozen() -> bool:
    # A freezegun clock of the user's own, started inside ours, is on top of the stack.
    return bool(_FACTORIES) and _FACTORIES[-1] is not _STATE.factory


_N = TypeVar("_N", int, float)


def _clock(name: str, unit: type[_N]) -> Callable[[], _N]:
    """The fake of ``time.<name>``: real time for a real caller, a user's freezegun clock when
    one is on top, else the timeline's reading from the origin's ``name``."""
    real: Callable[[], _N] = getattr(REAL, name)
    origin = attrgetter(name)
    frozen = f"fake_{name}"
    ns = name.endswith("_ns")

    def read() -> _N:
        timeline = _timeline()
        if timeline is None:
            return real()
        if _user_frozen():
            return unit(getattr(_fz, frozen)())
        us = timeline.now_us
        return unit(origin(timeline.origin) + (us * 1000 if ns else us / 1_000_000))

    read.__name__ = read.__qualname__ = name
    return read


def sleep(seconds: float) -> None:
    """Virtual in threads that take part in the timeline; a real sleep elsewhere."""
    timeline = _timeline()
    if timeline is None or not timeline.active or not timeline.is_member(_get_ident()):
        return REAL.sleep(seconds)
    if seconds < 0:
        raise ValueError("sleep length must be non-negative")
    if seconds == 0:
        return REAL.sleep(0)  # still yields to other threads, as a real sleep(0) does
    timeline.wait_until(timeline.now_us + to_us(seconds))
    return None


# name in the ``time`` module -> (real function, fake)
FUNCTIONS: dict[str, tuple[Callable[..., Any], Callable[..., Any]]] = {
    name: (getattr(REAL, name), _clock(name, unit))
    for base in ("monotonic", "perf_counter", "time")
    for name, unit in ((base, float), (f"{base}_ns", int))
}
FUNCTIONS["sleep"] = (REAL.sleep, sleep)


def install(timeline: Timeline, factory: object) -> None:
    """Point the fakes at ``timeline``; ``factory`` is the freezegun factory pushed for it."""
    _STATE.factory = factory
    _STATE.timeline = timeline


def uninstall() -> None:
    _STATE.timeline = None
    _STATE.factory = None
