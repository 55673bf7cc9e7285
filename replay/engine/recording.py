"""A request the native cassette session records (the Interceptor's :class:`Recording`)."""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..transport.adapters import LiveRequest

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
        return self.session._wrap_recording(
            self.request.lib, self.request, response, sent_at, self.virtual_base, self.live_done
        )
