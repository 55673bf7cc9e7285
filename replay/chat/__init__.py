"""Chat-completion schemas (OpenAI-compatible and Anthropic) and stream assembly.

Example usage::

    from replay.chat import ChatCompletion, assemble_openai

    completion = assemble_openai(json.loads(e.data) for e in events if not e.is_done)
    assert isinstance(completion, ChatCompletion)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..lazy import lazy_attributes

if TYPE_CHECKING:
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

# Loaded at first use: the fault stages import chat.shapes, and must not pay for the pydantic
# models and assembly of every API on a cassette's first open.
_HOMES = {
    "AnthropicMessage": "anthropic_models",
    "AnthropicStreamEvent": "anthropic_models",
    "AnthropicUsage": "anthropic_models",
    "Assembled": "assembled",
    "AssembledToolCall": "assembled",
    "ChatCompletion": "openai_models",
    "ChatCompletionChunk": "openai_models",
    "ChatCompletionError": "assembly",
    "ChatMessage": "openai_models",
    "Choice": "openai_models",
    "ChoiceDelta": "openai_models",
    "ChunkChoice": "openai_models",
    "ContentBlock": "anthropic_models",
    "FunctionCall": "openai_models",
    "TextBlock": "anthropic_models",
    "ThinkingBlock": "anthropic_models",
    "ToolCall": "openai_models",
    "ToolCallDelta": "openai_models",
    "ToolUseBlock": "anthropic_models",
    "Usage": "openai_models",
    "assemble": "assembled",
    "assemble_anthropic": "assembly",
    "assemble_openai": "assembly",
    "body_shape": "shapes",
    "completion_of": "assembly",
    "parse_anthropic_event": "anthropic_models",
    "payload_shape": "shapes",
}
__getattr__ = lazy_attributes(__name__, _HOMES, globals())
