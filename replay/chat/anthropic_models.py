"""Anthropic messages: the non-streamed ``Message`` and the stream's events, as pydantic models.

Content blocks and stream events are told apart by their ``type``; types this module does not
know (new server tools, new delta kinds) validate as the generic :class:`OtherBlock` /
:class:`OtherEvent` / :class:`OtherDelta` with every field kept. ``stop_reason`` is an open
string (``end_turn``, ``max_tokens``, ``tool_use``, ``stop_sequence``, ``refusal``,
``pause_turn``...).

Example usage::

    from replay.chat import parse_anthropic_event

    event = parse_anthropic_event(sse.data)
    if event.type == "message_delta":
        print(event.delta.stop_reason)
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Discriminator, Field, Tag, TypeAdapter

from .open_model import OpenModel
from .shapes import ANTHROPIC_EVENT_TYPES

__all__ = [
    "AnthropicMessage",
    "AnthropicStreamEvent",
    "AnthropicUsage",
    "ContentBlock",
    "ContentBlockDeltaEvent",
    "ContentBlockStartEvent",
    "ContentBlockStopEvent",
    "ErrorDetail",
    "ErrorEvent",
    "InputJsonDelta",
    "MessageDelta",
    "MessageDeltaEvent",
    "MessageStartEvent",
    "MessageStopEvent",
    "OtherBlock",
    "OtherDelta",
    "OtherEvent",
    "PingEvent",
    "SignatureDelta",
    "TextBlock",
    "TextDelta",
    "ThinkingBlock",
    "ThinkingDelta",
    "ToolUseBlock",
    "parse_anthropic_event",
]


def _type_of(value: Any) -> str:
    if isinstance(value, dict):
        return str(value.get("type", ""))
    return str(getattr(value, "type", ""))


# -- content blocks ------------------------------------------------------------------------


class TextBlock(OpenModel):
    type: Literal["text"] = "text"
    text: str = ""


class ToolUseBlock(OpenModel):
    type: Literal["tool_use"] = "tool_use"
    id: str
    name: str
    input: Any = Field(default_factory=dict)


class ThinkingBlock(OpenModel):
    type: Literal["thinking"] = "thinking"
    thinking: str = ""
    signature: str | None = None


class OtherBlock(OpenModel):
    """A block of a type not modelled here (``redacted_thinking``, server tool results...)."""

    type: str


_BLOCKS = {"text", "tool_use", "thinking"}


def _block_tag(value: Any) -> str:
    kind = _type_of(value)
    return kind if kind in _BLOCKS else "other"


ContentBlock = Annotated[
    Annotated[TextBlock, Tag("text")]
    | Annotated[ToolUseBlock, Tag("tool_use")]
    | Annotated[ThinkingBlock, Tag("thinking")]
    | Annotated[OtherBlock, Tag("other")],
    Discriminator(_block_tag),
]


class AnthropicUsage(OpenModel):
    input_tokens: int | None = None
    output_tokens: int | None = None


class AnthropicMessage(OpenModel):
    """A complete message (what a non-streaming ``messages.create`` returns)."""

    id: str = ""
    type: Literal["message"] = "message"
    role: str = "assistant"
    model: str = ""
    content: list[ContentBlock] = Field(default_factory=list)
    stop_reason: str | None = None
    stop_sequence: str | None = None
    usage: AnthropicUsage | None = None

    @property
    def text(self) -> str:
        """The text blocks joined."""
        return "".join(b.text for b in self.content if isinstance(b, TextBlock))


# -- stream deltas -------------------------------------------------------------------------


class TextDelta(OpenModel):
    type: Literal["text_delta"] = "text_delta"
    text: str = ""


class InputJsonDelta(OpenModel):
    type: Literal["input_json_delta"] = "input_json_delta"
    partial_json: str = ""


class ThinkingDelta(OpenModel):
    type: Literal["thinking_delta"] = "thinking_delta"
    thinking: str = ""


class SignatureDelta(OpenModel):
    type: Literal["signature_delta"] = "signature_delta"
    signature: str = ""


class OtherDelta(OpenModel):
    """A delta of a type not modelled here (``citations_delta``...)."""

    type: str


_DELTAS = {"text_delta", "input_json_delta", "thinking_delta", "signature_delta"}


def _delta_tag(value: Any) -> str:
    kind = _type_of(value)
    return kind if kind in _DELTAS else "other"


BlockDelta = Annotated[
    Annotated[TextDelta, Tag("text_delta")]
    | Annotated[InputJsonDelta, Tag("input_json_delta")]
    | Annotated[ThinkingDelta, Tag("thinking_delta")]
    | Annotated[SignatureDelta, Tag("signature_delta")]
    | Annotated[OtherDelta, Tag("other")],
    Discriminator(_delta_tag),
]


# -- stream events -------------------------------------------------------------------------


class MessageStartEvent(OpenModel):
    type: Literal["message_start"] = "message_start"
    message: AnthropicMessage


class ContentBlockStartEvent(OpenModel):
    type: Literal["content_block_start"] = "content_block_start"
    index: int
    content_block: ContentBlock


class ContentBlockDeltaEvent(OpenModel):
    type: Literal["content_block_delta"] = "content_block_delta"
    index: int
    delta: BlockDelta


class ContentBlockStopEvent(OpenModel):
    type: Literal["content_block_stop"] = "content_block_stop"
    index: int


class MessageDelta(OpenModel):
    stop_reason: str | None = None
    stop_sequence: str | None = None


class MessageDeltaEvent(OpenModel):
    type: Literal["message_delta"] = "message_delta"
    delta: MessageDelta = Field(default_factory=MessageDelta)
    usage: AnthropicUsage | None = None


class MessageStopEvent(OpenModel):
    type: Literal["message_stop"] = "message_stop"


class PingEvent(OpenModel):
    type: Literal["ping"] = "ping"


class ErrorDetail(OpenModel):
    type: str = "api_error"
    message: str = ""


class ErrorEvent(OpenModel):
    """A mid-stream error (``event: error``), e.g. ``overloaded_error``."""

    type: Literal["error"] = "error"
    error: ErrorDetail = Field(default_factory=ErrorDetail)


class OtherEvent(OpenModel):
    type: str


def _event_tag(value: Any) -> str:
    kind = _type_of(value)
    return kind if kind in ANTHROPIC_EVENT_TYPES else "other"


AnthropicStreamEvent = Annotated[
    Annotated[MessageStartEvent, Tag("message_start")]
    | Annotated[ContentBlockStartEvent, Tag("content_block_start")]
    | Annotated[ContentBlockDeltaEvent, Tag("content_block_delta")]
    | Annotated[ContentBlockStopEvent, Tag("content_block_stop")]
    | Annotated[MessageDeltaEvent, Tag("message_delta")]
    | Annotated[MessageStopEvent, Tag("message_stop")]
    | Annotated[PingEvent, Tag("ping")]
    | Annotated[ErrorEvent, Tag("error")]
    | Annotated[OtherEvent, Tag("other")],
    Discriminator(_event_tag),
]

_EVENT_ADAPTER: TypeAdapter[Any] = TypeAdapter(AnthropicStreamEvent)


def parse_anthropic_event(data: str | bytes | dict[str, Any]) -> Any:
    """Validate one stream event (JSON text or an already-parsed mapping)."""
    if isinstance(data, dict):
        return _EVENT_ADAPTER.validate_python(data)
    return _EVENT_ADAPTER.validate_json(data)
