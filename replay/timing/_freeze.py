"""freezegun's frozen clock, started and stopped in well under a millisecond.

Why ``freeze_time(...).start()`` costs milliseconds: to catch ``from time import monotonic``
style bindings it walks *every* loaded module on every start (4,000+ with the SDKs imported:
a prefix test each, then ``dir()`` and a hash of the sorted names for each module not ignored),
creates and closes an asyncio event loop to learn the loop class, and on stop ``dir()``s every
module imported meanwhile. A test suite pays that per test.

:class:`FastFreezer` keeps freezegun's own fakes (``fake_time``, ``FakeDatetime``...), its factory
stack and its per-frame ignore list, so the application observes exactly what freezegun gives
it; only the search for bindings changes. An index of where loaded modules hold real time
functions is built once and kept current incrementally: each start scans the modules that
appeared in ``sys.modules`` since the last start (a C-level set difference over the names) and
re-scans indexed modules whose namespace changed size or that were replaced; ignored modules
(the SDKs) are never indexed. Nesting follows freezegun: if a freezegun clock (the user's own)
is already running, start only pushes a factory.

It reads freezegun's module internals (``freeze_factories``, ``ignore_lists``, the ``real_*`` and
``fake_*`` functions...). :data:`AVAILABLE` is false if they are missing (a freezegun release that
changed them), and :func:`make_freezer` then falls back to the public ``freeze_time``, which is
slower but equivalent; ``tests/test_timing.py`` fails if the fast path is not in use.

Blind spot, shared with freezegun's own attribute cache: a module that rebinds an *existing*
name to a real time function without its namespace changing size is not re-scanned.
"""

from __future__ import annotations

import asyncio
import copyreg
import datetime
import sys
import time
import uuid
import warnings
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from .bindings import BindingIndex, restore

__all__ = ["AVAILABLE", "FastFreezer", "Freezer", "make_freezer"]


class Freezer(Protocol):
    def start(self) -> Any: ...

    def stop(self) -> None: ...


try:
    from freezegun import api as _fz

    def _pairs() -> list[tuple[str, Any, Any]]:
        """(name in the ``time`` module or "", real, fake), in freezegun's terms."""
        pairs: list[tuple[str, Any, Any]] = [
            ("", _fz.real_date, _fz.FakeDate),
            ("", _fz.real_datetime, _fz.FakeDatetime),
            ("gmtime", _fz.real_gmtime, _fz.fake_gmtime),
            ("localtime", _fz.real_localtime, _fz.fake_localtime),
            ("monotonic", _fz.real_monotonic, _fz.fake_monotonic),
            ("perf_counter", _fz.real_perf_counter, _fz.fake_perf_counter),
            ("strftime", _fz.real_strftime, _fz.fake_strftime),
            ("time", _fz.real_time, _fz.fake_time),
        ]
        if _fz._TIME_NS_PRESENT:
            pairs.append(("time_ns", _fz.real_time_ns, _fz.fake_time_ns))
        if _fz._MONOTONIC_NS_PRESENT:
            pairs.append(("monotonic_ns", _fz.real_monotonic_ns, _fz.fake_monotonic_ns))
        if _fz._PERF_COUNTER_NS_PRESENT:
            pairs.append(("perf_counter_ns", _fz.real_perf_counter_ns, _fz.fake_perf_counter_ns))
        return pairs

    _PAIRS = _pairs()
    for _name in (
        "freeze_factories",
        "tz_offsets",
        "ignore_lists",
        "tick_flags",
        "FrozenDateTimeFactory",
        "uuid_generate_time_attr",
        "real_uuid_create",
        "pickle_fake_datetime",
        "pickle_fake_date",
    ):
        getattr(_fz, _name)
    AVAILABLE = True
except (ImportError, AttributeError):  # pragma: no cover - a freezegun release changed its internals
    _PAIRS = []
    AVAILABLE = False

_FAKE_FOR = {id(real): fake for _, real, fake in _PAIRS}
_REAL_FOR = {id(fake): real for _, real, fake in _PAIRS}
_NAME_FOR = {id(real): (name or real.__name__) for name, real, _ in _PAIRS}
_INDEXES: dict[tuple[tuple[str, ...], frozenset[int]], BindingIndex] = {}
_TEMPLATES: dict[tuple[datetime.datetime | None, tuple[str, ...]], tuple[Any, Any, tuple[str, ...]]] = {}
_LOOP_CLASS: list[type] = []


def _event_loop_class() -> type:
    # freezegun creates (and closes) an event loop on every start to learn its class; the class
    # only changes with the loop policy, so ask once per policy.
    policy = asyncio.get_event_loop_policy()
    if not _LOOP_CLASS or _LOOP_CLASS[0] is not type(policy):
        loop = asyncio.new_event_loop()
        loop.close()
        _LOOP_CLASS[:] = [type(policy), type(loop)]
    return _LOOP_CLASS[1]


_MAPS: dict[tuple[tuple[str, int, int], ...], tuple[dict[int, Any], dict[int, str]]] = {}


def _fake_maps(functions: Mapping[str, tuple[Any, Any]]) -> tuple[dict[int, Any], dict[int, str]]:
    """(id(real) -> fake, id(real) -> name) with ``functions`` in place of freezegun's fakes."""
    key = tuple((name, id(real), id(fake)) for name, (real, fake) in functions.items())
    maps = _MAPS.get(key)
    if maps is None:
        fake_for, reals = dict(_FAKE_FOR), dict(_NAME_FOR)
        for name, (real, fake) in functions.items():
            fake_for[id(real)] = fake
            reals[id(real)] = name
        maps = _MAPS[key] = (fake_for, reals)
    return maps


class FastFreezer:
    """``freeze_time(when, tick=False, real_asyncio=True, ignore=...)`` with a cached scan.

    ``functions`` (name in ``time`` -> (real, fake)) replace freezegun's fakes of those names,
    and ``source`` (a callable returning the naive UTC datetime) replaces its factory: then
    freezegun's per-call ignore rule, which scans a few frames and so depends on stack depth,
    is not used at all (the virtual timeline's fakes decide by call site).

    Example usage::

        freezer = FastFreezer(datetime.datetime(2026, 1, 1), ignore=("openai", "httpx"))
        factory = freezer.start()
        factory.move_to(datetime.datetime(2026, 1, 1, 0, 0, 1))
        freezer.stop()
    """

    def __init__(
        self,
        when: datetime.datetime,
        *,
        ignore: tuple[str, ...],
        functions: Mapping[str, tuple[Any, Any]] | None = None,
        source: Callable[[], datetime.datetime] | None = None,
        tz_offset: datetime.timedelta | None = None,
    ) -> None:
        key = (when if source is None else None, ignore)
        template = _TEMPLATES.get(key)
        if template is None:
            # Parsing ``when`` and merging freezegun's default ignore list cost more than the
            # rest of a start: with a source (``when`` unused) it is done once per ignore list.
            built = _fz.freeze_time(when, tick=False, real_asyncio=True, ignore=list(ignore))
            template = (built.time_to_freeze, built.tz_offset, built.ignore)
            if source is not None:
                _TEMPLATES[key] = template
        self.time_to_freeze: Any = template[0]
        default_offset: datetime.timedelta = template[1]
        self.ignore: tuple[str, ...] = template[2]
        self.tz_offset = default_offset if tz_offset is None else tz_offset
        self.functions = dict(functions or {})
        self.source = source
        self._undo: list[tuple[Any, str, Any]] = []
        self._sites: list[tuple[Any, Any]] = []
        self._outer_undo: list[tuple[str, Any]] = []
        self._owner = False
        self._index: BindingIndex | None = None
        self._modules_at_start = 0
        self._fake_for, self._reals = _fake_maps(self.functions)

    def start(self) -> Any:
        factory: Any = (
            self.source if self.source is not None else _fz.FrozenDateTimeFactory(self.time_to_freeze)
        )
        outer = len(_fz.freeze_factories) > 0
        _fz.freeze_factories.append(factory)  # a source is called as freezegun calls its factories
        _fz.tz_offsets.append(self.tz_offset)
        _fz.ignore_lists.append(() if self.source is not None else self.ignore)
        _fz.tick_flags.append(False)
        if outer:
            # A freezegun clock of the user's own already patched everything: keep its fakes
            # (they read our factory), but a sleep must still wait on our clock.
            if "sleep" in self.functions:
                self._outer_undo.append(("sleep", time.sleep))
                time.sleep = self.functions["sleep"][1]
            return factory
        self._owner = True
        key = (self.ignore, frozenset(self._reals))
        index = _INDEXES.get(key)
        if index is None:
            index = _INDEXES[key] = BindingIndex(self.ignore, self._reals)
        index.refresh()
        self._index = index
        self._modules_at_start = len(sys.modules)  # the index has seen every one of them

        datetime.datetime = _fz.FakeDatetime  # type: ignore[misc]
        datetime.date = _fz.FakeDate  # type: ignore[misc]
        self._point_time(faked=True)
        copyreg.dispatch_table[_fz.real_datetime] = _fz.pickle_fake_datetime
        copyreg.dispatch_table[_fz.real_date] = _fz.pickle_fake_date

        index.patch(self._fake_for, self._sites)
        if self.source is None:
            # Event loops keep real time (freezegun's real_asyncio): asyncio.sleep must not hang.
            # (Driven by a source, the timeline runs the loops: replay/timing/loop.py.)
            loop_cls = _event_loop_class()
            self._undo.append((loop_cls, "time", loop_cls.__dict__.get("time")))
            real_monotonic = _fz.real_monotonic
            loop_cls.time = lambda self: real_monotonic()  # type: ignore[attr-defined]
        return factory

    def stop(self) -> None:
        _fz.freeze_factories.pop()
        _fz.ignore_lists.pop()
        _fz.tick_flags.pop()
        _fz.tz_offsets.pop()
        for name, original in reversed(self._outer_undo):
            setattr(time, name, original)
        self._outer_undo.clear()
        if not self._owner:
            return
        self._owner = False
        datetime.datetime = _fz.real_datetime  # type: ignore[misc]
        datetime.date = _fz.real_date  # type: ignore[misc]
        copyreg.dispatch_table.pop(_fz.real_datetime)
        copyreg.dispatch_table.pop(_fz.real_date)
        restore(self._sites)
        for obj, attr, original in reversed(self._undo):
            if original is None and isinstance(obj, type):
                delattr(obj, attr)
            else:
                setattr(obj, attr, original)
        self._undo.clear()
        self._give_back_reals()
        self._point_time(faked=False)

    def _point_time(self, *, faked: bool) -> None:
        """The ``time`` module's functions, the fakes or the real ones; uuid's time-based
        generator is off while faked, as freezegun has it (it would read the real clock)."""
        functions = [(name, real, fake) for name, (real, fake) in self.functions.items()]
        for name, real, fake in [*_PAIRS, *functions]:
            if name:
                setattr(time, name, fake if faked else real)
        if _fz.uuid_generate_time_attr:
            setattr(uuid, _fz.uuid_generate_time_attr, None if faked else _fz.real_uuid_generate_time)
        uuid._UuidCreate = None if faked else _fz.real_uuid_create  # type: ignore[attr-defined]
        uuid._last_timestamp = None  # type: ignore[attr-defined]

    def _give_back_reals(self) -> None:
        """Modules imported while frozen bound the fakes; give them the real functions back."""
        index = self._index
        # Nothing imported meanwhile (the common case) costs a len(); a module removed and
        # another imported in its place is the blind spot (the new one keeps the fakes, which
        # read the real clock once no timeline is active).
        if index is None or len(sys.modules) <= self._modules_at_start:
            return
        new = index.unseen()
        if not new:
            return
        real_for = {**_REAL_FOR, **{id(fake): real for real, fake in self.functions.values()}}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for name in new:
                module = sys.modules.get(name)
                if index.skip(name, module):
                    continue
                for attr, value in list(vars(module).items()):
                    real = real_for.get(id(value))
                    if real is not None:
                        setattr(module, attr, real)


def make_freezer(when: datetime.datetime, ignore: tuple[str, ...]) -> Freezer:
    """A frozen clock at ``when`` with event loops on real time; fast when freezegun allows."""
    if AVAILABLE:
        return FastFreezer(when, ignore=ignore)
    from freezegun import freeze_time

    freezer: Freezer = freeze_time(when, tick=False, real_asyncio=True, ignore=list(ignore))
    return freezer
