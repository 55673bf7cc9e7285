"""Where loaded modules hold the real time functions, so the virtual clock can replace them.

``from time import monotonic`` binds the real function into a module's namespace before any
clock is patched; so do ``def f(clock=time.monotonic)``, ``clock = time.monotonic`` in a class
body, a closure over ``time.monotonic`` (a dataclass's ``default_factory=time.monotonic``
lives in one) and an object built at import with the function as an attribute. The index finds
all of these in every loaded module that is not ignored, and the clock swaps each for its fake
while it runs:

- module globals and class attributes (``setattr``);
- a function's ``__defaults__`` / ``__kwdefaults__`` (module functions, methods, static and
  class methods of the module's classes);
- closure cells (``cell_contents`` is writable);
- the ``__dict__`` of an object held by a module global.

What it cannot swap, it names in a one-line :class:`~replay.errors.ReplayWarning`, once per
binding: a ``functools.partial`` (immutable), or an attribute whose ``setattr`` fails.

The index is built once and kept current incrementally: each refresh scans the modules that
appeared in ``sys.modules`` since the last one and re-scans those whose namespace changed size
or that were replaced. Ignored modules (the SDKs, llm-replay itself) are never scanned.
"""

from __future__ import annotations

import functools
import sys
import warnings
from collections.abc import Iterable
from types import FunctionType, ModuleType
from typing import Any

from ..errors import ReplayWarning

__all__ = ["BindingIndex", "Site", "read", "restore", "write"]

# (kind, target, key): kind 0 attribute (target.__dict__[key]), 1 positional default (index
# into target.__defaults__), 2 keyword default (target.__kwdefaults__[key]), 3 closure cell.
Site = tuple[int, Any, Any]
_ATTR, _DEFAULT, _KWDEFAULT, _CELL = 0, 1, 2, 3


def read(site: Site) -> Any:
    kind, target, key = site
    if kind == _ATTR:
        return target.__dict__.get(key)
    if kind == _DEFAULT:
        defaults = target.__defaults__ or ()
        return defaults[key] if key < len(defaults) else None
    if kind == _KWDEFAULT:
        return (target.__kwdefaults__ or {}).get(key)
    try:
        return target.cell_contents
    except ValueError:
        return None


def write(site: Site, value: Any) -> None:
    kind, target, key = site
    if kind == _ATTR:
        if isinstance(target, (ModuleType, type)):
            setattr(target, key, value)
        else:
            object.__setattr__(target, key, value)
    elif kind == _DEFAULT:
        defaults = list(target.__defaults__)
        defaults[key] = value
        target.__defaults__ = tuple(defaults)
    elif kind == _KWDEFAULT:
        target.__kwdefaults__ = {**target.__kwdefaults__, key: value}
    else:
        target.cell_contents = value


class BindingIndex:
    """The binding sites of ``reals`` (id -> name) in loaded modules, kept current."""

    def __init__(self, ignore: tuple[str, ...], reals: dict[int, str]) -> None:
        self.ignore = ignore
        self.reals = reals
        self._seen: set[str] = set()
        # name -> (module, namespace size when scanned, binding sites)
        self._watched: dict[str, tuple[ModuleType, int, list[Site]]] = {}
        self._warned: set[str] = set()
        self._marker: tuple[int, str | None, int] = (0, None, 0)

    def skip(self, name: str, module: Any) -> bool:
        return (
            module is None
            or name.startswith((*self.ignore, "replay.", "freezegun"))
            or name == "replay"
            or name.endswith(".six.moves")
            or not hasattr(module, "__name__")
            or module.__name__ in ("datetime", "time")
        )

    def unseen(self) -> set[str]:
        """Modules loaded since the last refresh."""
        return sys.modules.keys() - self._seen

    def refresh(self) -> None:
        modules = sys.modules
        # Imports append to sys.modules (dicts keep insertion order): the count and the last
        # entry tell, in O(1), whether any module came or went since the last refresh.
        last = next(reversed(modules), None)
        marker = (len(modules), last, id(modules.get(last or "")))
        if marker != self._marker:
            self._marker = marker
            new = modules.keys() - self._seen
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

    def sites(self) -> Iterable[Site]:
        for _, _, sites in self._watched.values():
            yield from sites

    def _scan(self, name: str, module: ModuleType) -> None:
        try:
            namespace = vars(module)
        except TypeError:
            return
        sites: list[Site] = []
        with warnings.catch_warnings():
            # dir()/getattr on some modules' objects emit DeprecationWarnings; not ours to show.
            warnings.simplefilter("ignore", DeprecationWarning)
            for attr, value in list(namespace.items()):
                self._value(sites, module, attr, value, name, f"{name}.{attr}")
        spec = getattr(module, "__spec__", None)
        if sites or getattr(spec, "_initializing", False):
            # Watched for changes: modules that hold bindings, and modules still being imported
            # (their namespace is not complete yet). A fully imported module without bindings is
            # not re-checked at every start, which keeps the start cost flat.
            self._watched[name] = (module, len(namespace), sites)
        else:
            self._watched.pop(name, None)

    def _value(self, sites: list[Site], holder: Any, attr: str, value: Any, module: str, where: str) -> None:
        reals = self.reals
        if id(value) in reals:
            sites.append((_ATTR, holder, attr))
        elif isinstance(value, FunctionType):
            if value.__module__ == module:
                self._function(sites, value, where)
        elif isinstance(value, type):
            if holder.__class__ is ModuleType and getattr(value, "__module__", None) == module:
                self._class(sites, value, module, where)
        elif isinstance(value, functools.partial):
            self._partial(value, where)
        elif holder.__class__ is ModuleType and not isinstance(value, ModuleType):
            self._object(sites, value, where)

    def _function(self, sites: list[Site], fn: FunctionType, where: str) -> None:
        reals = self.reals
        for i, default in enumerate(fn.__defaults__ or ()):
            if id(default) in reals:
                sites.append((_DEFAULT, fn, i))
        for key, default in (fn.__kwdefaults__ or {}).items():
            if id(default) in reals:
                sites.append((_KWDEFAULT, fn, key))
        for cell in fn.__closure__ or ():
            try:
                content = cell.cell_contents
            except ValueError:  # an empty cell
                continue
            if id(content) in reals:
                sites.append((_CELL, cell, None))

    def _class(self, sites: list[Site], cls: type, module: str, where: str) -> None:
        try:
            namespace = dict(vars(cls))
        except TypeError:
            return
        for attr, value in namespace.items():
            if isinstance(value, (staticmethod, classmethod)):
                value = value.__func__
            if id(value) in self.reals:
                sites.append((_ATTR, cls, attr))
            elif isinstance(value, FunctionType):
                self._function(sites, value, f"{where}.{attr}")
            elif isinstance(value, functools.partial):
                self._partial(value, f"{where}.{attr}")

    def _object(self, sites: list[Site], value: Any, where: str) -> None:
        # An object whose class belongs to a skipped package (llm-replay's own REAL clock, an
        # SDK's client) is theirs to keep: only the application's objects are changed.
        owner = getattr(type(value), "__module__", None) or ""
        if self.skip(owner, sys.modules.get(owner)):
            return
        try:
            namespace = object.__getattribute__(value, "__dict__")
        except Exception:
            return
        if not isinstance(namespace, dict) or len(namespace) > 64:
            return
        for attr, item in list(namespace.items()):
            if id(item) in self.reals:
                sites.append((_ATTR, value, attr))

    def _partial(self, value: functools.partial[Any], where: str) -> None:
        reals = self.reals
        held = [value.func, *value.args, *value.keywords.values()]
        for item in held:
            name = reals.get(id(item))
            if name is not None:
                self.warn(where, name, "inside a functools.partial, which cannot be changed")

    def warn(self, where: str, name: str, how: str) -> None:
        """One line, once per binding, naming what keeps real time under virtual timing."""
        if where in self._warned:
            return
        self._warned.add(where)
        warnings.warn(
            f"llm-replay: {where} holds the real time.{name} ({how}), so it keeps real time under "
            f"virtual timing; look the function up when it is called (time.{name}()) instead.",
            ReplayWarning,
            stacklevel=2,
        )

    def patch(self, fake_for: dict[int, Any], undo: list[tuple[Site, Any]]) -> None:
        """Swap every indexed binding of a real function for its fake; note how to undo it."""
        for site in self.sites():
            value = read(site)
            fake = fake_for.get(id(value))
            if fake is None:
                continue
            try:
                write(site, fake)
            except (AttributeError, TypeError):
                self.warn(_describe(site), self.reals[id(value)], "an attribute that cannot be set")
                continue
            undo.append((site, value))


def _describe(site: Site) -> str:
    kind, target, key = site
    owner = getattr(target, "__qualname__", None) or type(target).__qualname__
    return f"{getattr(target, '__module__', '?')}.{owner}.{key}" if kind == _ATTR else str(owner)


def restore(undo: list[tuple[Site, Any]]) -> None:
    for site, original in reversed(undo):
        try:
            write(site, original)
        except (AttributeError, TypeError):
            continue
    undo.clear()
