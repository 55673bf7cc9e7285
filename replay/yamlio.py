"""Safe, fast YAML in and out (libyaml when available).

Writing: no anchors or aliases, multi-line text as literal blocks so SSE chunks read like the
wire, long lines never folded. Reading: the safe loader only (a cassette is data and must not
construct Python objects), and documents using anchors/aliases are refused before anything
walks them (billion laughs).
"""

from __future__ import annotations

import re
from typing import Any

import yaml

__all__ = ["YamlAliasError", "dump_data", "load_data"]

_BaseDumper: Any = getattr(yaml, "CSafeDumper", yaml.SafeDumper)  # libyaml when PyYAML has it
_BaseLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class YamlAliasError(ValueError):
    """The document uses YAML anchors or aliases, which cassettes never contain."""


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


# An anchor (&name) or alias (*name) can only start where a node starts. This cheap scan has
# false positives (the characters inside text), which the exact event check below settles.
_MAYBE_ANCHOR = re.compile(r"(?:^|[\s\[{,:\-?])[&*][^\s,\[\]{}]")


def _uses_aliases(text: str) -> bool:
    if not _MAYBE_ANCHOR.search(text):
        return False
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
    if _uses_aliases(text):
        raise YamlAliasError("the document uses YAML anchors/aliases, which cassettes never contain")
    return yaml.load(text, Loader=_BaseLoader)
