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

import contextlib
from collections.abc import Awaitable, Callable, Iterator
from contextvars import ContextVar
from typing import Any, Protocol, runtime_checkable

from ..timing.base import REAL, Schedule
from . import netguard
from .adapters import LiveRequest
from .clientlib import ClientLib
from .streams import ChunkPlayer, ResponsePlan

__all__ = ["PASS_THROUGH", "Interceptor", "Recording", "passing_through", "serve_async", "serve_sync"]

# Set while a request being recorded goes down to the network: an adapter below the one that
# served it (httpx-aiohttp's transport calls aiohttp, a custom transport calls HTTPTransport)
# must let it pass instead of recording it a second time.
_PASSING: ContextVar[bool] = ContextVar("llm_replay_passing", default=False)


def passing_through() -> bool:
    """True inside a request that an outer adapter already serves (let it through unchanged)."""
    return _PASSING.get()


@contextlib.contextmanager
def _pass_through() -> Iterator[None]:
    token = _PASSING.set(True)
    try:
        yield
    finally:
        _PASSING.reset(token)


@runtime_checkable
class Recording(Protocol):
    """A request that goes to the network: ``wrap`` taps its live response (same object back)."""

    def wrap(self, response: Any, sent_at: float) -> Any:
        """Record ``response`` (sent at ``REAL.perf_counter()`` ``sent_at``) and return it."""
        ...


class Interceptor(Protocol):
    """What :mod:`replay.transport.patch` stacks: the innermost one answers each request.

    Optional: an interceptor that cannot answer requests sent through ``http.client`` directly
    (``urllib.request``, ``httplib2``) defines ``refuse_direct(connection, method, url)``, called
    before such a request is sent; it raises to refuse it, or returns to let it go to the network.
    """

    def handle(self, request: LiveRequest) -> ResponsePlan | Recording:
        """Replay (a plan) or record (a :class:`Recording`); raise when neither is allowed."""
        ...

    def schedule(self) -> Schedule:
        """The timeline a replayed response is delivered on."""
        ...


class _PassThrough:
    """A request sent to the network untouched: its response is handed back as it is."""

    def wrap(self, response: Any, sent_at: float) -> Any:
        return response


PASS_THROUGH: Recording = _PassThrough()


def _replayed(lib: ClientLib, plan: ResponsePlan, schedule: Schedule, raw: Any) -> Any:
    if plan.head_end is not None:
        schedule.release()
        raise lib.head_error(plan.head_end.kind, plan.head_end.message, raw)
    return lib.replayed_response(plan, ChunkPlayer(plan, schedule, lib, raw), raw)


def serve_sync(interceptor: Interceptor, lib: ClientLib, raw: Any, send: Callable[[], Any]) -> Any:
    """Answer one request of a sync transport: ``send()`` is the real transport call."""
    answer = interceptor.handle(LiveRequest(lib, raw, lib.request_body(raw)))
    if isinstance(answer, ResponsePlan):
        schedule = interceptor.schedule()
        schedule.wait(answer.head_t)
        return _replayed(lib, answer, schedule, raw)
    sent_at = REAL.perf_counter()
    with netguard.permit_recording(lib.request_host(raw)), _pass_through():
        response = send()
    return answer.wrap(response, sent_at)


async def serve_async(
    interceptor: Interceptor, lib: ClientLib, raw: Any, send: Callable[[], Awaitable[Any]]
) -> Any:
    """Answer one request of an async transport: ``send()`` is the real transport call."""
    answer = interceptor.handle(LiveRequest(lib, raw, await lib.request_body_async(raw)))
    if isinstance(answer, ResponsePlan):
        schedule = interceptor.schedule()
        await schedule.wait_async(answer.head_t)
        return _replayed(lib, answer, schedule, raw)
    sent_at = REAL.perf_counter()
    with netguard.permit_recording(lib.request_host(raw)), _pass_through():
        response = await send()
    return answer.wrap(response, sent_at)
