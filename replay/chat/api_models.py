"""Schemas of the non-chat-completion APIs' final objects (what a non-streamed call returns),
kept open (``extra="allow"``): the fields assembly reads are typed, anything else passes.

Example usage::

    GeminiResponse.model_validate(json.loads(body)).candidates[0].finishReason
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from .open_model import OpenModel

__all__ = [
    "BedrockConverseResponse",
    "GeminiCandidate",
    "GeminiResponse",
    "OllamaResponse",
    "ResponsesObject",
]


class ResponsesObject(OpenModel):
    """An OpenAI Responses API ``response`` object."""

    id: str
    object: str = "response"
    status: str | None = None
    model: str | None = None
    output: list[dict[str, Any]] = Field(default_factory=list)
    incomplete_details: dict[str, Any] | None = None
    usage: dict[str, Any] | None = None


class GeminiCandidate(OpenModel):
    content: dict[str, Any] | None = None
    finishReason: str | None = None
    index: int = 0


class GeminiResponse(OpenModel):
    """A Gemini ``GenerateContentResponse`` (or one chunk of a stream)."""

    candidates: list[GeminiCandidate] = Field(default_factory=list)
    usageMetadata: dict[str, Any] | None = None
    modelVersion: str | None = None


class OllamaResponse(OpenModel):
    """An Ollama ``/api/chat`` or ``/api/generate`` response (or one line of a stream)."""

    model: str
    created_at: str
    done: bool
    message: dict[str, Any] | None = None
    response: str | None = None
    done_reason: str | None = None
    prompt_eval_count: int | None = None
    eval_count: int | None = None


class BedrockConverseResponse(OpenModel):
    """A Bedrock ``Converse`` response."""

    output: dict[str, Any]
    stopReason: str
    usage: dict[str, Any] | None = None
