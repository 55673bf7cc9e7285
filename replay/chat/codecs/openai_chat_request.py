"""Requests of the openai chat codec (see :mod:`replay.chat.codecs.openai_chat`).

Ollama's chat API takes OpenAI's forms of turns, tools and stop words, so the helpers for those
(:func:`decode_turns`, :func:`decode_tool`, :func:`encode_tool`, :func:`decode_stop`) serve it too.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from ...model.cassette import Request
from .. import neutral
from ..neutral.wire import dumps
from .base import TranslationError, json_body, json_request, settings, stream_field

__all__ = [
    "SETTINGS",
    "decode_request",
    "decode_stop",
    "decode_tool",
    "decode_turns",
    "encode_request",
    "encode_tool",
    "is_stream_request",
]


# -- requests -------------------------------------------------------------------------------

# OpenAI's names for the sampling settings (Ollama's are the same but ``num_predict``).
SETTINGS = {"temperature": "temperature", "top_p": "top_p", "max_tokens": "max_tokens", "stop": "stop"}


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content if isinstance(p, dict))
    return ""


def _user_parts(content: Any) -> tuple[neutral.Part, ...]:
    if isinstance(content, str):
        return (neutral.Text(content),)
    parts: list[neutral.Part] = []
    for p in content or []:
        if p.get("type") == "text":
            parts.append(neutral.Text(p["text"]))
        elif p.get("type") == "image_url":
            url = p["image_url"]["url"] if isinstance(p["image_url"], dict) else p["image_url"]
            parts.append(_image_from_url(url))
    return tuple(parts)


def _image_from_url(url: str) -> neutral.Image:
    if url.startswith("data:") and ";base64," in url:
        head, data = url[5:].split(";base64,", 1)
        return neutral.Image(media_type=head, data=data)
    return neutral.Image(url=url)


def _args(text: str) -> Any:
    try:
        return json.loads(text) if text else {}
    except ValueError:
        return text  # kept as text: the model produced invalid JSON, and that is the recording


def _message(m: dict[str, Any]) -> neutral.Message | str | None:
    role = m.get("role")
    if role in ("system", "developer"):
        return _text_of(m.get("content"))
    if role == "tool":
        return neutral.Message(
            "user", (neutral.ToolResult(m.get("tool_call_id", ""), _text_of(m.get("content"))),)
        )
    if role == "user":
        return neutral.Message("user", _user_parts(m.get("content")))
    if role == "assistant":
        parts: list[neutral.Part] = []
        text = _text_of(m.get("content"))
        if text:
            parts.append(neutral.Text(text))
        for call in m.get("tool_calls") or []:
            fn = call.get("function", {})
            parts.append(
                neutral.ToolCall(call.get("id", ""), fn.get("name", ""), _args(fn.get("arguments", "")))
            )
        return neutral.Message("assistant", tuple(parts))
    return None


def decode_turns(
    turns: Iterable[neutral.Message | str | None],
) -> tuple[str | None, tuple[neutral.Message, ...]]:
    """The system text (the system turns' texts, one a line; None without any) and the conversation."""
    system: list[str] = []
    messages: list[neutral.Message] = []
    for turn in turns:
        if isinstance(turn, str):
            system.append(turn)
        elif turn is not None:
            messages.append(turn)
    return ("\n".join(system) if system else None), neutral.merge_messages(messages)


def decode_tool(tool: dict[str, Any]) -> neutral.Tool:
    fn = tool["function"]
    return neutral.Tool(fn["name"], fn.get("description", ""), fn.get("parameters", {}))


def encode_tool(tool: neutral.Tool) -> dict[str, Any]:
    fn = {"name": tool.name, "description": tool.description, "parameters": tool.parameters}
    return {"type": "function", "function": fn}


def decode_stop(stop: Any) -> tuple[str, ...]:
    """Stop words, sent as one string or a list."""
    return (stop,) if isinstance(stop, str) else tuple(stop or ())


def decode_request(request: Request) -> neutral.ChatRequest:
    body = json_body(request.body, f"request body of {request.method} {request.url}")
    system, messages = decode_turns(_message(m) for m in body.get("messages") or [])
    return neutral.ChatRequest(
        model=body.get("model", ""),
        system=system,
        messages=messages,
        tools=tuple(decode_tool(t) for t in body.get("tools") or [] if t.get("type") == "function"),
        temperature=body.get("temperature"),
        top_p=body.get("top_p"),
        stop=decode_stop(body.get("stop")),
        max_tokens=body.get("max_completion_tokens", body.get("max_tokens")),
        stream=bool(body.get("stream", False)),
    )


def _encode_part(p: neutral.Part) -> dict[str, Any]:
    if isinstance(p, neutral.Text):
        return {"type": "text", "text": p.text}
    if isinstance(p, neutral.Image):
        url = p.url if p.url is not None else f"data:{p.media_type};base64,{p.data}"
        return {"type": "image_url", "image_url": {"url": url}}
    raise TranslationError(f"{type(p).__name__} cannot be part of an OpenAI user message")


def _encode_message(m: neutral.Message) -> list[dict[str, Any]]:
    if m.role == "assistant":
        out: dict[str, Any] = {
            "role": "assistant",
            "content": "".join(p.text for p in m.parts if isinstance(p, neutral.Text)) or None,
        }
        calls = [p for p in m.parts if isinstance(p, neutral.ToolCall)]
        if calls:
            out["tool_calls"] = [
                {
                    "id": c.id,
                    "type": "function",
                    "function": {"name": c.name, "arguments": _args_text(c.arguments)},
                }
                for c in calls
            ]
        return [out]
    results = [
        {"role": "tool", "tool_call_id": p.tool_call_id, "content": p.content}
        for p in m.parts
        if isinstance(p, neutral.ToolResult)
    ]
    rest = [p for p in m.parts if not isinstance(p, neutral.ToolResult)]
    if not rest:
        return results
    content: Any = (
        rest[0].text
        if len(rest) == 1 and isinstance(rest[0], neutral.Text)
        else [_encode_part(p) for p in rest]
    )
    return [*results, {"role": "user", "content": content}]


def _args_text(arguments: Any) -> str:
    return arguments if isinstance(arguments, str) else dumps(arguments)


def encode_request(req: neutral.ChatRequest) -> Request:
    messages: list[dict[str, Any]] = (
        [{"role": "system", "content": req.system}] if req.system is not None else []
    )
    for m in req.messages:
        messages.extend(_encode_message(m))
    body: dict[str, Any] = {"model": req.model, "messages": messages}
    if req.tools:
        body["tools"] = [encode_tool(t) for t in req.tools]
    body.update(settings(req, SETTINGS))
    if req.stream:
        body["stream"] = True
        body["stream_options"] = {"include_usage": True}
    return json_request("https://api.openai.com/v1/chat/completions", body)


is_stream_request = stream_field
