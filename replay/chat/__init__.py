"""Chat-completion schemas (OpenAI-compatible and Anthropic) and stream assembly.

Example usage::

    from replay.chat import ChatCompletion, assemble_openai

    completion = assemble_openai(json.loads(e.data) for e in events if not e.is_done)
    assert isinstance(completion, ChatCompletion)
"""

from __future__ import annotations

from .anthropic_models import (
    AnthropicMessage,
    AnthropicStreamEvent,
    AnthropicUsage,
    ContentBlock,
    TextBlock,
    ThinkingBlock,
    ToolUseBlock,
    parse_anthropic_event,
)
from .assembled import Assembled, AssembledToolCall, assemble
from .assembly import ChatCompletionError, assemble_anthropic, assemble_openai, completion_of
from .openai_models import (
    ChatCompletion,
    ChatCompletionChunk,
    ChatMessage,
    Choice,
    ChoiceDelta,
    ChunkChoice,
    FunctionCall,
    ToolCall,
    ToolCallDelta,
    Usage,
)
from .shapes import body_shape, payload_shape

__all__ = [
    "AnthropicMessage",
    "AnthropicStreamEvent",
    "AnthropicUsage",
    "Assembled",
    "AssembledToolCall",
    "ChatCompletion",
    "ChatCompletionChunk",
    "ChatCompletionError",
    "ChatMessage",
    "Choice",
    "ChoiceDelta",
    "ChunkChoice",
    "ContentBlock",
    "FunctionCall",
    "TextBlock",
    "ThinkingBlock",
    "ToolCall",
    "ToolCallDelta",
    "ToolUseBlock",
    "Usage",
    "assemble",
    "assemble_anthropic",
    "assemble_openai",
    "body_shape",
    "completion_of",
    "parse_anthropic_event",
    "payload_shape",
]
