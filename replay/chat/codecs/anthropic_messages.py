"""Anthropic messages (``/v1/messages``), streaming and not.

Finish reasons (``stop_reason``):

=============== ================================================ ===================
neutral         decoded from                                     encoded as
=============== ================================================ ===================
stop            ``end_turn``                                     ``end_turn``
length          ``max_tokens``, ``model_context_window_exceeded`` ``max_tokens``
tool_calls      ``tool_use``                                     ``tool_use``
content_filter  ``refusal``                                      ``refusal``
stop_sequence   ``stop_sequence``                                ``stop_sequence``
other           ``pause_turn`` and anything new                  ``end_turn``
=============== ================================================ ===================

Usage: ``input_tokens``/``output_tokens``; ``message_start`` carries the input count (and a
first output count), ``message_delta`` the final output count. Thinking blocks are reasoning;
their ``signature`` and ``redacted_thinking`` blocks have no equivalent elsewhere and are dropped
(an encoded thinking block has an empty signature). ``ping`` events carry nothing. A request
without ``max_tokens`` (required here) is encoded with 4096. A tool call whose arguments are not
a JSON object (the model wrote invalid JSON) is encoded with ``input: {}`` in requests.
"""

from __future__ import annotations

import json
from typing import Any

from ...model.cassette import Request, Response
from .. import neutral
from ..neutral.wire import (
    BlockClose,
    BlockDelta,
    BlockOpen,
    blocks_at,
    dumps,
    json_response,
    sse,
    to_response,
)
from .base import (
    Codec,
    FinishWords,
    TranslationError,
    at,
    chat_response,
    json_body,
    json_request,
    settings,
    stream_field,
    timed_sse_json,
)

__all__ = ["CODEC"]

_FINISH = FinishWords(
    "end_turn",
    stop=("end_turn",),
    length=("max_tokens", "model_context_window_exceeded"),
    tool_calls=("tool_use",),
    content_filter=("refusal",),
    stop_sequence=("stop_sequence",),
)
DEFAULT_MAX_TOKENS = 4096


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    return "".join(
        b.get("text", "") for b in content or [] if isinstance(b, dict) and b.get("type") == "text"
    )


def _part(block: dict[str, Any]) -> neutral.Part | None:
    kind = block.get("type")
    if kind == "text":
        return neutral.Text(block["text"])
    if kind == "image":
        src = block.get("source", {})
        if src.get("type") == "url":
            return neutral.Image(url=src["url"])
        return neutral.Image(media_type=src.get("media_type", "image/png"), data=src.get("data"))
    if kind == "tool_use":
        return neutral.ToolCall(block["id"], block["name"], block.get("input", {}))
    if kind == "tool_result":
        return neutral.ToolResult(
            block["tool_use_id"], _text(block.get("content", "")), is_error=bool(block.get("is_error"))
        )
    return None  # thinking blocks sent back: no neutral equivalent


def decode_request(request: Request) -> neutral.ChatRequest:
    body = json_body(request.body, f"request body of {request.method} {request.url}")
    messages = []
    for m in body.get("messages") or []:
        content = m.get("content")
        blocks_ = [{"type": "text", "text": content}] if isinstance(content, str) else content or []
        parts = tuple(p for p in (_part(b) for b in blocks_) if p is not None)
        messages.append(neutral.Message("assistant" if m.get("role") == "assistant" else "user", parts))
    system = body.get("system")
    return neutral.ChatRequest(
        model=body.get("model", ""),
        system=_text(system) if system is not None else None,
        messages=neutral.merge_messages(messages),
        tools=tuple(
            neutral.Tool(t["name"], t.get("description", ""), t.get("input_schema", {}))
            for t in body.get("tools") or []
            if "name" in t
        ),
        temperature=body.get("temperature"),
        top_p=body.get("top_p"),
        stop=tuple(body.get("stop_sequences") or ()),
        max_tokens=body.get("max_tokens"),
        stream=bool(body.get("stream", False)),
    )


def _encode_part(p: neutral.Part) -> dict[str, Any]:
    if isinstance(p, neutral.Text):
        return {"type": "text", "text": p.text}
    if isinstance(p, neutral.Image):
        if p.url is not None:
            return {"type": "image", "source": {"type": "url", "url": p.url}}
        return {"type": "image", "source": {"type": "base64", "media_type": p.media_type, "data": p.data}}
    if isinstance(p, neutral.ToolCall):
        return {
            "type": "tool_use",
            "id": p.id,
            "name": p.name,
            "input": p.arguments if isinstance(p.arguments, dict) else {},
        }
    out: dict[str, Any] = {"type": "tool_result", "tool_use_id": p.tool_call_id, "content": p.content}
    if p.is_error:
        out["is_error"] = True
    return out


def encode_request(req: neutral.ChatRequest) -> Request:
    body: dict[str, Any] = {
        "model": req.model,
        "max_tokens": req.max_tokens if req.max_tokens is not None else DEFAULT_MAX_TOKENS,
        "messages": [
            {"role": m.role, "content": [_encode_part(p) for p in m.parts]}
            for m in neutral.merge_messages(req.messages)
        ],
    }
    if req.system is not None:
        body["system"] = req.system
    if req.tools:
        body["tools"] = [
            {"name": t.name, "description": t.description, "input_schema": t.parameters} for t in req.tools
        ]
    body.update(settings(req, {"temperature": "temperature", "top_p": "top_p", "stop": "stop_sequences"}))
    if req.stream:
        body["stream"] = True
    return json_request("https://api.anthropic.com/v1/messages", body, ("anthropic-version", "2023-06-01"))


# -- responses ------------------------------------------------------------------------------


def _usage(usage: Any) -> neutral.UsageReport | None:
    if not isinstance(usage, dict):
        return None
    return neutral.UsageReport(usage.get("input_tokens"), usage.get("output_tokens"))


class _Decoder:
    def __init__(self) -> None:
        self.tool_of_block: dict[int, int] = {}
        self.head: dict[str, Any] = {}

    def event(self, data: dict[str, Any]) -> list[neutral.Event]:
        kind = data.get("type")
        out: list[neutral.Event] = []
        if kind == "message_start":
            self.head = data.get("message", {})
            out.append(neutral.Start())
            usage = _usage(self.head.get("usage"))
            out.extend([usage] if usage else [])
        elif kind == "content_block_start":
            block = data.get("content_block", {})
            if block.get("type") == "tool_use":
                self.tool_of_block[data["index"]] = index = len(self.tool_of_block)
                out.append(neutral.ToolCallStart(index, block.get("id", ""), block.get("name", "")))
            elif block.get("type") == "text" and block.get("text"):
                out.append(neutral.TextDelta(block["text"]))
        elif kind == "content_block_delta":
            out.extend(self._delta(data["index"], data.get("delta", {})))
        elif kind == "content_block_stop" and data.get("index") in self.tool_of_block:
            out.append(neutral.ToolCallEnd(self.tool_of_block[data["index"]]))
        elif kind == "message_delta":
            reason = (data.get("delta") or {}).get("stop_reason")
            out.extend([_FINISH.decode(reason)] if reason else [])
            usage = _usage(data.get("usage"))
            out.extend([usage] if usage else [])
        elif kind == "message_stop":
            out.append(neutral.StreamDone())
        elif kind == "error":
            raise TranslationError(
                f"the stream carries an error event ({data.get('error')}); an error cannot be translated"
            )
        return out

    def _delta(self, index: int, delta: dict[str, Any]) -> list[neutral.Event]:
        kind = delta.get("type")
        if kind == "text_delta" and delta.get("text"):
            return [neutral.TextDelta(delta["text"])]
        if kind == "thinking_delta" and delta.get("thinking"):
            return [neutral.ReasoningDelta(delta["thinking"])]
        if kind == "input_json_delta" and delta.get("partial_json") and index in self.tool_of_block:
            return [neutral.ToolArgsDelta(self.tool_of_block[index], delta["partial_json"])]
        return []


def decode_response(response: Response) -> neutral.ChatResponse:
    decoder = _Decoder()
    if not response.is_event_stream:
        body = json_body(response.body, "response body")
        wire = [
            {"type": "message_start", "message": {**body, "usage": None}},
            *(w for i, block in enumerate(body.get("content") or []) for w in _whole_block_events(i, block)),
            {
                "type": "message_delta",
                "delta": {"stop_reason": body.get("stop_reason")},
                "usage": body.get("usage"),
            },
        ]
        events = [e for w in wire for e in decoder.event(w)]
        return chat_response(at(response.duration, [*events, neutral.StreamDone()]), body, response)
    timed: list[neutral.Timed] = []
    for t, _, data in timed_sse_json(response):
        if isinstance(data, dict):
            timed.extend(at(t, decoder.event(data)))
    return chat_response(timed, decoder.head, response)


def _whole_block_events(i: int, block: dict[str, Any]) -> list[dict[str, Any]]:
    """A whole content block as the stream events that would have carried it."""
    start = {
        "type": "content_block_start",
        "index": i,
        "content_block": {**block, "input": {}} if block.get("type") == "tool_use" else block,
    }
    delta: dict[str, Any] = {}
    if block.get("type") == "tool_use":
        delta = {"type": "input_json_delta", "partial_json": dumps(block.get("input", {}))}
    elif block.get("type") == "thinking":
        delta = {"type": "thinking_delta", "thinking": block.get("thinking", "")}
    out = [start, {"type": "content_block_delta", "index": i, "delta": delta}] if delta else [start]
    return [*out, {"type": "content_block_stop", "index": i}]


def _block_wire(op: BlockOpen | BlockDelta | BlockClose) -> dict[str, Any]:
    if isinstance(op, BlockOpen):
        contents: dict[str, dict[str, Any]] = {
            "text": {"type": "text", "text": ""},
            "reasoning": {"type": "thinking", "thinking": "", "signature": ""},
            "tool": {"type": "tool_use", "id": op.id, "name": op.name, "input": {}},
        }
        return {"type": "content_block_start", "index": op.block, "content_block": contents[op.kind]}
    if isinstance(op, BlockDelta):
        delta = {
            "text": {"type": "text_delta", "text": op.text},
            "reasoning": {"type": "thinking_delta", "thinking": op.text},
            "tool": {"type": "input_json_delta", "partial_json": op.text},
        }[op.kind]
        return {"type": "content_block_delta", "index": op.block, "delta": delta}
    return {"type": "content_block_stop", "index": op.block}


def _message_head(resp: neutral.ChatResponse) -> dict[str, Any]:
    usage = resp.usage
    return {
        "id": resp.id or "msg_replay",
        "type": "message",
        "role": "assistant",
        "model": resp.model,
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": {"input_tokens": usage.input_tokens or 0, "output_tokens": 0},
    }


def encode_stream(resp: neutral.ChatResponse) -> Response:
    ops = {pos: [_block_wire(op) for op in at_pos] for pos, at_pos in blocks_at(resp).items()}
    usage = resp.usage
    timed: list[tuple[float, bytes]] = []
    started = False
    for pos, e in enumerate(resp.events):
        wire: list[dict[str, Any]] = []
        if not started and (isinstance(e.event, neutral.Start) or pos in ops):
            started = True
            wire.append({"type": "message_start", "message": _message_head(resp)})
        wire.extend(ops.get(pos, []))
        if isinstance(e.event, neutral.Finish):
            delta = {"stop_reason": _FINISH.encode(e.event), "stop_sequence": None}
            wire.append(
                {
                    "type": "message_delta",
                    "delta": delta,
                    "usage": {"output_tokens": usage.output_tokens or 0},
                }
            )
        elif isinstance(e.event, neutral.StreamDone):
            wire.append({"type": "message_stop"})
        timed.extend((e.t, sse(w, event=w["type"])) for w in wire)
    return to_response(timed, head_t=resp.head_t, content_type="text/event-stream; charset=utf-8")


def encode_whole(resp: neutral.ChatResponse) -> Response:
    content: list[dict[str, Any]] = []
    if resp.reasoning:
        content.append({"type": "thinking", "thinking": resp.reasoning, "signature": ""})
    if resp.text:
        content.append({"type": "text", "text": resp.text})
    for cid, name, args in resp.tool_calls():
        content.append(
            {"type": "tool_use", "id": cid, "name": name, "input": json.loads(args) if args else {}}
        )
    body = _message_head(resp)
    usage = resp.usage
    body.update(
        content=content,
        stop_reason=_FINISH.encode(resp.finish),
        usage={"input_tokens": usage.input_tokens or 0, "output_tokens": usage.output_tokens or 0},
    )
    return json_response(body, t=resp.end_t, head_t=resp.head_t)


def handles(host: str, path: str) -> bool:
    return path.endswith("/v1/messages")


is_stream_request = stream_field
CODEC = Codec.of_module("anthropic-messages", __name__)
