"""Shared pieces of the codecs: timed wire events to chunks, and the block structure of events.

Encoders emit ``(t, bytes)`` per wire event, each at the time of the neutral event it came
from; :func:`to_response` joins the events that share a time into one chunk (one network read),
so the target stream is read at exactly the source's offsets.

Example usage::

    response = to_response([(0.3, b"data: {}\\n\\n")], head_t=0.2, content_type="text/event-stream")
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from ...model.cassette import Chunks, Response
from ...model.framing import encode_event
from .model import (
    ChatResponse,
    Event,
    Finish,
    ReasoningDelta,
    StreamDone,
    TextDelta,
    ToolArgsDelta,
    ToolCallEnd,
    ToolCallStart,
    UsageReport,
)

__all__ = [
    "Block",
    "BlockClose",
    "BlockDelta",
    "BlockOpen",
    "WholeCalls",
    "blocks",
    "blocks_at",
    "dumps",
    "json_response",
    "sse",
    "to_response",
]

BlockKind = Literal["text", "reasoning", "tool"]


def dumps(obj: Any) -> str:
    """Compact JSON, as the providers send it."""
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


def sse(data: Any, event: str | None = None) -> bytes:
    """One SSE event; ``data`` is JSON-encoded unless it is already text."""
    return encode_event(data if isinstance(data, str) else dumps(data), event=event)


def to_response(
    timed: Sequence[tuple[float, bytes]], *, head_t: float, content_type: str, status: int = 200
) -> Response:
    """A response whose chunks are the wire events, those sharing a time joined into one read."""
    pairs: list[tuple[float, bytes]] = []
    for t, data in timed:
        if pairs and pairs[-1][0] == t:
            pairs[-1] = (t, pairs[-1][1] + data)
        else:
            pairs.append((max(t, head_t), data))
    return Response(
        status=status,
        t=head_t,
        headers=[("content-type", content_type)],
        chunks=Chunks.of(pairs),
    )


def json_response(obj: Any, *, t: float, head_t: float) -> Response:
    """A non-streaming JSON answer, its body arriving in one read at ``t``."""
    return to_response([(t, dumps(obj).encode())], head_t=head_t, content_type="application/json")


# -- block structure ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BlockOpen:
    """A content block opens: ``block`` numbers all blocks, ``tool`` the tool calls."""

    kind: BlockKind
    block: int
    tool: int = -1
    id: str = ""
    name: str = ""


@dataclass(frozen=True, slots=True)
class BlockDelta:
    kind: BlockKind
    block: int
    text: str
    tool: int = -1


@dataclass(frozen=True, slots=True)
class BlockClose:
    kind: BlockKind
    block: int
    tool: int = -1


Block = BlockOpen | BlockDelta | BlockClose


def blocks(response: ChatResponse) -> Iterator[tuple[int, Block]]:
    """The response's events as opened/filled/closed content blocks, keyed by event position.

    Text and reasoning runs become blocks that close when another block starts or the answer
    finishes (at that event's position); tool calls are blocks from their start to their end.
    APIs with explicit blocks (Anthropic, Bedrock, Responses) encode from this view.
    """
    open_kind: BlockKind | None = None
    block = -1
    tool_blocks: dict[int, int] = {}
    for pos, timed in enumerate(response.events):
        ev = timed.event
        kind: BlockKind | None = (
            "text" if isinstance(ev, TextDelta) else "reasoning" if isinstance(ev, ReasoningDelta) else None
        )
        if kind is not None and open_kind != kind:
            if open_kind in ("text", "reasoning"):
                yield pos, BlockClose(open_kind, block)
            block += 1
            open_kind = kind
            yield pos, BlockOpen(kind, block)
        if isinstance(ev, TextDelta | ReasoningDelta):
            yield pos, BlockDelta(kind or "text", block, ev.text)
            continue
        if isinstance(ev, ToolCallStart | Finish | UsageReport | StreamDone) and open_kind in (
            "text",
            "reasoning",
        ):
            yield pos, BlockClose(open_kind, block)
            open_kind = None
        if isinstance(ev, ToolCallStart):
            block += 1
            tool_blocks[ev.index] = block
            open_kind = "tool"
            yield pos, BlockOpen("tool", block, ev.index, ev.id, ev.name)
        elif isinstance(ev, ToolArgsDelta) and ev.index in tool_blocks:
            yield pos, BlockDelta("tool", tool_blocks[ev.index], ev.arguments, ev.index)
        elif isinstance(ev, ToolCallEnd) and ev.index in tool_blocks:
            yield pos, BlockClose("tool", tool_blocks.pop(ev.index), ev.index)
            open_kind = None
    last = len(response.events) - 1
    if open_kind in ("text", "reasoning"):
        yield last, BlockClose(open_kind, block)
    for index, b in tool_blocks.items():
        yield last, BlockClose("tool", b, index)


def blocks_at(response: ChatResponse) -> dict[int, list[Block]]:
    """:func:`blocks`, grouped by the position of the event they come at."""
    at: dict[int, list[Block]] = {}
    for pos, op in blocks(response):
        at.setdefault(pos, []).append(op)
    return at


class WholeCalls:
    """Tool calls gathered from their events, for APIs that send a call whole (Gemini, Ollama)."""

    def __init__(self) -> None:
        self._open: dict[int, tuple[str, str, str]] = {}  # index -> id, name, arguments so far

    def feed(self, ev: Event) -> tuple[str, str, Any] | None:
        """The call ``ev`` completes, as ``(id, name, arguments)``; arguments not JSON become ``{}``."""
        if isinstance(ev, ToolCallStart):
            self._open[ev.index] = (ev.id, ev.name, "")
        elif isinstance(ev, ToolArgsDelta) and ev.index in self._open:
            cid, name, args = self._open[ev.index]
            self._open[ev.index] = (cid, name, args + ev.arguments)
        elif isinstance(ev, ToolCallEnd) and ev.index in self._open:
            cid, name, args = self._open.pop(ev.index)
            try:
                return cid, name, json.loads(args or "{}")
            except ValueError:
                return cid, name, {}
        return None
