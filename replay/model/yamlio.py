"""Safe, fast YAML in and out (libyaml when available).

Writing: no anchors or aliases, multi-line text as literal blocks so SSE chunks read like the
wire, long lines never folded. Reading: the safe loader only (a cassette is data and must not
construct Python objects), and documents using anchors/aliases are refused before anything
walks them (billion laughs).
"""

from __future__ import annotations

import contextlib
import gc
import re
from collections.abc import Iterator
from typing import Any

import yaml

from ..limits import MAX_JSON_DEPTH

__all__ = ["YamlAliasError", "YamlShapeError", "dump_data", "gc_paused", "load_data", "uses_aliases"]

_BaseDumper: Any = getattr(yaml, "CSafeDumper", yaml.SafeDumper)  # libyaml when PyYAML has it
_BaseLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_BaseLoader):  # type: ignore[misc]
    """The safe loader with a faster tag resolver (same results).

    libyaml composes in C but asks this Python method for the tag of every untagged scalar:
    a quoted or block scalar is always a string, and plain scalars repeat within a document
    (keys, statuses), so their answers are memoised for the one load.
    """

    def __init__(self, stream: Any) -> None:
        super().__init__(stream)
        self._memo: dict[str, str] = {}

    def resolve(self, kind: Any, value: Any, implicit: Any) -> Any:
        if kind is yaml.ScalarNode and not self.yaml_path_resolvers:
            if not implicit[0]:
                return self.DEFAULT_SCALAR_TAG
            tag = self._memo.get(value)
            if tag is None:
                tag = self._memo[value] = super().resolve(kind, value, implicit)
            return tag
        return super().resolve(kind, value, implicit)


class YamlAliasError(ValueError):
    """The document uses YAML anchors or aliases, which cassettes never contain."""


class YamlShapeError(yaml.YAMLError, ValueError):
    """A document no cassette can be: a key given twice in one mapping, nesting past
    :data:`~replay.limits.MAX_JSON_DEPTH`, or a scalar its tag cannot build (``!!int abc``,
    an int of thousands of digits). ``line`` is 1-based, or 0 when unknown.

    A ``yaml.YAMLError``, so every reader that handles bad YAML handles these too.
    """

    def __init__(self, message: str, line: int = 0) -> None:
        super().__init__(message)
        self.problem = message
        self.line = line


class _Dumper(_BaseDumper):  # type: ignore[misc]
    def ignore_aliases(self, data: Any) -> bool:
        return True


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    # Literal blocks keep SSE frames readable; the emitter falls back to a quoted style on
    # its own whenever a literal block could not reproduce the string exactly.
    if "\n" in value and len(value) > 1:
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|")
    return dumper.represent_scalar("tag:yaml.org,2002:str", value)


_Dumper.add_representer(str, _represent_str)


def dump_data(data: Any) -> str:
    """Serialise plain data (dicts, lists, str, numbers, bools, None) to YAML text."""
    return yaml.dump(
        data,
        Dumper=_Dumper,
        sort_keys=False,
        allow_unicode=True,
        width=1_000_000,
        default_flow_style=False,
    )


# An anchor (&name) can only start where a node starts, an alias (*name) too. The scan has false
# positives (an "&" inside text, "R &D", Markdown "*"), so a document is parsed event by event
# only if some candidate anchor name also appears as a candidate alias. Each scan is one split
# and a short match per occurrence: linear, however many "&T1"/"&mut" a code-heavy body holds.
_NAME = re.compile(r"[^\s,\[\]{}]+")
_NODE_START = frozenset(" \t\r\n[{,:-?")


def _sigil_names(text: str, sigil: str) -> set[str]:
    """The names after ``sigil`` ("&" or "*") where a node may start: one split, then one short
    match per occurrence, so the cost is linear in the text."""
    names: set[str] = set()
    parts = text.split(sigil)
    for i in range(1, len(parts)):
        before = parts[i - 1]
        if (before and before[-1] in _NODE_START) or (i == 1 and not before):
            found = _NAME.match(parts[i])
            if found:
                names.add(found.group())
    return names


def uses_aliases(text: str) -> bool:
    if "&" not in text or "*" not in text:
        return False
    names = _sigil_names(text, "&")
    if not names or names.isdisjoint(_sigil_names(text, "*")):
        return False  # no anchor, or anchors nothing refers to: no shared nodes
    for event in yaml.parse(text, Loader=_BaseLoader):
        if isinstance(event, yaml.AliasEvent):
            return True
        if isinstance(event, (yaml.ScalarEvent, yaml.SequenceStartEvent, yaml.MappingStartEvent)) and (
            event.anchor is not None
        ):
            return True
    return False


def load_data(text: str) -> Any:
    """Parse YAML text with the safe loader, refusing anchors and aliases."""
    if uses_aliases(text):
        raise YamlAliasError("the document uses YAML anchors/aliases, which cassettes never contain")
    with gc_paused():
        # _parse returns only the data: its node tree is freed before the collector resumes.
        try:
            return _parse(text)
        except (YamlShapeError, YamlAliasError, yaml.YAMLError):
            raise
        except (ValueError, TypeError, LookupError, AttributeError, ArithmeticError, RecursionError) as exc:
            # PyYAML's scalar constructors raise these, unpositioned, for a value its explicit
            # tag cannot build (!!bool maybe: KeyError, !!timestamp nope: AttributeError).
            detail = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
            raise YamlShapeError(f"invalid YAML value ({detail}); fix the value or its !!tag") from None


def _parse(text: str) -> Any:
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        try:
            return _construct(loader, node)
        except _Unusual:
            return loader.construct_document(node)
    finally:
        loader.dispose()


class _Unusual(Exception):
    """The document needs PyYAML's general constructor (merge keys, collection tags...)."""


_STR = "tag:yaml.org,2002:str"
_MAP = "tag:yaml.org,2002:map"
_SEQ = "tag:yaml.org,2002:seq"
_MERGE = "tag:yaml.org,2002:merge"


def _construct(loader: Any, root: yaml.Node) -> Any:
    """The safe loader's result, built without its generic (generator-based) machinery.

    Cassettes are plain trees of maps, lists and scalars, and building them directly is about
    four times faster than ``construct_document``. Scalars other than plain strings go through
    the safe loader's own constructors (ints in any YAML form, floats, booleans, null,
    timestamps, ``!!binary``), and a tag the safe loader would refuse is refused the same way.
    Anything unusual (merge keys, ``!!set``/``!!omap``, unhashable keys) falls back to PyYAML.
    A node met twice is an alias, which :func:`uses_aliases` should have caught: refused here
    too, so a shared subtree can never be expanded.
    """
    # A class rather than a recursive closure: a closure that calls itself is a reference
    # cycle, which would keep the loader (and its copy of the text) alive until the next
    # garbage collection.
    return _Builder(loader).build(root)


class _Builder:
    __slots__ = ("constructors", "depth", "loader", "seen")

    def __init__(self, loader: Any) -> None:
        self.loader = loader
        self.constructors = loader.yaml_constructors
        self.seen: set[int] = set()
        self.depth = 0

    def build(self, node: yaml.Node) -> Any:
        if node.__class__ is yaml.ScalarNode:
            return self._build(node)
        self.depth += 1
        if self.depth > MAX_JSON_DEPTH:
            raise YamlShapeError(
                f"the data is nested deeper than {MAX_JSON_DEPTH} levels", node.start_mark.line + 1
            )
        try:
            return self._build(node)
        finally:
            self.depth -= 1

    def _build(self, node: yaml.Node) -> Any:
        cls = node.__class__
        tag = node.tag
        if cls is yaml.ScalarNode:
            if tag == _STR:
                return node.value
            if tag in self.constructors:
                return self.constructors[tag](self.loader, node)
            return self.loader.construct_object(node, deep=True)  # raises as the safe loader does
        if id(node) in self.seen:
            raise YamlAliasError("the document uses YAML anchors/aliases, which cassettes never contain")
        self.seen.add(id(node))
        build = self.build
        if cls is yaml.MappingNode and tag == _MAP:
            out = {}
            for key, value in node.value:
                if key.tag == _MERGE:
                    raise _Unusual
                k = build(key)
                try:
                    twice = k in out
                except TypeError:  # an unhashable key: let PyYAML word the error
                    raise _Unusual from None
                if twice:
                    raise YamlShapeError(
                        f"the key {str(k)[:40]!r} appears twice in one mapping (which one is meant?)",
                        key.start_mark.line + 1,
                    )
                try:
                    out[k] = build(value)
                except TypeError:  # an unhashable key: let PyYAML word the error
                    raise _Unusual from None
            return out
        if cls is yaml.SequenceNode and tag == _SEQ:
            return [build(item) for item in node.value]
        raise _Unusual


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while building a large acyclic tree.

    Every few hundred allocations the collector rescans the growing tree of YAML nodes and
    Python objects; for a large cassette that is two thirds of the load time, and it makes load
    time grow faster than the file. Nothing built here has cycles, so nothing is lost.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
