"""Virtual timing: a clock that jumps to each recorded offset (freezegun moves the application's
clock with it), so no wall time passes."""

from __future__ import annotations

import asyncio
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from ..modes import Timing
from .base import REAL, Schedule

__all__ = ["VIRTUAL_IGNORE", "VirtualClock", "VirtualTiming"]

# -- virtual ---------------------------------------------------------------------------------

# Modules whose own calls to time functions keep seeing real time while the clock is virtual.
# Besides freezegun's defaults, these are HTTP clients and SDK internals: skipping them makes
# freezegun's start an order of magnitude cheaper (anthropic alone is ~3,000 modules), and none
# of them reads the clock on the application's behalf. Application code and test code always
# see the virtual clock. (llm-replay itself is not listed: it never calls the patched functions,
# it keeps the real ones in REAL.) freezegun matches these as name prefixes.
VIRTUAL_IGNORE: tuple[str, ...] = (
    "httpx",
    "httpx2",
    "httpcore",
    "httpcore2",
    "h11",
    "h2",
    "openai",
    "anthropic",
    "groq",
    "together",
    "mistralai",
    "cohere",
    "writerai",
    "litellm",
    "pydantic",
    "pydantic_core",
    "jiter",
    "yaml",
    "vcr",
    "rich",
    "pygments",
)


class VirtualClock:
    """One virtual clock per process, shared by nested cassettes (reference counted).

    The frozen time is always ``anchor + offset`` with a whole-second anchor, so the offsets
    the application computes are exact to the microsecond.
    """

    _lock = threading.RLock()
    _current: VirtualClock | None = None

    def __init__(self) -> None:
        self._users = 0
        self._offset = 0.0
        self._freezer: Any = None
        self._factory: Any = None
        self._anchor = datetime(2000, 1, 1)
        self._owner: int | None = None
        self._undo: list[tuple[Any, str, Any]] = []

    @classmethod
    def acquire(cls) -> VirtualClock:
        with cls._lock:
            clock = cls._current
            if clock is None:
                clock = cls._current = VirtualClock()
            clock._users += 1
            if clock._users == 1:
                clock._start()
            return clock

    def release(self) -> None:
        with VirtualClock._lock:
            self._users -= 1
            if self._users == 0:
                self._stop()
                VirtualClock._current = None

    @property
    def active(self) -> bool:
        return self._users > 0

    def _start(self) -> None:
        from ._freeze import make_freezer

        _teach_pydantic_fake_dates()
        now = datetime.fromtimestamp(REAL.time(), tz=timezone.utc).replace(microsecond=0, tzinfo=None)
        self._anchor = now
        self._offset = 0.0
        self._freezer = make_freezer(now, VIRTUAL_IGNORE)
        self._factory = self._freezer.start()
        self._owner = threading.get_ident()
        self._patch_sleeps()

    def _stop(self) -> None:
        for obj, name, original in reversed(self._undo):
            setattr(obj, name, original)
        self._undo.clear()
        if self._freezer is not None:
            self._freezer.stop()
        self._freezer = self._factory = None
        self._owner = None

    def now(self) -> float:
        """Seconds since the clock was frozen, as the application sees them."""
        return self._offset

    def advance_to(self, offset: float) -> None:
        """Move the clock forward to ``offset`` (never backwards)."""
        offset = round(offset, 6)
        if offset <= self._offset or self._factory is None:
            return
        self._offset = offset
        self._factory.move_to(self._anchor + timedelta(microseconds=round(offset * 1_000_000)))

    def advance_by(self, seconds: float) -> None:
        self.advance_to(self._offset + max(0.0, seconds))

    # Sleeps in the cassette's own thread advance the virtual clock; other threads (a server
    # in the test, a worker pool) keep sleeping for real.
    def _patch_sleeps(self) -> None:
        owner = self._owner

        def sleep(seconds: float) -> None:
            if threading.get_ident() != owner:
                return REAL.sleep(seconds)
            if seconds < 0:
                raise ValueError("sleep length must be non-negative")
            self.advance_by(seconds)
            return None

        async def asyncio_sleep(delay: float, result: Any = None) -> Any:
            if threading.get_ident() == owner and delay > 0:
                self.advance_by(delay)
            # Still yield to the loop, as a real sleep would.
            return await REAL.asyncio_sleep(0, result)

        self._replace(time, "sleep", sleep)
        self._replace(asyncio, "sleep", asyncio_sleep)

        anyio = sys.modules.get("anyio")
        if anyio is not None:

            async def anyio_sleep(delay: float) -> None:
                await asyncio_sleep(delay)

            self._replace(anyio, "sleep", anyio_sleep)

    def _replace(self, obj: Any, name: str, value: Any) -> None:
        self._undo.append((obj, name, getattr(obj, name)))
        setattr(obj, name, value)


def _teach_pydantic_fake_dates() -> None:
    """Let pydantic build schemas for freezegun's ``FakeDatetime``/``FakeDate``.

    While the clock is frozen, ``datetime.datetime`` *is* ``FakeDatetime``; an SDK module first
    imported then (many load lazily, e.g. cohere's ``TypeAdapter(dt.datetime)``) hands that class
    to pydantic, which refuses unknown types. The fakes validate as the real types do.
    """
    from freezegun.api import FakeDate, FakeDatetime
    from pydantic_core import core_schema

    def hook(schema: Callable[[], Any]) -> Any:
        return classmethod(lambda cls, source, handler: schema())

    if "__get_pydantic_core_schema__" not in FakeDatetime.__dict__:
        FakeDatetime.__get_pydantic_core_schema__ = hook(core_schema.datetime_schema)  # type: ignore[attr-defined]
    if "__get_pydantic_core_schema__" not in FakeDate.__dict__:
        FakeDate.__get_pydantic_core_schema__ = hook(core_schema.date_schema)  # type: ignore[attr-defined]


@dataclass(slots=True)
class _VirtualSchedule:
    clock: VirtualClock
    base: float
    speed: float

    def wait(self, t: float) -> None:
        self.clock.advance_to(self.base + t / self.speed)

    async def wait_async(self, t: float) -> None:
        self.clock.advance_to(self.base + t / self.speed)

    def now(self) -> float:
        return (self.clock.now() - self.base) * self.speed


class VirtualTiming:
    """Chunks arrive at their recorded offsets on freezegun's clock; the test waits for nothing."""

    name = Timing.VIRTUAL

    def __init__(self, speed: float = 1.0) -> None:
        self.speed = speed
        self._clock: VirtualClock | None = None

    @property
    def clock(self) -> VirtualClock | None:
        return self._clock

    def activate(self) -> None:
        if self._clock is None:
            self._clock = VirtualClock.acquire()

    def deactivate(self) -> None:
        if self._clock is not None:
            self._clock.release()
            self._clock = None

    def schedule(self) -> Schedule:
        if self._clock is None:
            raise RuntimeError("virtual timing used outside an active cassette")
        return _VirtualSchedule(self._clock, self._clock.now(), self.speed)
