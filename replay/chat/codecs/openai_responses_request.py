"""Requests of the openai responses codec (see :mod:`replay.chat.codecs.openai_responses`)."""

from __future__ import annotations

import json
from typing import Any

from ...model.cassette import Request
from .. import neutral
from ..neutral.wire import dumps
from .base import json_body, json_request, settings, stream_field

__all__ = ["decode_request", "encode_request", "is_stream_request"]


# -- requests -------------------------------------------------------------------------------


def _content_parts(content: Any) -> list[neutral.Part]:
    if isinstance(content, str):
        return [neutral.Text(content)]
    parts: list[neutral.Part] = []
    for p in content or []:
        if p.get("type") in ("input_text", "output_text", "text"):
            parts.append(neutral.Text(p.get("text", "")))
        elif p.get("type") == "input_image":
            url = p.get("image_url", "")
            if url.startswith("data:") and ";base64," in url:
                head, data = url[5:].split(";base64,", 1)
                parts.append(neutral.Image(media_type=head, data=data))
            else:
                parts.append(neutral.Image(url=url))
    return parts


def _item(item: dict[str, Any], system: list[str]) -> neutral.Message | None:
    kind = item.get("type", "message")
    if kind == "function_call":
        args = item.get("arguments", "")
        try:
            value: Any = json.loads(args) if args else {}
        except ValueError:
            value = args
        return neutral.Message(
            "assistant", (neutral.ToolCall(item.get("call_id", ""), item.get("name", ""), value),)
        )
    if kind == "function_call_output":
        return neutral.Message(
            "user", (neutral.ToolResult(item.get("call_id", ""), str(item.get("output", ""))),)
        )
    if kind != "message":
        return None
    role = item.get("role")
    if role in ("system", "developer"):
        system.append(
            "".join(p.text for p in _content_parts(item.get("content")) if isinstance(p, neutral.Text))
        )
        return None
    return neutral.Message(
        "assistant" if role == "assistant" else "user", tuple(_content_parts(item.get("content")))
    )


def decode_request(request: Request) -> neutral.ChatRequest:
    body = json_body(request.body, f"request body of {request.method} {request.url}")
    system: list[str] = [body["instructions"]] if body.get("instructions") else []
    items = body.get("input") or []
    if isinstance(items, str):
        items = [{"role": "user", "content": items}]
    messages = [m for m in (_item(i, system) for i in items) if m is not None]
    return neutral.ChatRequest(
        model=body.get("model", ""),
        system="\n".join(system) if system else None,
        messages=neutral.merge_messages(messages),
        tools=tuple(
            neutral.Tool(t["name"], t.get("description") or "", t.get("parameters") or {})
            for t in body.get("tools") or []
            if t.get("type") == "function"
        ),
        temperature=body.get("temperature"),
        top_p=body.get("top_p"),
        max_tokens=body.get("max_output_tokens"),
        stream=bool(body.get("stream", False)),
    )


def _encode_message(m: neutral.Message) -> list[dict[str, Any]]:
    """Items in the parts' order: a run of text and images is one message item."""
    out: list[dict[str, Any]] = []
    content: list[dict[str, Any]] = []
    text_type = "output_text" if m.role == "assistant" else "input_text"

    def flush() -> None:
        if content:
            out.append({"role": m.role, "content": list(content)})
            content.clear()

    for p in m.parts:
        if isinstance(p, neutral.Text):
            content.append({"type": text_type, "text": p.text})
        elif isinstance(p, neutral.Image):
            url = p.url if p.url is not None else f"data:{p.media_type};base64,{p.data}"
            content.append({"type": "input_image", "image_url": url})
        elif isinstance(p, neutral.ToolCall):
            flush()
            args = p.arguments if isinstance(p.arguments, str) else dumps(p.arguments)
            out.append({"type": "function_call", "call_id": p.id, "name": p.name, "arguments": args})
        else:
            flush()
            out.append({"type": "function_call_output", "call_id": p.tool_call_id, "output": p.content})
    flush()
    return out


def encode_request(req: neutral.ChatRequest) -> Request:
    body: dict[str, Any] = {
        "model": req.model,
        "input": [i for m in req.messages for i in _encode_message(m)],
    }
    if req.system is not None:
        body["instructions"] = req.system
    if req.tools:
        body["tools"] = [
            {
                "type": "function",
                "name": t.name,
                "description": t.description,
                "parameters": t.parameters,
                "strict": False,
            }
            for t in req.tools
        ]
    body.update(
        settings(req, {"temperature": "temperature", "top_p": "top_p", "max_tokens": "max_output_tokens"})
    )
    if req.stream:
        body["stream"] = True
    return json_request("https://api.openai.com/v1/responses", body)


is_stream_request = stream_field
