"""OpenAI-compatible chat completions: the non-streamed ``ChatCompletion`` and the streamed
``ChatCompletionChunk``, as pydantic models.

One schema serves every OpenAI-compatible provider (OpenAI, Azure, Together, Groq, Mistral,
DeepSeek, vLLM...): fields providers add (Together's ``seed`` and ``prompt`` echo, Azure's
``content_filter_results``, Groq's ``x_groq``) are kept as extra fields, never dropped, and
``finish_reason`` is an open string (``stop``, ``length``, ``eos``, ``tool_calls``,
``content_filter``, ``function_call``, ``error``... and ``None`` mid-stream), because providers
invent new ones.

Example usage::

    from replay.chat import ChatCompletionChunk

    chunk = ChatCompletionChunk.model_validate_json(event.data)
    text = "".join(c.delta.content or "" for c in chunk.choices)
"""

from __future__ import annotations

from typing import Any, Generic, TypeVar

from pydantic import Field

from .open_model import OpenModel

__all__ = [
    "ChatCompletion",
    "ChatCompletionChunk",
    "ChatMessage",
    "Choice",
    "ChoiceDelta",
    "ChunkChoice",
    "FunctionCall",
    "ToolCall",
    "ToolCallDelta",
    "Usage",
]


class FunctionCall(OpenModel):
    """A function name and its JSON arguments (a fragment of them, in a stream)."""

    name: str | None = None
    arguments: str | None = None


class ToolCall(OpenModel):
    """A complete tool call in a message."""

    id: str | None = None
    type: str = "function"
    function: FunctionCall = Field(default_factory=FunctionCall)


class ToolCallDelta(OpenModel):
    """A piece of a streamed tool call; pieces with the same ``index`` form one call."""

    index: int = 0
    id: str | None = None
    type: str | None = None
    function: FunctionCall | None = None


class ChatMessage(OpenModel):
    """The assistant's message in a non-streamed choice."""

    role: str = "assistant"
    content: str | None = None
    refusal: str | None = None
    tool_calls: list[ToolCall] | None = None
    function_call: FunctionCall | None = None


class ChoiceDelta(OpenModel):
    """What one streamed chunk adds to a choice."""

    role: str | None = None
    content: str | None = None
    refusal: str | None = None
    tool_calls: list[ToolCallDelta] | None = None
    function_call: FunctionCall | None = None


class Choice(OpenModel):
    index: int = 0
    message: ChatMessage = Field(default_factory=ChatMessage)
    finish_reason: str | None = None
    # OpenAI: {"content": [...], "refusal": [...]}; Together: {"tokens": [...], ...}.
    logprobs: Any = None


class ChunkChoice(OpenModel):
    index: int = 0
    delta: ChoiceDelta = Field(default_factory=ChoiceDelta)
    finish_reason: str | None = None
    # OpenAI: {"content": [...]}; Together streams one float per token.
    logprobs: Any = None


class Usage(OpenModel):
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    total_tokens: int | None = None


_ChoiceT = TypeVar("_ChoiceT", Choice, ChunkChoice)


class _Completion(OpenModel, Generic[_ChoiceT]):
    """What a completion and a chunk of one share; they differ in ``object`` and the choices' kind."""

    id: str = ""
    object: str
    created: int = 0
    model: str = ""
    choices: list[_ChoiceT]
    usage: Usage | None = None
    system_fingerprint: str | None = None


class ChatCompletion(_Completion[Choice]):
    """A non-streamed chat completion (``object: chat.completion``)."""

    object: str = "chat.completion"

    def choice(self, index: int = 0) -> Choice:
        """The choice with this ``index`` (choices are not always in order)."""
        for choice in self.choices:
            if choice.index == index:
                return choice
        raise LookupError(f"the completion has no choice with index {index} ({len(self.choices)} choices)")

    @property
    def finish_reasons(self) -> list[str | None]:
        return [c.finish_reason for c in sorted(self.choices, key=lambda c: c.index)]


class ChatCompletionChunk(_Completion[ChunkChoice]):
    """One streamed chunk (``object: chat.completion.chunk``); ``choices`` is empty on a
    usage-only final chunk and on Azure's leading prompt-filter chunk."""

    object: str = "chat.completion.chunk"
