"""Finish reasons and mid-stream errors in each API's own fields and values.

``FinishReason("length")`` means "the model stopped at its token limit" whatever the API; each
API spells it its own way and in its own field:

====================  ==========================================  ===========================
API (shape)           field                                        ``length`` becomes
====================  ==========================================  ===========================
openai                ``choices[i].finish_reason``                 ``length``
anthropic             ``stop_reason`` (``message_delta.delta``)    ``max_tokens``
responses             ``status`` + ``incomplete_details.reason``   ``incomplete`` /
                                                                   ``max_output_tokens``
gemini                ``candidates[i].finishReason``               ``MAX_TOKENS``
ollama                ``done_reason`` (the ``done`` line)          ``length``
bedrock               ``stopReason`` (``messageStop``)             ``max_tokens``
====================  ==========================================  ===========================

A reason with no well-known equivalent is written as given (providers invent new ones).

Example usage::

    rewrite_finish("gemini", {"candidates": [{"finishReason": "STOP"}]}, "messageStop", "length", 0)
"""

from __future__ import annotations

from typing import Any

from .shapes import Shape

__all__ = ["error_event_payload", "finish_value", "rewrite_finish"]

_GENERIC = {
    "stop": "stop",
    "end_turn": "stop",
    "eos": "stop",
    "stop_sequence": "stop",
    "completed": "stop",
    "STOP": "stop",
    "length": "length",
    "max_tokens": "length",
    "max_output_tokens": "length",
    "MAX_TOKENS": "length",
    "tool_calls": "tool_calls",
    "tool_use": "tool_calls",
    "function_call": "tool_calls",
    "content_filter": "content_filter",
    "refusal": "content_filter",
    "content_filtered": "content_filter",
    "SAFETY": "content_filter",
}
_SPELLINGS: dict[str, dict[str, str]] = {
    "gemini": {"stop": "STOP", "length": "MAX_TOKENS", "tool_calls": "STOP", "content_filter": "SAFETY"},
    "ollama": {"stop": "stop", "length": "length", "tool_calls": "stop", "content_filter": "stop"},
    "bedrock": {
        "stop": "end_turn",
        "length": "max_tokens",
        "tool_calls": "tool_use",
        "content_filter": "content_filtered",
    },
    "responses": {"length": "max_output_tokens", "content_filter": "content_filter"},
}


def finish_value(shape: Shape, reason: str) -> str:
    """``reason`` as the API of ``shape`` spells it (Responses: the incomplete reason, or
    ``completed`` for a normal stop)."""
    generic = _GENERIC.get(reason)
    if shape == "responses":
        if generic in ("stop", "tool_calls"):
            return "completed"
        return _SPELLINGS["responses"].get(generic or "", reason)
    if generic is None or shape not in _SPELLINGS:
        return reason
    return _SPELLINGS[shape][generic]


def _candidates(data: dict[str, Any], choice: int, value: str) -> dict[str, Any] | None:
    candidates = data.get("candidates")
    if not isinstance(candidates, list):
        return None
    hit = False
    out = []
    for i, c in enumerate(candidates):
        if isinstance(c, dict) and c.get("index", i) == choice and c.get("finishReason"):
            c = {**c, "finishReason": value}
            hit = True
        out.append(c)
    return {**data, "candidates": out} if hit else None


def _responses(data: dict[str, Any], value: str) -> tuple[dict[str, Any], str | None] | None:
    """A Responses stream event ``response.completed``/``response.incomplete`` or a whole
    response object, with status and ``incomplete_details`` set."""
    kind = data.get("type")
    inner = data.get("response") if kind in ("response.completed", "response.incomplete") else None
    target = inner if isinstance(inner, dict) else (data if data.get("object") == "response" else None)
    if target is None:
        return None
    if value == "completed":
        target = {**target, "status": "completed", "incomplete_details": None}
        name = "response.completed"
    else:
        target = {**target, "status": "incomplete", "incomplete_details": {"reason": value}}
        name = "response.incomplete"
    if isinstance(inner, dict):
        return {**data, "type": name, "response": target}, name
    return target, None


def rewrite_finish(
    shape: Shape, data: Any, name: str | None, reason: str, choice: int = 0
) -> tuple[Any, str | None] | None:
    """The payload with its finish reason replaced, and the event's new name if it changes
    (a Responses ``response.completed`` becomes ``response.incomplete``); None when this
    payload carries no finish reason. OpenAI and Anthropic are rewritten by the faults
    themselves (their chat models validate the result)."""
    if not isinstance(data, dict):
        return None
    value = finish_value(shape, reason)
    if shape == "gemini":
        new = _candidates(data, choice, value)
        return (new, None) if new is not None else None
    if shape == "ollama":
        if data.get("done") is True and choice == 0:
            return {**data, "done_reason": value}, None
        return None
    if shape == "bedrock":
        if ("stopReason" in data and (name == "messageStop" or "output" in data)) and choice == 0:
            return {**data, "stopReason": value}, None
        return None
    if shape == "responses":
        return _responses(data, value) if choice == 0 else None
    return None


def error_event_payload(
    shape: Shape | None, error_type: str | None, message: str | None, sequence_number: int = 0
) -> tuple[str | None, dict[str, Any]] | None:
    """(event name, JSON) of a mid-stream error in this API's form, for the shapes that are
    not OpenAI chat or Anthropic; None for those (see :func:`replay.providers.stream_error_payload`).

    Bedrock errors are event-stream exception messages: the name is the ``:exception-type``.
    """
    if shape == "responses":
        return "error", {
            "type": "error",
            "code": error_type or "server_error",
            "message": message or "The server had an error while processing your request.",
            "param": None,
            "sequence_number": sequence_number,
        }
    if shape == "gemini":
        return None, {
            "error": {
                "code": 500,
                "message": message or "An internal error has occurred. Please retry.",
                "status": error_type or "INTERNAL",
            }
        }
    if shape == "ollama":
        return None, {"error": message or error_type or "an error was encountered while running the model"}
    if shape == "bedrock":
        return error_type or "modelStreamErrorException", {
            "message": message or "The model stream was interrupted by an internal error."
        }
    return None
