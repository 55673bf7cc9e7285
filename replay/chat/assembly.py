"""Assembling a stream into the completion a non-streaming call would have returned.

OpenAI-compatible chunks: content, refusal and tool-call arguments are concatenated (tool calls
per ``index``, choices per ``index``, so ``n > 1`` choices stay apart); ``id``/``name`` of a
tool call are taken once (some servers repeat them in every piece); the last non-null
``finish_reason`` wins; ``usage`` is taken from wherever it came (a usage-only final chunk, the
finish chunk, Groq's ``x_groq``). Fields a provider adds are kept: strings in a delta are
concatenated (``reasoning_content``), other values keep their last non-null value.

Anthropic events: ``message_start`` gives the message, content blocks are built from their
deltas (text, ``input_json_delta`` fragments parsed into ``input`` at the end, thinking and its
signature), ``message_delta`` sets ``stop_reason`` and the final usage.

Example usage::

    completion = replay.load_cassette(path).interactions[0].response.chat_completion()
    completion.choices[0].message.content
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from ..errors import ReplayError
from .anthropic_models import AnthropicMessage
from .openai_models import ChatCompletion, ChatCompletionChunk
from .shapes import iter_payloads, payload_shape

if TYPE_CHECKING:
    from ..model.cassette import Response

__all__ = [
    "ChatCompletionError",
    "assemble_anthropic",
    "assemble_openai",
    "completion_of",
]


class ChatCompletionError(ReplayError, ValueError):
    """A body that is not a chat completion, or a stream that cannot be assembled into one."""


def _merge_extra(into: dict[str, Any], extra: dict[str, Any], *, concat: bool) -> None:
    for key, value in extra.items():
        if value is None:
            into.setdefault(key, None)
            continue
        old = into.get(key)
        if concat and isinstance(value, str) and isinstance(old, str):
            into[key] = old + value
        else:
            into[key] = value


def _merge_logprobs(old: Any, new: Any) -> Any:
    if new is None:
        return old
    if isinstance(new, dict):
        merged: dict[str, Any] = dict(old) if isinstance(old, dict) else {}
        for key, value in new.items():
            prev = merged.get(key)
            if isinstance(value, list) and isinstance(prev, list):
                merged[key] = prev + value
            elif value is not None or key not in merged:
                merged[key] = list(value) if isinstance(value, list) else value
        return merged
    if isinstance(new, (int, float)) and not isinstance(new, bool):
        # Together streams one log probability per token; its non-streamed shape is a list.
        merged = dict(old) if isinstance(old, dict) else {}
        merged.setdefault("token_logprobs", []).append(new)
        return merged
    return new


class _ChoiceState:
    __slots__ = (
        "content",
        "extra",
        "finish_reason",
        "function",
        "logprobs",
        "message_extra",
        "refusal",
        "role",
        "tools",
    )

    def __init__(self) -> None:
        self.role: str | None = None
        self.content: list[str] | None = None
        self.refusal: list[str] | None = None
        self.tools: dict[int, dict[str, Any]] = {}
        self.function: dict[str, Any] | None = None
        self.finish_reason: str | None = None
        self.logprobs: Any = None
        self.extra: dict[str, Any] = {}
        self.message_extra: dict[str, Any] = {}

    def add(self, choice: Any) -> None:
        delta = choice.delta
        if delta.role is not None and self.role is None:
            self.role = delta.role
        if delta.content is not None:
            self.content = [*(self.content or []), delta.content]
        if delta.refusal is not None:
            self.refusal = [*(self.refusal or []), delta.refusal]
        for piece in delta.tool_calls or []:
            tool = self.tools.setdefault(
                piece.index, {"id": None, "type": None, "name": None, "arguments": "", "extra": {}}
            )
            tool["id"] = tool["id"] or piece.id
            tool["type"] = tool["type"] or piece.type
            if piece.function is not None:
                tool["name"] = tool["name"] or piece.function.name
                tool["arguments"] += piece.function.arguments or ""
            _merge_extra(tool["extra"], dict(piece.model_extra or {}), concat=False)
        if delta.function_call is not None:
            fn = self.function or {"name": None, "arguments": ""}
            fn["name"] = fn["name"] or delta.function_call.name
            fn["arguments"] += delta.function_call.arguments or ""
            self.function = fn
        _merge_extra(self.message_extra, dict(delta.model_extra or {}), concat=True)
        if choice.finish_reason is not None:
            self.finish_reason = choice.finish_reason
        self.logprobs = _merge_logprobs(self.logprobs, choice.logprobs)
        _merge_extra(self.extra, dict(choice.model_extra or {}), concat=True)

    def build(self, index: int) -> dict[str, Any]:
        message: dict[str, Any] = {
            "role": self.role or "assistant",
            "content": "".join(self.content) if self.content is not None else None,
            "refusal": "".join(self.refusal) if self.refusal is not None else None,
        }
        if self.tools:
            message["tool_calls"] = [
                {
                    "id": t["id"],
                    "type": t["type"] or "function",
                    "function": {"name": t["name"], "arguments": t["arguments"]},
                    **{k: v for k, v in t["extra"].items() if k != "index"},
                }
                for _, t in sorted(self.tools.items())
            ]
        if self.function is not None:
            message["function_call"] = self.function
        message.update({k: v for k, v in self.message_extra.items() if k not in message})
        out: dict[str, Any] = {
            "index": index,
            "message": message,
            "finish_reason": self.finish_reason,
            "logprobs": self.logprobs,
        }
        out.update({k: v for k, v in self.extra.items() if k not in out})
        return out


_TOP_LEVEL = ("id", "created", "model", "system_fingerprint")


def assemble_openai(chunks: Iterable[dict[str, Any] | ChatCompletionChunk]) -> ChatCompletion:
    """The :class:`ChatCompletion` that the streamed ``chunks`` add up to.

    Example usage::

        completion = assemble_openai(json.loads(e.data) for e in events if not e.is_done)
    """
    top: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    usage: Any = None
    choices: dict[int, _ChoiceState] = {}
    seen = False
    for raw in chunks:
        chunk = raw if isinstance(raw, ChatCompletionChunk) else ChatCompletionChunk.model_validate(raw)
        seen = True
        for name in _TOP_LEVEL:
            value = getattr(chunk, name)
            # Azure's leading prompt-filter chunk has empty id/model and created 0.
            if value not in (None, "", 0) and name not in top:
                top[name] = value
        if chunk.usage is not None:
            usage = chunk.usage.dump()
        chunk_extra = dict(chunk.model_extra or {})
        x_groq = chunk_extra.get("x_groq")
        if isinstance(x_groq, dict) and isinstance(x_groq.get("usage"), dict) and usage is None:
            usage = x_groq["usage"]
        for key, value in chunk_extra.items():
            if value is not None and key not in extra:
                extra[key] = value
        for choice in chunk.choices:
            choices.setdefault(choice.index, _ChoiceState()).add(choice)
    if not seen:
        raise ChatCompletionError("the stream has no chat.completion.chunk events to assemble")
    extra.pop("object", None)
    data: dict[str, Any] = {
        **extra,
        "id": top.get("id", ""),
        "object": "chat.completion",
        "created": top.get("created", 0),
        "model": top.get("model", ""),
        "choices": [state.build(index) for index, state in sorted(choices.items())],
        "usage": usage,
    }
    if "system_fingerprint" in top:
        data["system_fingerprint"] = top["system_fingerprint"]
    return ChatCompletion.model_validate(data)


def _parse_partial_json(text: str, where: str) -> Any:
    if not text.strip():
        return {}
    try:
        return json.loads(text)
    except ValueError as exc:
        raise ChatCompletionError(
            f"{where}: the tool input JSON does not parse ({exc}): {text[:80]!r}"
        ) from None


def assemble_anthropic(events: Iterable[dict[str, Any]]) -> AnthropicMessage:
    """The :class:`AnthropicMessage` that a ``messages`` stream's events add up to.

    Example usage::

        message = assemble_anthropic(json.loads(e.data) for e in events)
    """
    message: dict[str, Any] | None = None
    blocks: dict[int, dict[str, Any]] = {}
    partial: dict[int, str] = {}
    for event in events:
        kind = event.get("type")
        if kind == "message_start":
            message = dict(event.get("message") or {})
            message["content"] = list(message.get("content") or [])
            for i, block in enumerate(message["content"]):
                blocks[i] = dict(block)
        elif kind == "content_block_start":
            index = int(event["index"])
            blocks[index] = dict(event.get("content_block") or {})
        elif kind == "content_block_delta":
            index = int(event["index"])
            block = blocks.setdefault(index, {"type": "text", "text": ""})
            _apply_block_delta(block, event.get("delta") or {}, partial, index)
        elif kind == "content_block_stop":
            index = int(event["index"])
            if index in partial:
                blocks[index]["input"] = _parse_partial_json(partial.pop(index), f"content block {index}")
        elif kind == "message_delta":
            if message is None:
                raise ChatCompletionError("message_delta before message_start")
            delta = event.get("delta") or {}
            for key, value in delta.items():
                message[key] = value
            if isinstance(event.get("usage"), dict):
                merged = dict(message.get("usage") or {})
                merged.update({k: v for k, v in event["usage"].items() if v is not None})
                message["usage"] = merged
        elif kind == "error":
            raise ChatCompletionError(f"the stream carries an error event: {json.dumps(event)[:200]}")
    if message is None:
        raise ChatCompletionError("the stream has no message_start event")
    for index, text in partial.items():  # a block never stopped (stream cut short)
        blocks[index]["input"] = _parse_partial_json(text, f"content block {index}")
    message["content"] = [blocks[i] for i in sorted(blocks)]
    return AnthropicMessage.model_validate(message)


def _apply_block_delta(
    block: dict[str, Any], delta: dict[str, Any], partial: dict[int, str], index: int
) -> None:
    kind = delta.get("type")
    if kind == "text_delta":
        block["text"] = block.get("text", "") + delta.get("text", "")
    elif kind == "input_json_delta":
        partial[index] = partial.get(index, "") + delta.get("partial_json", "")
    elif kind == "thinking_delta":
        block["thinking"] = block.get("thinking", "") + delta.get("thinking", "")
    elif kind == "signature_delta":
        block["signature"] = delta.get("signature", "")
    elif kind == "citations_delta":
        block.setdefault("citations", []).append(delta.get("citation"))
    else:
        for key, value in delta.items():
            if key == "type":
                continue
            old = block.get(key)
            block[key] = old + value if isinstance(old, str) and isinstance(value, str) else value


def _error_in(data: Any) -> str | None:
    if isinstance(data, dict) and data.get("type") == "error":
        return json.dumps(data)[:200]
    if isinstance(data, dict) and data.get("error") and "choices" not in data:
        return json.dumps(data)[:200]
    return None


def completion_of(response: Response, source: str = "the response") -> ChatCompletion | AnthropicMessage:
    """The completion a non-streaming call would return: a :class:`ChatCompletion` for an
    OpenAI-compatible body, an :class:`AnthropicMessage` for an Anthropic one.

    Example usage::

        completion = completion_of(cassette.interactions[0].response)
    """
    found = response.events()
    events = found if found or response.is_event_stream else None
    payloads = list(iter_payloads(events, response.body))
    if not payloads:
        raise ChatCompletionError(f"{source} has no JSON body or data events (status {response.status})")
    for payload in payloads:
        error = _error_in(payload.data)
        if error is not None:
            where = f"event #{payload.index}" if events is not None else "the body"
            raise ChatCompletionError(f"{source}: {where} is an error, not a completion: {error}")
    shape = next((s for s in (payload_shape(p.data) for p in payloads) if s is not None), None)
    try:
        if shape == "openai":
            if events is None:
                return ChatCompletion.model_validate(payloads[0].data)
            return assemble_openai(p.data for p in payloads if payload_shape(p.data) == "openai")
        if shape == "anthropic":
            if events is None:
                return AnthropicMessage.model_validate(payloads[0].data)
            return assemble_anthropic(p.data for p in payloads if isinstance(p.data, dict))
    except ValidationError as exc:
        raise ChatCompletionError(f"{source} does not validate as a chat completion:\n{exc}") from None
    raise ChatCompletionError(
        f"{source} is neither an OpenAI-compatible chat completion nor an Anthropic message "
        f"(content-type {response.content_type or 'unknown'!r})"
    )
