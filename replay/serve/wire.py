"""Playing a response plan onto a real socket, faults with their network meaning.

Each recorded chunk is one write (one HTTP/1.1 chunk when the body is chunked), sent at its
absolute deadline ``arrival + t / speed`` on a socket with Nagle's algorithm off. The ending of
a plan (a recorded failure or a fault) happens at its time, as a real server's would:

- ``remote_protocol_error`` (Disconnect, a peer that closed mid-body): the socket is closed
  (FIN) with the body incomplete (no terminating chunk, or fewer bytes than Content-Length);
- ``read_error`` (``Disconnect(reset=True)``): the socket is reset (RST, ``SO_LINGER`` 0);
- ``read_timeout`` (the recording ended in the client's timeout) and infinite stalls: silence
  until the client gives up;
- ``closed_early`` (the recording's client stopped reading): the socket is closed mid-body,
  since what came next was never received.
"""

from __future__ import annotations

import socket
import struct
from dataclasses import dataclass

from aiohttp import web

from .engine_link import REAL, ResponsePlan, StreamEnd, Timing, header_value, plan_pairs
from .timing import PreciseTimer

__all__ = ["HOP_BY_HOP", "Pace", "cut_connection", "play", "set_nodelay"]

# Per-connection headers: they describe the recorded (or upstream) connection, not this one.
HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer", "upgrade"}
)


@dataclass(frozen=True, slots=True)
class Pace:
    """When a chunk at offset ``t`` leaves: ``base + t / speed`` (real), or at once (instant)."""

    timer: PreciseTimer
    timing: Timing
    speed: float

    async def wait(self, base: float, t: float) -> None:
        if self.timing is Timing.REAL:
            await self.timer.wait_until(base + t / self.speed)


def set_nodelay(request: web.Request) -> None:
    """Nagle's algorithm off (aiohttp does it too; a chunk must never wait for the next)."""
    transport = request.transport
    sock = transport.get_extra_info("socket") if transport is not None else None
    if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


async def cut_connection(request: web.Request, end: StreamEnd) -> None:
    """End the connection the way ``end`` says the recorded (or faulted) one ended."""
    transport = request.transport
    if transport is None or transport.is_closing():
        return
    if end.kind == "read_timeout":
        await PreciseTimer().wait_until(float("inf"))
    if end.kind == "read_error":
        # Bytes already written must reach the client before the reset, as on a real link.
        for _ in range(1000):
            if transport.get_write_buffer_size() == 0:
                break
            await REAL.asyncio_sleep(0.001)
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        transport.abort()
    else:
        transport.close()


def _response_for(plan: ResponsePlan) -> web.StreamResponse:
    response = web.StreamResponse(status=plan.status)
    for name, value in plan.headers:
        if name.lower() not in HOP_BY_HOP:
            response.headers.add(name, value)
    length = header_value(plan.headers, "content-length")
    if length is None or not length.isdigit():
        response.headers.popall("content-length", None)
        response.enable_chunked_encoding()
    return response


async def play(request: web.Request, plan: ResponsePlan, base: float, pace: Pace) -> web.StreamResponse:
    """Send ``plan`` as the answer to ``request``, which arrived at ``base`` (perf_counter)."""
    await pace.wait(base, plan.head_t)
    if plan.head_end is not None:
        await cut_connection(request, plan.head_end)
        return web.Response()  # aiohttp finds the connection closed and sends nothing
    response = _response_for(plan)
    set_nodelay(request)
    await response.prepare(request)
    for t, data in plan_pairs(plan):
        if data:
            await pace.wait(base, t)
            await response.write(data)
    end = plan.end
    if end is not None:
        if end.t is not None:
            await pace.wait(base, end.t)
        await cut_connection(request, end)
        return response  # aiohttp's write_eof finds the connection closed: no terminating chunk
    await response.write_eof()
    return response
