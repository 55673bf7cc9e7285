"""Prototype: freezegun's virtual clock at a per-test cost well under 1 ms (not used by replay/).

Why freezegun's ``start()`` costs milliseconds: to catch ``from time import monotonic`` style
bindings it walks *every* loaded module on every start (4,000+ with the SDKs imported): a
prefix test per module, then ``dir()`` plus a hash of the sorted names for each module not
ignored; it also creates and closes an asyncio event loop to learn the loop class, and on stop
it ``dir()``s every module imported meanwhile.

:class:`FastFreezer` keeps freezegun's own fakes (``fake_time``, ``FakeDatetime``, its factory
stack and per-frame ignore list), so the application observes exactly what freezegun gives it,
and changes only how the bindings are found: an index built once and kept up to date
incrementally. On each start it

1. scans only modules that appeared in ``sys.modules`` since the last start (one C-level set
   difference over the names), plus already indexed modules whose namespace changed size or
   that were replaced (a cheap ``len`` per indexed module; ignored SDK modules are never
   indexed);
2. rebinds the known bindings (checking each still holds the real function first);
3. patches the ``time``/``datetime``/``uuid`` module attributes, copyreg and the (cached)
   event-loop class exactly as freezegun does.

Blind spot, shared with freezegun's own attribute cache: a module that rebinds an *existing*
name to a real time function without its namespace changing size. Outside the clock the process
is pristine: everything is restored on stop, as with freezegun.

Nesting follows freezegun: if a freezegun clock (the user's own, or ours) is already running,
start only pushes a factory on freezegun's stacks.
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
from typing import Any

from freezegun import api as fz

__all__ = ["BindingIndex", "FastFreezer"]


def _fakes() -> list[tuple[str, Any, Any]]:
    """(time-module name or None, real, fake), in freezegun's terms."""
    pairs: list[tuple[str, Any, Any]] = [
        ("", fz.real_date, fz.FakeDate),
        ("", fz.real_datetime, fz.FakeDatetime),
        ("gmtime", fz.real_gmtime, fz.fake_gmtime),
        ("localtime", fz.real_localtime, fz.fake_localtime),
        ("monotonic", fz.real_monotonic, fz.fake_monotonic),
        ("perf_counter", fz.real_perf_counter, fz.fake_perf_counter),
        ("strftime", fz.real_strftime, fz.fake_strftime),
        ("time", fz.real_time, fz.fake_time),
    ]
    if fz._TIME_NS_PRESENT:
        pairs.append(("time_ns", fz.real_time_ns, fz.fake_time_ns))
    if fz._MONOTONIC_NS_PRESENT:
        pairs.append(("monotonic_ns", fz.real_monotonic_ns, fz.fake_monotonic_ns))
    if fz._PERF_COUNTER_NS_PRESENT:
        pairs.append(("perf_counter_ns", fz.real_perf_counter_ns, fz.fake_perf_counter_ns))
    return pairs


_PAIRS = _fakes()
_FAKE_FOR = {id(real): fake for _, real, fake in _PAIRS}
_REAL_FOR = {id(fake): real for _, real, fake in _PAIRS}


class BindingIndex:
    """Where loaded modules hold real time functions/classes, kept current incrementally."""

    def __init__(self, ignore: tuple[str, ...]) -> None:
        self.ignore = ignore
        self._seen: set[str] = set()
        # name -> (module, namespace size when scanned, [attribute names bound to a real])
        self._watched: dict[str, tuple[ModuleType, int, list[str]]] = {}
        self.full_scans = 0
        self.rescans = 0

    def _skip(self, name: str, module: Any) -> bool:
        return (
            module is None
            or name == fz.__name__
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
        self.rescans += 1

    def refresh(self) -> None:
        modules = sys.modules
        new = modules.keys() - self._seen
        if new:
            self._seen.update(new)
            for name in new:
                module = modules.get(name)
                if not self._skip(name, module):
                    self._scan(name, module)  # type: ignore[arg-type]
        for name, (module, size, _) in list(self._watched.items()):
            current = modules.get(name)
            if current is not module:
                del self._watched[name]
                if current is not None and not self._skip(name, current):
                    self._scan(name, current)
            elif len(module.__dict__) != size:
                self._scan(name, module)

    def bindings(self) -> list[tuple[ModuleType, str]]:
        return [(module, attr) for module, _, names in self._watched.values() for attr in names]


_INDEXES: dict[tuple[str, ...], BindingIndex] = {}
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

    starts = 0  # how many times any FastFreezer started (lets the bench check it is in use)

    def __init__(self, when: datetime.datetime, *, ignore: tuple[str, ...] | list[str] = ()) -> None:
        template = fz.freeze_time(when, tick=False, real_asyncio=True, ignore=list(ignore))
        self.time_to_freeze = template.time_to_freeze
        self.tz_offset = template.tz_offset
        self.ignore: tuple[str, ...] = template.ignore
        self._undo: list[tuple[Any, str, Any]] = []
        self._owner = False

    def start(self) -> Any:
        FastFreezer.starts += 1
        factory = fz.FrozenDateTimeFactory(self.time_to_freeze)
        outer = len(fz.freeze_factories) > 0
        fz.freeze_factories.append(factory)
        fz.tz_offsets.append(self.tz_offset)
        fz.ignore_lists.append(self.ignore)
        fz.tick_flags.append(False)
        if outer:
            return factory
        self._owner = True
        index = _INDEXES.get(self.ignore)
        if index is None:
            index = _INDEXES[self.ignore] = BindingIndex(self.ignore)
        index.refresh()
        self._index = index
        self._modules_at_start = sys.modules.keys() | set()

        datetime.datetime = fz.FakeDatetime  # type: ignore[misc]
        datetime.date = fz.FakeDate  # type: ignore[misc]
        for name, _real, fake in _PAIRS:
            if name:
                setattr(time, name, fake)
        if fz.uuid_generate_time_attr:
            setattr(uuid, fz.uuid_generate_time_attr, None)
        uuid._UuidCreate = None  # type: ignore[attr-defined]
        uuid._last_timestamp = None  # type: ignore[attr-defined]
        copyreg.dispatch_table[fz.real_datetime] = fz.pickle_fake_datetime
        copyreg.dispatch_table[fz.real_date] = fz.pickle_fake_date

        undo = self._undo
        for module, attr in index.bindings():
            value = module.__dict__.get(attr)
            fake = _FAKE_FOR.get(id(value))
            if fake is not None:
                setattr(module, attr, fake)
                undo.append((module, attr, value))
        loop_cls = _event_loop_class()
        undo.append((loop_cls, "time", loop_cls.__dict__.get("time")))
        real_monotonic = fz.real_monotonic
        loop_cls.time = lambda self: real_monotonic()  # type: ignore[attr-defined]
        return factory

    def stop(self) -> None:
        fz.freeze_factories.pop()
        fz.ignore_lists.pop()
        fz.tick_flags.pop()
        fz.tz_offsets.pop()
        if not self._owner:
            return
        self._owner = False
        datetime.datetime = fz.real_datetime  # type: ignore[misc]
        datetime.date = fz.real_date  # type: ignore[misc]
        copyreg.dispatch_table.pop(fz.real_datetime)
        copyreg.dispatch_table.pop(fz.real_date)
        for obj, attr, original in reversed(self._undo):
            if original is None and isinstance(obj, type):
                delattr(obj, attr)
            else:
                setattr(obj, attr, original)
        self._undo.clear()
        # Modules imported while frozen bound the fakes; give them the real functions back.
        new = sys.modules.keys() - self._modules_at_start
        if new:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                for name in new:
                    module = sys.modules.get(name)
                    if self._index._skip(name, module):
                        continue
                    for attr, value in list(vars(module).items()):
                        real = _REAL_FOR.get(id(value))
                        if real is not None:
                            setattr(module, attr, real)
        for name, real, _fake in _PAIRS:
            if name:
                setattr(time, name, real)
        if fz.uuid_generate_time_attr:
            setattr(uuid, fz.uuid_generate_time_attr, fz.real_uuid_generate_time)
        uuid._UuidCreate = fz.real_uuid_create  # type: ignore[attr-defined]
        uuid._last_timestamp = None  # type: ignore[attr-defined]
