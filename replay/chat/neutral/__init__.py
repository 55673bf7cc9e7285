"""The provider-neutral chat exchange (:mod:`.model`) and the wire helpers codecs share (:mod:`.wire`).

Example usage::

    from replay.chat.neutral import ChatResponse, TextDelta, Timed

    response = ChatResponse(events=(Timed(0.3, TextDelta("Hello")),))
"""

from __future__ import annotations

from .model import (
    FINISH_REASONS,
    ChatRequest,
    ChatResponse,
    Event,
    Finish,
    FinishReason,
    Image,
    Message,
    Part,
    ReasoningDelta,
    Role,
    Start,
    StreamDone,
    Text,
    TextDelta,
    Timed,
    Tool,
    ToolArgsDelta,
    ToolCall,
    ToolCallEnd,
    ToolCallStart,
    ToolResult,
    UsageReport,
    merge_messages,
)

__all__ = [
    "FINISH_REASONS",
    "ChatRequest",
    "ChatResponse",
    "Event",
    "Finish",
    "FinishReason",
    "Image",
    "Message",
    "Part",
    "ReasoningDelta",
    "Role",
    "Start",
    "StreamDone",
    "Text",
    "TextDelta",
    "Timed",
    "Tool",
    "ToolArgsDelta",
    "ToolCall",
    "ToolCallEnd",
    "ToolCallStart",
    "ToolResult",
    "UsageReport",
    "merge_messages",
]
