"""A request the native cassette session records (the Interceptor's :class:`Recording`)."""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..timing.clock import REAL, TimingPolicy, VirtualTiming
from ..transport.adapters import LiveRequest
from ..transport.streams import PendingRecording

if TYPE_CHECKING:
    from .player import ActiveCassette

__all__ = ["NativeRecording"]


class NativeRecording:
    """A request being recorded. From now until its body ends the virtual timeline (if any)
    follows real time; if the request fails before a response exists, the end comes when this
    object is dropped."""

    __slots__ = ("__weakref__", "_finalizer", "live_done", "request", "session", "virtual_base")

    def __init__(
        self,
        session: ActiveCassette,
        request: LiveRequest,
        virtual_base: float | None,
        live_done: Callable[[], None],
    ) -> None:
        self.session = session
        self.request = request
        self.virtual_base = virtual_base
        self.live_done = live_done
        self._finalizer = weakref.finalize(self, live_done)

    def wrap(self, response: Any, sent_at: float) -> Any:
        self._finalizer.detach()  # the recording's body end ends live time from here on
        session, lib = self.session, self.request.lib
        head_t = REAL.perf_counter() - sent_at
        status, headers = lib.response_head(response)
        pending = PendingRecording(self.request, status, headers, sent_at, head_t, on_done=self.live_done)
        session.note_recording(pending)
        on_chunk = _clock_follower(session.timing, self.virtual_base, head_t)
        return lib.attach_recording(response, pending, on_chunk, on_drain=session.note_drain)


def _clock_follower(
    timing: TimingPolicy, virtual_base: float | None, head_t: float
) -> Callable[[float], None] | None:
    """new_episodes under virtual timing: a recorded request runs in real time, and the virtual
    clock follows it so the application sees the real durations."""
    clock = timing.clock if isinstance(timing, VirtualTiming) else None
    if clock is None or virtual_base is None:
        return None
    clock.advance_to(virtual_base + head_t)

    def on_chunk(t: float) -> None:
        clock.advance_to(virtual_base + t)

    return on_chunk
