"""Stage 4, delivery: ``Latency``, ``Truncate``, ``Disconnect``, ``Stall``."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import KW_ONLY, dataclass
from typing import Any, ClassVar

from ..chat.finish import rewrite_finish
from ..errors import ReplayError
from ..model.cassette import StreamEnd
from .base import DELIVERY, Fault, _check_count, _check_seconds, _id_of
from .draft import Draft, FaultContext

__all__ = ["Disconnect", "Latency", "Stall", "Truncate"]

# ----------------------------------------------------------------------------------------
# delivery


@dataclass(frozen=True, slots=True, repr=False)
class Latency(Fault):
    """Change time to first byte (``ttfb``, seconds; later gaps kept) and/or scale every gap
    (``scale``: 2.0 twice as slow, 0.0 no gaps). A wait past the client's read timeout ends in
    the client library's ``ReadTimeout``.

    Example usage::

        faults=[Latency(ttfb=2.5)]
        faults=[Latency(scale=3)]
    """

    ttfb: float | None = None
    scale: float | None = None

    stage: ClassVar[int] = DELIVERY
    rank: ClassVar[int] = 0
    needs_one_of: ClassVar[Mapping[str, str]] = {
        "ttfb": "seconds to the response head",
        "scale": "gap factor",
    }

    def _validate(self) -> None:
        _check_seconds("ttfb", self.ttfb)
        _check_seconds("scale", self.scale)

    def _id(self) -> str:
        return _id_of(
            None if self.ttfb is None else f"ttfb={self.ttfb:g}s",
            None if self.scale is None else f"latency=x{self.scale:g}",
        )

    def apply(self, draft: Draft, ctx: FaultContext) -> str | None:
        head = draft.head_t
        scale = 1.0 if self.scale is None else float(self.scale)
        new_head = head * scale if self.ttfb is None else float(self.ttfb)

        def when(t: float) -> float:
            return new_head + (t - head) * scale

        draft.head_t = new_head
        draft.set_body(draft.body.retime(when), content=False)
        if draft.end is not None and draft.end.t is not None:
            draft.end = draft.end.model_copy(update={"t": when(draft.end.t)})
        return None


@dataclass(frozen=True, slots=True, repr=False)
class _Positioned(Fault):
    """Where a delivery fault strikes: after N data events, after B bytes, right before the
    event carrying the finish reason, or by default in the middle of the body."""

    after_events: int | None = None
    _: KW_ONLY
    after_bytes: int | None = None
    before_finish: bool = False

    stage: ClassVar[int] = DELIVERY

    def _validate(self) -> None:
        _check_count("after_events", self.after_events)
        _check_count("after_bytes", self.after_bytes)
        if not isinstance(self.before_finish, bool):
            raise TypeError(f"before_finish must be True or False, got {self.before_finish!r}")
        given = [n for n in ("after_events", "after_bytes") if getattr(self, n) is not None]
        if self.before_finish:
            given.append("before_finish")
        if len(given) > 1:
            raise ValueError(
                f"{type(self).__name__}: {' and '.join(given)} contradict each other; give one position "
                "(after_events=N, after_bytes=B or before_finish=True), or none for the middle of the body"
            )

    def _where(self) -> str:
        if self.after_events is not None:
            return f"@{self.after_events}"
        if self.after_bytes is not None:
            return f"@{self.after_bytes}b"
        if self.before_finish:
            return "@finish"
        return ""

    def position(self, draft: Draft) -> tuple[int | None, str | None]:
        """The byte offset of the first byte not delivered, or why there is none."""
        n_bytes = len(draft.body)
        if self.after_bytes is not None:
            if self.after_bytes >= n_bytes:
                return None, f"the body has {n_bytes} bytes, so after_bytes={self.after_bytes} leaves nothing"
            return self.after_bytes, None
        if not draft.stream:
            if self.after_events is not None or self.before_finish:
                what = (
                    f"after_events={self.after_events}" if self.after_events is not None else "before_finish"
                )
                ctype = draft.header("content-type") or "no content-type"
                return (
                    None,
                    f"{what} needs an event stream and this body is not one ({ctype}); use after_bytes=",
                )
            if n_bytes < 2:
                return None, "the body is too short to cut in the middle"
            return n_bytes // 2, None
        events = draft.data_events()
        if self.before_finish:
            for payload in draft.payloads():
                if _has_finish(payload.data, payload.event.name):
                    return payload.event.start, None
            return None, "no event of the stream carries a finish reason"
        if self.after_events is None:
            if len(events) < 2:
                return None, f"the stream has {len(events)} data event(s), too few to cut in the middle"
            return events[max(1, len(events) // 2)].start, None
        if self.after_events >= len(events):
            return None, (
                f"the stream has only {len(events)} data events, so after_events={self.after_events} "
                "leaves none undelivered"
            )
        return events[self.after_events].start, None


def _has_finish(data: Any, name: str | None = None) -> bool:
    if not isinstance(data, dict):
        return False
    for shape in ("gemini", "ollama", "bedrock", "responses"):
        if rewrite_finish(shape, data, name, "stop") is not None:
            return True
    if data.get("type") == "message_delta":
        delta = data.get("delta")
        return isinstance(delta, dict) and bool(delta.get("stop_reason"))
    choices = data.get("choices")
    return isinstance(choices, list) and any(isinstance(c, dict) and c.get("finish_reason") for c in choices)


@dataclass(frozen=True, slots=True, repr=False)
class Truncate(_Positioned):
    """The body ends cleanly early: no finish chunk, no ``[DONE]``, no error (Content-Length
    follows). ``Truncate(after_events=3)`` delivers 3 events; ``before_finish=True`` cuts right
    before the finish chunk; ``after_bytes=B`` works on any body.

    Example usage::

        faults=[Truncate(after_events=3)]
        faults=[Truncate(before_finish=True)]
    """

    rank: ClassVar[int] = 1
    label: ClassVar[str] = "truncate"

    def _id(self) -> str:
        return self.label + self._where()

    def apply(self, draft: Draft, ctx: FaultContext) -> str | None:
        pos, why = self.position(draft)
        if pos is None:
            return why
        tail = draft.array_tail() if self.after_bytes is None else b""
        if tail:
            # Cut right after the last delivered element, then close the array as the server did.
            pos = max((e.end for e in draft.events() if e.end <= pos), default=pos)
        draft.set_body(draft.body.cut(pos), content=False)
        if tail:
            draft.insert_at(pos, tail)
        draft.end = None
        draft.fix_content_length()
        return None


@dataclass(frozen=True, slots=True, repr=False)
class Disconnect(_Positioned):
    """The connection drops mid-body. By default a clean close: the client library raises
    ``RemoteProtocolError`` ("peer closed connection without sending complete message body");
    ``reset=True`` is a reset: ``ReadError``. The openai SDK reports both as
    ``APIConnectionError``. The error comes when the next undelivered bytes were due.

    Example usage::

        faults=[Disconnect(after_events=5)]
        faults=[Disconnect(after_bytes=100, reset=True)]
    """

    _: KW_ONLY
    reset: bool = False

    rank: ClassVar[int] = 2

    def _validate(self) -> None:
        _Positioned._validate(self)
        if not isinstance(self.reset, bool):
            raise TypeError(f"reset must be True or False, got {self.reset!r}")

    def _id(self) -> str:
        return ("reset" if self.reset else "disconnect") + self._where()

    def apply(self, draft: Draft, ctx: FaultContext) -> str | None:
        pos, why = self.position(draft)
        if pos is None:
            return why
        t = draft.body.time_of_byte(pos)
        if self.reset:
            end = StreamEnd(kind="read_error", message="[Errno 104] Connection reset by peer", t=t)
        else:
            length = draft.header("content-length")
            detail = (
                f"received {pos} bytes, expected {length}"
                if length is not None and length.isdigit()
                else "incomplete chunked read"
            )
            message = f"peer closed connection without sending complete message body: {detail}"
            end = StreamEnd(kind="remote_protocol_error", message=message, t=t)
        draft.set_body(draft.body.cut(pos), content=False)
        draft.end = end
        return None


@dataclass(frozen=True, slots=True, repr=False)
class Stall(_Positioned):
    """The server goes silent for ``seconds`` (default: for ever) before the rest of the body.
    Past the client's read timeout the client library raises ``ReadTimeout`` at exactly that
    moment: in virtual timing at once, with the clock at the last byte + the read timeout. A
    shorter stall only delays the rest.

    Example usage::

        faults=[Stall(after_events=2, seconds=30)]
        faults=[Stall()]    # past any read timeout
    """

    _: KW_ONLY
    seconds: float | None = None

    rank: ClassVar[int] = 3
    label: ClassVar[str] = "stall"

    def _validate(self) -> None:
        _Positioned._validate(self)
        _check_seconds("seconds", self.seconds, allow_inf=True)

    def _id(self) -> str:
        return self.label + self._where() + (f"={self.seconds:g}s" if self.seconds is not None else "")

    def apply(self, draft: Draft, ctx: FaultContext) -> str | None:
        pos, why = self.position(draft)
        if pos is None:
            return why
        seconds = math.inf if self.seconds is None else float(self.seconds)
        if math.isinf(seconds) and ctx.read_timeout is None:
            raise ReplayError(
                f"{self!r} on {ctx.source}: the client has no read timeout (timeout=None), so a stall "
                "without end would hang the test for ever. Give seconds=, or set a read timeout on "
                "the client."
            )
        draft.set_body(draft.body.delay_from(pos, seconds), content=False)
        if draft.end is not None and draft.end.t is not None:
            draft.end = draft.end.model_copy(update={"t": draft.end.t + seconds})
        return None
