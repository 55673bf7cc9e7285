"""Faults given as JSON (control API, ``--faults``): ``{"type": "Disconnect", "after_events": 3}``.

Each object names a class of :mod:`replay.faults` in ``type``; its other keys are that class's
keyword arguments (``match=`` takes a Python callable, so it has no JSON form; ``interaction``
and ``times`` select as in-process).
"""

from __future__ import annotations

import dataclasses
import difflib
import json
from typing import Any

from .engine_link import Fault, fault_types

__all__ = ["FaultSpecError", "fault_names", "parse_faults"]

_EXAMPLE = '[{"type": "HTTPError", "status": 429, "times": 1}, {"type": "Disconnect", "after_events": 3}]'


class FaultSpecError(ValueError):
    """A fault given as JSON that does not describe a fault."""


def fault_names() -> dict[str, type[Fault]]:
    """The fault classes JSON may name, by class name."""
    out: dict[str, type[Fault]] = {}
    for name in fault_types.__all__:
        cls = getattr(fault_types, name)
        if isinstance(cls, type) and issubclass(cls, Fault) and cls is not Fault:
            out[name] = cls
    return out


def _one(spec: Any, where: str) -> Fault:
    if not isinstance(spec, dict):
        raise FaultSpecError(f"{where} is {spec!r}; each fault is an object, e.g. {_EXAMPLE}")
    kwargs = dict(spec)
    name = kwargs.pop("type", None)
    known = fault_names()
    if not isinstance(name, str) or name not in known:
        close = difflib.get_close_matches(str(name), list(known), n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise FaultSpecError(
            f'{where} has "type": {name!r}, which is not a fault.{hint} Known: {", ".join(sorted(known))}.'
        )
    cls = known[name]
    fields = {f.name for f in dataclasses.fields(cls) if f.init and f.name != "match"}
    unknown = sorted(set(kwargs) - fields)
    if unknown:
        raise FaultSpecError(
            f"{where} ({name}) has unknown field(s) {', '.join(unknown)}; "
            f"{name} takes: {', '.join(sorted(fields))}."
        )
    try:
        fault: Fault = cls(**kwargs)
    except (TypeError, ValueError) as exc:
        raise FaultSpecError(f"{where} ({name}): {exc}") from None
    return fault


def parse_faults(value: Any) -> list[Fault]:
    """Faults from decoded JSON (a list of objects, or one object) or a JSON string.

    Example usage::

        parse_faults('[{"type": "Stall", "after_events": 2, "seconds": 1.5}]')
    """
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError as exc:
            raise FaultSpecError(f"faults is not valid JSON ({exc}); write e.g. {_EXAMPLE}") from None
    if value is None:
        return []
    if isinstance(value, dict):
        value = [value]
    if not isinstance(value, list):
        raise FaultSpecError(f"faults must be a list of objects, got {value!r}; e.g. {_EXAMPLE}")
    return [_one(spec, f"faults[{i}]") for i, spec in enumerate(value)]
