"""The one place ``replay.serve`` reaches into the engine.

The server reuses the engine's matching, fault injection, scrubbing, recording and atomic saving
rather than having its own. Every import of an engine module by the server goes through here, so
when the engine's modules move (the subpackage layout of DESIGN.md "Layers") only this file's
imports change.
"""

from __future__ import annotations

from collections.abc import Iterator

from .. import faults as fault_types
from ..chat.as_api import AsApiView, parse_as_api
from ..engine.matching import Matcher, request_parts
from ..errors import ReplayError
from ..faults.base import Fault
from ..faults.draft import FaultContext
from ..faults.injector import FaultInjector, FaultStatus
from ..io.persist import save_session
from ..io.storage import load_cassette
from ..model.cassette import Chunks, Interaction, Request, StreamEnd, header_value
from ..modes import RecordMode, Timing, parse_record_mode, parse_timing
from ..scrub.policy import Scrubber
from ..timing.base import REAL
from ..transport.streams import PendingRecording, ResponsePlan

__all__ = [
    "REAL",
    "SERVE_MATCH_ON",
    "AsApiView",
    "Fault",
    "FaultContext",
    "FaultInjector",
    "FaultStatus",
    "Interaction",
    "Matcher",
    "PendingRecording",
    "RecordMode",
    "ReplayError",
    "Request",
    "ResponsePlan",
    "Scrubber",
    "StreamEnd",
    "Timing",
    "fault_types",
    "header_value",
    "load_cassette",
    "parse_as_api",
    "parse_record_mode",
    "parse_timing",
    "plan_pairs",
    "request_parts",
    "save_session",
]

# A server answers on its own scheme, host and port, never the recorded ones: requests match on
# everything else the in-process default compares (method, URL path and query, body).
SERVE_MATCH_ON: tuple[str, ...] = ("method", "path", "query", "body")


def plan_pairs(plan: ResponsePlan) -> Iterator[tuple[float, bytes]]:
    """A plan's chunks as (offset, bytes), without building a Chunk object per recorded chunk."""
    chunks = plan.chunks
    if isinstance(chunks, Chunks):
        return chunks.pairs()
    return ((c.t, c.data) for c in chunks)
