"""Virtual timing: the process's timeline while a virtual cassette is active.

:class:`VirtualClock` (one per process, shared by nested and concurrent cassettes, reference
counted) starts a :class:`~replay.timing.timeline.Timeline` at the real readings of the moment
the first cassette opens, points the ``time`` functions at it (:mod:`replay.timing.fakes`),
drives freezegun's ``FakeDatetime``/``FakeDate`` from it, swaps the bindings modules hold
(:mod:`replay.timing.bindings`, through :mod:`replay.timing._freeze`), attaches the event loops that
run meanwhile (:mod:`replay.timing.loop`) and lets the threads the application starts take part
(:mod:`replay.timing.threads`). Each replayed response gets a :class:`VirtualSchedule`:
chunk i is due at exactly the request's send time + ``t_i / speed`` on the timeline.

freezegun stays for what it does well (a ``datetime`` subclass that passes ``isinstance`` checks,
``gmtime``/``localtime``/``strftime``, uuid1, pickling, and nesting with the user's own
``freeze_time``); its monotonic/perf_counter/time fakes (epoch-based) and its per-call ignore
rule (stack-depth dependent) are replaced.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable
from typing import Any

from ..modes import Timing
from . import _freeze, fakes
from .loop import LoopDriver, sleep_until
from .threads import ThreadDriver
from .timeline import Hold, Timeline, to_us

__all__ = ["VIRTUAL_IGNORE", "VirtualClock", "VirtualSchedule", "VirtualTiming", "live_recording"]

# Packages whose modules are not scanned for bindings of the time functions (import-time
# ``from time import ...``, defaults, closures): scanning them is what made freezegun's start
# slow (anthropic alone is ~3,000 modules), and none of them keeps a clock on the application's
# behalf. Their calls through ``time.monotonic()`` see the virtual clock like any other code.
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
    """One virtual clock per process, shared by nested cassettes (reference counted)."""

    _lock = threading.RLock()
    _current: VirtualClock | None = None

    def __init__(self) -> None:
        self._users = 0
        self._freezer: Any = None
        self._opener: Hold | None = None
        self.timeline = Timeline()
        self.loops = LoopDriver(self.timeline)
        self.threads = ThreadDriver(self.timeline)

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
        _teach_pydantic_fake_dates()
        timeline = self.timeline
        origin = timeline.origin
        source = fakes.DatetimeSource(timeline)
        timeline.start()
        fakes.install(timeline, source)
        if _freeze.AVAILABLE:
            self._freezer = _freeze.FastFreezer(
                origin.utc,
                ignore=VIRTUAL_IGNORE,
                functions=fakes.FUNCTIONS,
                source=source,
                tz_offset=origin.utc_offset,
            )
        else:  # pragma: no cover - a freezegun release changed its internals
            self._freezer = _freeze.make_freezer(origin.utc, VIRTUAL_IGNORE)
        self._freezer.start()
        # The thread that opened the cassette takes part while it is open (its sleeps are
        # virtual; while it runs code, say starting threads, the clock waits for it).
        self._opener = timeline.hold()
        self.loops.start()
        self.threads.start()

    def _stop(self) -> None:
        self.threads.stop()
        self.loops.stop()
        if self._opener is not None:
            self._opener.release()
            self._opener = None
        if self._freezer is not None:
            self._freezer.stop()
            self._freezer = None
        fakes.uninstall()
        self.timeline.end()

    def now(self) -> float:
        """Seconds since the clock started, as the application sees them."""
        return self.timeline.seconds()

    def advance_to(self, offset: float) -> None:
        """Move the clock forward to ``offset`` seconds since its start (never backwards)."""
        self.timeline.advance_to(offset)

    def advance_by(self, seconds: float) -> None:
        self.advance_to(self.now() + max(0.0, seconds))


class VirtualSchedule:
    """One replayed response on the timeline: chunk at ``t`` is due at send time + ``t / speed``.

    It holds the timeline for the thread that reads the response (see
    :mod:`replay.timing.timeline`) until :meth:`release` (end of body, close, or garbage).
    """

    __slots__ = ("__weakref__", "_base", "_clock", "_hold", "_speed", "_timeline")

    def __init__(self, clock: VirtualClock, speed: float) -> None:
        self._clock = clock
        self._timeline = clock.timeline
        self._speed = speed
        self._base = self._timeline.now_us
        hold = self._hold = self._timeline.hold()
        weakref.finalize(self, Hold.release, hold)

    def _deadline(self, t: float) -> int:
        return self._base + to_us(t / self._speed)

    def wait(self, t: float) -> None:
        self._hold.to_current_thread()
        self._timeline.wait_until(self._deadline(t))

    async def wait_async(self, t: float) -> None:
        self._hold.to_current_thread()
        await sleep_until(self._clock.loops, self._deadline(t))

    def now(self) -> float:
        return (self._timeline.now_us - self._base) / 1_000_000 * self._speed

    def release(self) -> None:
        self._hold.release()


class VirtualTiming:
    """Chunks arrive at their recorded offsets on the virtual timeline; the test waits for nothing."""

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

    def schedule(self) -> VirtualSchedule:
        if self._clock is None:
            raise RuntimeError("virtual timing used outside an active cassette")
        return VirtualSchedule(self._clock, self.speed)


def live_recording(timing: object) -> Callable[[], None]:
    """A recording starts: under virtual timing the timeline follows real time until the
    returned function (idempotent) is called; under any other timing nothing happens."""
    clock = timing.clock if isinstance(timing, VirtualTiming) else None
    if clock is None:
        return _nothing
    timeline = clock.timeline
    timeline.live(+1)
    done = threading.Event()

    def end() -> None:
        if not done.is_set():
            done.set()
            timeline.live(-1)

    return end


def _nothing() -> None:
    return None


def _teach_pydantic_fake_dates() -> None:
    """Let pydantic build schemas for freezegun's ``FakeDatetime``/``FakeDate``.

    While the clock is virtual, ``datetime.datetime`` *is* ``FakeDatetime``; an SDK module first
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
