"""Server-Sent Events framing (kept at this path for existing imports; the decoder lives in
:mod:`replay.model.framing.sse` beside the other framings)."""

from __future__ import annotations

from .framing.sse import SSEDecoder, SSEEvent, encode_event, iter_events, parse_events, split_at_events

__all__ = ["SSEDecoder", "SSEEvent", "encode_event", "iter_events", "parse_events", "split_at_events"]
