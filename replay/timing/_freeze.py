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
from types import ModuleType
from typing import Any, Protocol

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


class _BindingIndex:
    """Where loaded modules hold real time functions/classes, kept current incrementally."""

    def __init__(self, ignore: tuple[str, ...]) -> None:
        self.ignore = ignore
        self._seen: set[str] = set()
        # name -> (module, namespace size when scanned, attribute names bound to a real)
        self._watched: dict[str, tuple[ModuleType, int, list[str]]] = {}

    def skip(self, name: str, module: Any) -> bool:
        return (
            module is None
            or name == _fz.__name__
            or name.startswith(self.ignore)
            or name.endswith(".six.moves")
            or not hasattr(module, "__name__")
            or module.__name__ in ("datetime", "time")
        )

    def _scan(self, name: str, module: ModuleType) -> None:
        try:
            namespace = vars(module)
        except TypeError:
            return
        names = [k for k, v in list(namespace.items()) if id(v) in _FAKE_FOR]
        self._watched[name] = (module, len(namespace), names)

    def refresh(self) -> None:
        modules = sys.modules
        new = modules.keys() - self._seen
        if new:
            self._seen.update(new)
            for name in new:
                module = modules.get(name)
                if not self.skip(name, module):
                    self._scan(name, module)  # type: ignore[arg-type]
        for name, (module, size, _) in list(self._watched.items()):
            current = modules.get(name)
            if current is not module:
                del self._watched[name]
                if current is not None and not self.skip(name, current):
                    self._scan(name, current)
            elif len(module.__dict__) != size:
                self._scan(name, module)

    def bindings(self) -> list[tuple[ModuleType, str]]:
        return [(module, attr) for module, _, names in self._watched.values() for attr in names]


_INDEXES: dict[tuple[str, ...], _BindingIndex] = {}
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


class FastFreezer:
    """``freeze_time(when, tick=False, real_asyncio=True, ignore=...)`` with a cached scan.

    Example usage::

        freezer = FastFreezer(datetime.datetime(2026, 1, 1), ignore=("openai", "httpx"))
        factory = freezer.start()
        factory.move_to(datetime.datetime(2026, 1, 1, 0, 0, 1))
        freezer.stop()
    """

    def __init__(self, when: datetime.datetime, *, ignore: tuple[str, ...]) -> None:
        template = _fz.freeze_time(when, tick=False, real_asyncio=True, ignore=list(ignore))
        self.time_to_freeze = template.time_to_freeze
        self.tz_offset = template.tz_offset
        self.ignore: tuple[str, ...] = template.ignore
        self._undo: list[tuple[Any, str, Any]] = []
        self._owner = False
        self._index: _BindingIndex | None = None
        self._modules_at_start: set[str] = set()

    def start(self) -> Any:
        factory = _fz.FrozenDateTimeFactory(self.time_to_freeze)
        outer = len(_fz.freeze_factories) > 0
        _fz.freeze_factories.append(factory)
        _fz.tz_offsets.append(self.tz_offset)
        _fz.ignore_lists.append(self.ignore)
        _fz.tick_flags.append(False)
        if outer:
            return factory
        self._owner = True
        index = _INDEXES.get(self.ignore)
        if index is None:
            index = _INDEXES[self.ignore] = _BindingIndex(self.ignore)
        index.refresh()
        self._index = index
        self._modules_at_start = set(sys.modules.keys())

        datetime.datetime = _fz.FakeDatetime  # type: ignore[misc]
        datetime.date = _fz.FakeDate  # type: ignore[misc]
        for name, _real, fake in _PAIRS:
            if name:
                setattr(time, name, fake)
        if _fz.uuid_generate_time_attr:
            setattr(uuid, _fz.uuid_generate_time_attr, None)
        uuid._UuidCreate = None  # type: ignore[attr-defined]
        uuid._last_timestamp = None  # type: ignore[attr-defined]
        copyreg.dispatch_table[_fz.real_datetime] = _fz.pickle_fake_datetime
        copyreg.dispatch_table[_fz.real_date] = _fz.pickle_fake_date

        undo = self._undo
        for module, attr in index.bindings():
            value = module.__dict__.get(attr)
            fake = _FAKE_FOR.get(id(value))
            if fake is not None:
                setattr(module, attr, fake)
                undo.append((module, attr, value))
        # Event loops keep real time (freezegun's real_asyncio): asyncio.sleep must not hang.
        loop_cls = _event_loop_class()
        undo.append((loop_cls, "time", loop_cls.__dict__.get("time")))
        real_monotonic = _fz.real_monotonic
        loop_cls.time = lambda self: real_monotonic()  # type: ignore[attr-defined]
        return factory

    def stop(self) -> None:
        _fz.freeze_factories.pop()
        _fz.ignore_lists.pop()
        _fz.tick_flags.pop()
        _fz.tz_offsets.pop()
        if not self._owner:
            return
        self._owner = False
        datetime.datetime = _fz.real_datetime  # type: ignore[misc]
        datetime.date = _fz.real_date  # type: ignore[misc]
        copyreg.dispatch_table.pop(_fz.real_datetime)
        copyreg.dispatch_table.pop(_fz.real_date)
        for obj, attr, original in reversed(self._undo):
            if original is None and isinstance(obj, type):
                delattr(obj, attr)
            else:
                setattr(obj, attr, original)
        self._undo.clear()
        # Modules imported while frozen bound the fakes; give them the real functions back.
        index = self._index
        new = sys.modules.keys() - self._modules_at_start
        if new and index is not None:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                for name in new:
                    module = sys.modules.get(name)
                    if index.skip(name, module):
                        continue
                    for attr, value in list(vars(module).items()):
                        real = _REAL_FOR.get(id(value))
                        if real is not None:
                            setattr(module, attr, real)
        for name, real, _fake in _PAIRS:
            if name:
                setattr(time, name, real)
        if _fz.uuid_generate_time_attr:
            setattr(uuid, _fz.uuid_generate_time_attr, _fz.real_uuid_generate_time)
        uuid._UuidCreate = _fz.real_uuid_create  # type: ignore[attr-defined]
        uuid._last_timestamp = None  # type: ignore[attr-defined]


def make_freezer(when: datetime.datetime, ignore: tuple[str, ...]) -> Freezer:
    """A frozen clock at ``when`` with event loops on real time; fast when freezegun allows."""
    if AVAILABLE:
        return FastFreezer(when, ignore=ignore)
    from freezegun import freeze_time

    freezer: Freezer = freeze_time(when, tick=False, real_asyncio=True, ignore=list(ignore))
    return freezer
