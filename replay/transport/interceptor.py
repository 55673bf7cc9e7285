"""The contract between the patched HTTP clients and whatever answers their requests.

An :class:`Interceptor` (the native cassette session, the vcrpy bridge, ...) looks at one request
and says what happens to it: a :class:`~replay.transport.streams.ResponsePlan` to replay, or a
:class:`Recording` that will tap the live response. Everything else (waiting for the head,
raising a recorded head error, letting the recorded request through the network guard, wrapping
the body in the client library's stream classes) is written once here, in :func:`serve_sync`
and :func:`serve_async`, and every client adapter calls those.

Example, an interceptor that replays one fixed plan for every request::

    class Fixed:
        def __init__(self, plan: ResponsePlan, timing: TimingPolicy) -> None:
            self.plan, self.timing = plan, timing

        def handle(self, request: LiveRequest) -> ResponsePlan | Recording:
            return self.plan

        def schedule(self) -> Schedule:
            return self.timing.schedule()

    push_interceptor(Fixed(plan, timing))  # replay.transport.patch
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Protocol, runtime_checkable

from ..timing.clock import REAL, Schedule
from . import netguard
from .adapters import HttpLib, LiveRequest
from .streams import ChunkPlayer, ResponsePlan

__all__ = ["Interceptor", "Recording", "serve_async", "serve_sync"]


@runtime_checkable
class Recording(Protocol):
    """A request that goes to the network: ``wrap`` taps its live response (same object back)."""

    def wrap(self, response: Any, sent_at: float) -> Any:
        """Record ``response`` (sent at ``REAL.perf_counter()`` ``sent_at``) and return it."""
        ...


class Interceptor(Protocol):
    """What :mod:`replay.transport.patch` stacks: the innermost one answers each request."""

    def handle(self, request: LiveRequest) -> ResponsePlan | Recording:
        """Replay (a plan) or record (a :class:`Recording`); raise when neither is allowed."""
        ...

    def schedule(self) -> Schedule:
        """The timeline a replayed response is delivered on."""
        ...


def _replayed(lib: HttpLib, plan: ResponsePlan, schedule: Schedule, raw: Any) -> Any:
    if plan.head_end is not None:
        raise lib.transport_error(plan.head_end.kind, plan.head_end.message, raw)
    player = ChunkPlayer(plan, schedule, lib, raw)
    return lib.make_response(plan.status, _wire_headers(plan.headers), lib.replay_stream(player))


def _wire_headers(headers: Any) -> Any:
    """Header values as the clients encode them: a recorded non-ASCII value (the client decoded
    the server's UTF-8 bytes) goes back as UTF-8 bytes, which the client decodes to the same text."""
    if all(isinstance(v, str) and v.isascii() for _, v in headers):
        return headers
    return [
        (n.encode("latin-1") if isinstance(n, str) else n, v.encode("utf-8") if isinstance(v, str) else v)
        for n, v in headers
    ]


def serve_sync(interceptor: Interceptor, lib: HttpLib, raw: Any, send: Callable[[], Any]) -> Any:
    """Answer one request of a sync transport: ``send()`` is the real transport call."""
    answer = interceptor.handle(LiveRequest(lib, raw, raw.read()))
    if isinstance(answer, ResponsePlan):
        schedule = interceptor.schedule()
        schedule.wait(answer.head_t)
        return _replayed(lib, answer, schedule, raw)
    sent_at = REAL.perf_counter()
    with netguard.permit_recording(raw.url.host):
        response = send()
    return answer.wrap(response, sent_at)


async def serve_async(
    interceptor: Interceptor, lib: HttpLib, raw: Any, send: Callable[[], Awaitable[Any]]
) -> Any:
    """Answer one request of an async transport: ``send()`` is the real transport call."""
    answer = interceptor.handle(LiveRequest(lib, raw, await raw.aread()))
    if isinstance(answer, ResponsePlan):
        schedule = interceptor.schedule()
        await schedule.wait_async(answer.head_t)
        return _replayed(lib, answer, schedule, raw)
    sent_at = REAL.perf_counter()
    with netguard.permit_recording(raw.url.host):
        response = await send()
    return answer.wrap(response, sent_at)
