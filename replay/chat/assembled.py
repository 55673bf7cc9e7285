"""One neutral summary of a response, whatever the API: text, tool calls, finish reason, usage.

:meth:`replay.Response.chat_completion` gives the native object of chat-completion APIs;
:func:`assemble` (``Response.assembled()``) reads every API this project knows, streamed or not:
OpenAI chat and Responses, Anthropic, Gemini, Ollama, Bedrock Converse / ConverseStream and
InvokeModel streams (whose chunks carry the model's own API).

Example usage::

    result = cassette.interactions[0].response.assembled()
    result.api, result.text, result.finish_reason, result.output_tokens
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from .api_models import BedrockConverseResponse, GeminiResponse, OllamaResponse, ResponsesObject
from .assembly import ChatCompletionError, assemble_anthropic, assemble_openai
from .shapes import Payload, Shape, iter_payloads

if TYPE_CHECKING:
    from ..model.cassette import Response

__all__ = ["Assembled", "AssembledToolCall", "assemble"]


@dataclass(frozen=True, slots=True)
class AssembledToolCall:
    """A tool call: its id (when the API gives one), name, and arguments as JSON text."""

    name: str
    arguments: str
    id: str | None = None


@dataclass(slots=True)
class Assembled:
    """What the model said, in any API's terms (see the module docstring)."""

    api: Shape
    text: str = ""
    tool_calls: list[AssembledToolCall] = field(default_factory=list)
    finish_reason: str | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    model: str | None = None

    @property
    def total_tokens(self) -> int | None:
        if self.input_tokens is None or self.output_tokens is None:
            return None
        return self.input_tokens + self.output_tokens


def _tool(name: Any, arguments: Any, call_id: Any = None) -> AssembledToolCall:
    """A tool call from an API's fields (arguments given as an object become JSON text)."""
    args = arguments if isinstance(arguments, str) else json.dumps(arguments if arguments is not None else {})
    return AssembledToolCall(str(name or ""), args, str(call_id) if call_id else None)


def _openai(payloads: list[Payload], streamed: bool) -> Assembled:
    from .openai_models import ChatCompletion

    data = [p.data for p in payloads if p.shape == "openai"]
    completion = assemble_openai(data) if streamed else ChatCompletion.model_validate(data[0])
    out = Assembled("openai", model=completion.model)
    if completion.choices:
        choice = completion.choices[0]
        out.text = choice.message.content or ""
        out.finish_reason = choice.finish_reason
        for call in choice.message.tool_calls or []:
            out.tool_calls.append(_tool(call.function.name, call.function.arguments, call.id))
    if completion.usage is not None:
        out.input_tokens = completion.usage.prompt_tokens
        out.output_tokens = completion.usage.completion_tokens
    return out


def _anthropic(payloads: list[Payload], streamed: bool) -> Assembled:
    from .anthropic_models import AnthropicMessage

    data = [p.data for p in payloads if isinstance(p.data, dict)]
    message = assemble_anthropic(data) if streamed else AnthropicMessage.model_validate(data[0])
    out = Assembled("anthropic", finish_reason=message.stop_reason, model=message.model)
    for block in message.model_dump()["content"]:
        if block.get("type") == "text":
            out.text += block.get("text", "")
        elif block.get("type") == "tool_use":
            out.tool_calls.append(_tool(block["name"], block.get("input"), block.get("id")))
    if message.usage is not None:
        out.input_tokens = message.usage.input_tokens
        out.output_tokens = message.usage.output_tokens
    return out


def _responses_object(obj: ResponsesObject) -> Assembled:
    out = Assembled("responses", model=obj.model)
    for item in obj.output:
        if item.get("type") == "message":
            out.text += "".join(
                c.get("text", "") for c in item.get("content", []) if c.get("type") == "output_text"
            )
        elif item.get("type") == "function_call":
            out.tool_calls.append(
                AssembledToolCall(item["name"], item.get("arguments", ""), item.get("call_id"))
            )
    details = obj.incomplete_details or {}
    out.finish_reason = details.get("reason") or obj.status
    usage = obj.usage or {}
    out.input_tokens, out.output_tokens = usage.get("input_tokens"), usage.get("output_tokens")
    return out


def _responses(payloads: list[Payload], streamed: bool) -> Assembled:
    if not streamed:
        return _responses_object(ResponsesObject.model_validate(payloads[0].data))
    final = next(
        (
            p.data["response"]
            for p in reversed(payloads)
            if p.data.get("type") in ("response.completed", "response.incomplete", "response.failed")
        ),
        None,
    )
    if isinstance(final, dict):
        return _responses_object(ResponsesObject.model_validate(final))
    # No final event (a stream cut short): what the deltas carried.
    out = Assembled("responses")
    calls: dict[str, dict[str, str]] = {}
    for p in payloads:
        kind = p.data.get("type")
        if kind == "response.output_text.delta":
            out.text += p.data.get("delta", "")
        elif kind == "response.output_item.added" and p.data.get("item", {}).get("type") == "function_call":
            item = p.data["item"]
            calls[item["id"]] = {"name": item.get("name", ""), "arguments": "", "id": item.get("call_id", "")}
        elif kind == "response.function_call_arguments.delta" and p.data.get("item_id") in calls:
            calls[p.data["item_id"]]["arguments"] += p.data.get("delta", "")
    out.tool_calls = [_tool(c["name"], c["arguments"], c["id"]) for c in calls.values()]
    return out


def _gemini(payloads: list[Payload], streamed: bool) -> Assembled:
    out = Assembled("gemini")
    for p in payloads:
        chunk = GeminiResponse.model_validate(p.data)
        out.model = chunk.modelVersion or out.model
        for candidate in chunk.candidates[:1]:
            for part in (candidate.content or {}).get("parts", []):
                if "text" in part and not part.get("thought"):
                    out.text += part["text"]
                elif "functionCall" in part:
                    call = part["functionCall"]
                    out.tool_calls.append(
                        AssembledToolCall(call["name"], json.dumps(call.get("args", {})), call.get("id"))
                    )
            out.finish_reason = candidate.finishReason or out.finish_reason
        meta = chunk.usageMetadata or {}
        out.input_tokens = meta.get("promptTokenCount", out.input_tokens)
        out.output_tokens = meta.get("candidatesTokenCount", out.output_tokens)
    return out


def _ollama(payloads: list[Payload], streamed: bool) -> Assembled:
    out = Assembled("ollama")
    for p in payloads:
        line = OllamaResponse.model_validate(p.data)
        out.model = line.model
        message = line.message or {}
        out.text += message.get("content") or line.response or ""
        for call in message.get("tool_calls") or []:
            function = call.get("function", {})
            out.tool_calls.append(
                AssembledToolCall(function.get("name", ""), json.dumps(function.get("arguments", {})))
            )
        if line.done:
            out.finish_reason = line.done_reason
            out.input_tokens, out.output_tokens = line.prompt_eval_count, line.eval_count
    return out


def _bedrock(payloads: list[Payload], streamed: bool) -> Assembled:
    out = Assembled("bedrock")
    if not streamed:
        body = BedrockConverseResponse.model_validate(payloads[0].data)
        for block in body.output.get("message", {}).get("content", []):
            if "text" in block:
                out.text += block["text"]
            elif "toolUse" in block:
                use = block["toolUse"]
                out.tool_calls.append(
                    AssembledToolCall(use["name"], json.dumps(use.get("input", {})), use.get("toolUseId"))
                )
        out.finish_reason = body.stopReason
        usage = body.usage or {}
        out.input_tokens, out.output_tokens = usage.get("inputTokens"), usage.get("outputTokens")
        return out
    tools: dict[int, dict[str, str]] = {}
    for p in payloads:
        name = p.event.name if p.event is not None else ""
        data = p.data
        index = data.get("contentBlockIndex", 0)
        if name == "contentBlockStart" and "toolUse" in data.get("start", {}):
            use = data["start"]["toolUse"]
            tools[index] = {"name": use.get("name", ""), "id": use.get("toolUseId", ""), "input": ""}
        elif name == "contentBlockDelta":
            delta = data.get("delta", {})
            out.text += delta.get("text", "")
            if "toolUse" in delta and index in tools:
                tools[index]["input"] += delta["toolUse"].get("input", "")
        elif name == "messageStop":
            out.finish_reason = data.get("stopReason")
        elif name == "metadata":
            usage = data.get("usage", {})
            out.input_tokens, out.output_tokens = usage.get("inputTokens"), usage.get("outputTokens")
    out.tool_calls = [_tool(t["name"], t["input"], t["id"]) for t in tools.values()]
    return out


_BY_SHAPE: dict[Shape, Callable[[list[Payload], bool], Assembled]] = {
    "openai": _openai,
    "anthropic": _anthropic,
    "responses": _responses,
    "gemini": _gemini,
    "ollama": _ollama,
    "bedrock": _bedrock,
}


def _shape_of(payloads: Iterable[Payload]) -> Shape | None:
    return next((s for s in (p.shape for p in payloads) if s is not None), None)


def assemble(response: Response, source: str = "the response") -> Assembled:
    """Text, tool calls, finish reason and usage of a response in any known API.

    Raises :class:`~replay.chat.ChatCompletionError` for a body in no known API, or one that
    does not validate against that API's schema.
    """
    events = response.events()
    streamed = response.framing is not None
    payloads = [
        p for p in iter_payloads(events if streamed else None, response.body) if isinstance(p.data, dict)
    ]
    shape = _shape_of(payloads)
    if shape is None:
        raise ChatCompletionError(
            f"{source} is in no API llm-replay knows (content-type {response.content_type or 'unknown'!r})"
        )
    try:
        return _BY_SHAPE[shape]([p for p in payloads if p.shape in (shape, None)], streamed)
    except (ValidationError, KeyError, TypeError, IndexError) as exc:
        raise ChatCompletionError(f"{source} does not validate as a {shape} response: {exc}") from None
