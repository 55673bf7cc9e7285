"""Stage 3, framing: ``Rechunk`` re-splits the body (bytes, events, line endings)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar, Literal

from .base import FRAMING, Fault, _check_count, _id_of
from .draft import Draft, FaultContext

__all__ = ["Rechunk"]

# ----------------------------------------------------------------------------------------
# framing


_EOLS = {"\n": "lf", "\r\n": "crlf", "\r": "cr"}


@dataclass(frozen=True, slots=True, repr=False)
class Rechunk(Fault):
    """The same body in other network reads: ``size`` bytes each (``Rechunk(1)`` splits every
    event at every byte); ``eol`` rewrites an event stream's line endings (``"\\r\\n"``,
    ``"\\r"`` or ``"\\n"``), which SSE treats alike. Each read arrives when its last byte did.

    Example usage::

        faults=[Rechunk(1)]
        faults=[Rechunk(7, eol="\\r\\n")]
    """

    size: int | None = None
    eol: Literal["\n", "\r\n", "\r"] | None = None

    stage: ClassVar[int] = FRAMING
    needs_one_of: ClassVar[Mapping[str, str]] = {"size": "bytes per read", "eol": "line endings"}

    def _validate(self) -> None:
        _check_count("size", self.size, minimum=1)
        if self.eol is not None and self.eol not in _EOLS:
            raise ValueError(f"Rechunk eol must be one of '\\n', '\\r\\n', '\\r', got {self.eol!r}")

    def _id(self) -> str:
        return _id_of(
            None if self.size is None else f"rechunk={self.size}",
            None if self.eol is None else f"eol={_EOLS[self.eol]}",
        )

    def apply(self, draft: Draft, ctx: FaultContext) -> str | None:
        if not len(draft.body):
            return "the body is empty"
        if self.eol is not None:
            if draft.framing != "sse":
                what = f"a {draft.framing} stream" if draft.framing else "not a stream"
                return f"eol= applies to SSE streams (any line ending parses alike); this body is {what}"
            data = draft.body.data
            edits: list[tuple[int, int, bytes]] = []
            new = self.eol.encode()
            i = 0
            n = len(data)
            while i < n:
                byte = data[i]
                if byte == 0x0D:
                    end = i + 2 if i + 1 < n and data[i + 1] == 0x0A else i + 1
                elif byte == 0x0A:
                    end = i + 1
                else:
                    i += 1
                    continue
                if data[i:end] != new:
                    edits.append((i, end, new))
                i = end
            draft.set_body(draft.body.edit(edits, default_t=draft.head_t))
        if self.size is not None:
            draft.set_body(draft.body.rechunk(self.size), content=False)
        return None
