"""What every fault is: the base class (validation, selection, repr), the stages, and the
error for a fault that changed nothing."""

from __future__ import annotations

import dataclasses
import difflib
import math
from abc import ABCMeta, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import KW_ONLY, dataclass
from typing import Any, ClassVar

from ..errors import ReplayError
from ..model.cassette import Request
from .draft import Draft, FaultContext

__all__ = ["CONTENT", "DELIVERY", "FRAMING", "REPLACE", "Fault", "FaultNotApplied"]

# Stages, in the order they apply.
REPLACE, CONTENT, FRAMING, DELIVERY = 0, 1, 2, 3


class FaultNotApplied(ReplayError):
    """A fault given to a cassette changed no response: it selected none, or fitted none."""


class _FaultMeta(ABCMeta):
    """Unknown or surplus constructor arguments get an error that lists the valid ones."""

    def __call__(cls, *args: Any, **kwargs: Any) -> Any:
        fields = [f for f in dataclasses.fields(cls) if f.init]  # type: ignore[arg-type]
        names = [f.name for f in fields]
        positional = [f.name for f in fields if not f.kw_only]
        unknown = [k for k in kwargs if k not in names]
        if unknown:
            hints = []
            for name in unknown:
                close = difflib.get_close_matches(name, names, n=1)
                hints.append(f"{name!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
            raise TypeError(
                f"{cls.__name__}() got unknown argument(s) {', '.join(hints)}; it takes: {', '.join(names)}."
            )
        if len(args) > len(positional):
            raise TypeError(
                f"{cls.__name__}() takes at most {len(positional)} positional argument(s) "
                f"({', '.join(positional) or 'none'}), got {len(args)}; pass the others by name: "
                f"{', '.join(n for n in names if n not in positional)}."
            )
        return super().__call__(*args, **kwargs)


def _check_count(name: str, value: Any, *, minimum: int = 0) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name} must be a whole number >= {minimum}, got {value!r}")


def _check_seconds(name: str, value: Any, *, allow_inf: bool = False) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value) or value < 0:
        raise ValueError(f"{name} must be a number of seconds >= 0, got {value!r}")
    if not allow_inf and math.isinf(value):
        raise ValueError(f"{name} must be finite, got {value!r}")


def _id_of(*parts: str | None) -> str:
    """A fault's id from the parts of the settings it was given (None: a setting not given)."""
    return ",".join(part for part in parts if part is not None)


@dataclass(frozen=True, slots=True, repr=False)
class Fault(metaclass=_FaultMeta):
    """Base class: ``interaction=`` index, ``match=`` predicate, ``times=`` limit."""

    _: KW_ONLY
    interaction: int | None = None
    match: Callable[[Request], bool] | None = None
    times: int | None = None

    stage: ClassVar[int] = CONTENT
    rank: ClassVar[int] = 0
    label: ClassVar[str] = "fault"
    # Optional settings (name -> what it is) of which one at least must be given: a fault
    # with none of them would do nothing.
    needs_one_of: ClassVar[Mapping[str, str]] = {}

    def __post_init__(self) -> None:
        _check_count("interaction", self.interaction)
        _check_count("times", self.times, minimum=1)
        if self.match is not None and not callable(self.match):
            raise TypeError(f"match must be a callable taking the request, got {self.match!r}")
        self._validate()
        if self.needs_one_of and all(getattr(self, name) is None for name in self.needs_one_of):
            needs = " and/or ".join(f"{name}= ({what})" for name, what in self.needs_one_of.items())
            raise ValueError(f"{type(self).__name__} needs {needs}")

    def _validate(self) -> None:
        return None

    # -- description ----------------------------------------------------------------------

    def __repr__(self) -> str:
        # Required arguments bare, then what differs from the defaults, the selectors last.
        common = {"interaction", "match", "times"}
        fields = [f for f in dataclasses.fields(self) if f.init]
        ordered = [f for f in fields if f.name not in common] + [f for f in fields if f.name in common]
        parts = []
        for f in ordered:
            value = getattr(self, f.name)
            required = f.default is dataclasses.MISSING
            if not required and value == f.default:
                continue
            shown = getattr(value, "__name__", None) if f.name == "match" else None
            parts.append(repr(value) if required else f"{f.name}={shown or repr(value)}")
        return f"{type(self).__name__}({', '.join(parts)})"

    @property
    def id(self) -> str:
        """A short readable name, used for test ids: ``finish=length``, ``truncate@3``."""
        out = self._id()
        if self.interaction is not None:
            out += f",#{self.interaction}"
        if self.times is not None:
            out += f",times={self.times}"
        return out

    def _id(self) -> str:
        return self.label

    # -- application ----------------------------------------------------------------------

    def selects(self, request: Request, index: int) -> bool:
        """Whether this fault targets the live ``request`` matched to interaction ``index``."""
        if self.interaction is not None and self.interaction != index:
            return False
        return self.match is None or bool(self.match(request))

    @abstractmethod
    def apply(self, draft: Draft, ctx: FaultContext) -> str | None:
        """Change ``draft``; return None when applied, else why the fault does not fit it."""
