"""OpenAI Responses (``/v1/responses``), streaming (named SSE events) and not.

Finish reasons: the Responses API has a status, not a finish reason.

=============== ===================================================== ======================================
neutral         decoded from                                          encoded as
=============== ===================================================== ======================================
stop            ``completed`` without function calls                  ``completed``
tool_calls      ``completed`` with a ``function_call`` output item    ``completed`` (the items say it)
length          ``incomplete``, reason ``max_output_tokens``          ``incomplete`` / ``max_output_tokens``
content_filter  ``incomplete``, reason ``content_filter``             ``incomplete`` / ``content_filter``
stop_sequence   (no stop sequences in this API)                       ``completed``
other           ``failed``, other incomplete reasons                  ``completed``
=============== ===================================================== ======================================

Usage: ``input_tokens``/``output_tokens`` (cached and reasoning token details are written as 0).
Reasoning is read from ``response.reasoning_text.delta`` and ``reasoning_summary_text.delta``
and written as a ``reasoning`` item with ``reasoning_text`` content. The stream has no ``[DONE]``:
its terminal event (``response.completed`` / ``incomplete`` / ``failed``) is the end marker.
Stop sequences in a request have no equivalent and are dropped.

Example usage::

    neutral = CODEC.decode_response(interaction.response)
"""

from __future__ import annotations

import json
from typing import Any

from ...cassette import Request, Response
from ..neutral.model import (
    ChatRequest,
    ChatResponse,
    Event,
    Finish,
    Image,
    Message,
    Part,
    ReasoningDelta,
    Start,
    StreamDone,
    Text,
    TextDelta,
    Timed,
    Tool,
    ToolArgsDelta,
    ToolCall,
    ToolCallEnd,
    ToolCallStart,
    ToolResult,
    UsageReport,
    merge_messages,
)
from ..neutral.wire import BlockClose, BlockDelta, BlockOpen, blocks, dumps, json_response, sse, to_response
from .base import Codec, json_body, timed_sse_json

__all__ = ["CODEC"]


# -- requests -------------------------------------------------------------------------------


def _content_parts(content: Any) -> list[Part]:
    if isinstance(content, str):
        return [Text(content)]
    parts: list[Part] = []
    for p in content or []:
        if p.get("type") in ("input_text", "output_text", "text"):
            parts.append(Text(p.get("text", "")))
        elif p.get("type") == "input_image":
            url = p.get("image_url", "")
            if url.startswith("data:") and ";base64," in url:
                head, data = url[5:].split(";base64,", 1)
                parts.append(Image(media_type=head, data=data))
            else:
                parts.append(Image(url=url))
    return parts


def _item(item: dict[str, Any], system: list[str]) -> Message | None:
    kind = item.get("type", "message")
    if kind == "function_call":
        args = item.get("arguments", "")
        try:
            value: Any = json.loads(args) if args else {}
        except ValueError:
            value = args
        return Message("assistant", (ToolCall(item.get("call_id", ""), item.get("name", ""), value),))
    if kind == "function_call_output":
        return Message("user", (ToolResult(item.get("call_id", ""), str(item.get("output", ""))),))
    if kind != "message":
        return None
    role = item.get("role")
    if role in ("system", "developer"):
        system.append("".join(p.text for p in _content_parts(item.get("content")) if isinstance(p, Text)))
        return None
    return Message("assistant" if role == "assistant" else "user", tuple(_content_parts(item.get("content"))))


def decode_request(request: Request) -> ChatRequest:
    body = json_body(request.body, f"request body of {request.method} {request.url}")
    system: list[str] = [body["instructions"]] if body.get("instructions") else []
    items = body.get("input") or []
    if isinstance(items, str):
        items = [{"role": "user", "content": items}]
    messages = [m for m in (_item(i, system) for i in items) if m is not None]
    return ChatRequest(
        model=body.get("model", ""),
        system="\n".join(system) if system else None,
        messages=merge_messages(messages),
        tools=tuple(
            Tool(t["name"], t.get("description") or "", t.get("parameters") or {})
            for t in body.get("tools") or []
            if t.get("type") == "function"
        ),
        temperature=body.get("temperature"),
        top_p=body.get("top_p"),
        max_tokens=body.get("max_output_tokens"),
        stream=bool(body.get("stream", False)),
    )


def _encode_message(m: Message) -> list[dict[str, Any]]:
    """Items in the parts' order: a run of text and images is one message item."""
    out: list[dict[str, Any]] = []
    content: list[dict[str, Any]] = []
    text_type = "output_text" if m.role == "assistant" else "input_text"

    def flush() -> None:
        if content:
            out.append({"role": m.role, "content": list(content)})
            content.clear()

    for p in m.parts:
        if isinstance(p, Text):
            content.append({"type": text_type, "text": p.text})
        elif isinstance(p, Image):
            url = p.url if p.url is not None else f"data:{p.media_type};base64,{p.data}"
            content.append({"type": "input_image", "image_url": url})
        elif isinstance(p, ToolCall):
            flush()
            args = p.arguments if isinstance(p.arguments, str) else dumps(p.arguments)
            out.append({"type": "function_call", "call_id": p.id, "name": p.name, "arguments": args})
        else:
            flush()
            out.append({"type": "function_call_output", "call_id": p.tool_call_id, "output": p.content})
    flush()
    return out


def encode_request(req: ChatRequest) -> Request:
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
    for key, value in (
        ("temperature", req.temperature),
        ("top_p", req.top_p),
        ("max_output_tokens", req.max_tokens),
    ):
        if value is not None:
            body[key] = value
    if req.stream:
        body["stream"] = True
    return Request(
        method="POST",
        url="https://api.openai.com/v1/responses",
        headers=[("content-type", "application/json")],
        body=dumps(body).encode(),
    )


def is_stream_request(request: Request) -> bool:
    try:
        return bool(json.loads(request.body).get("stream", False))
    except (ValueError, AttributeError):
        return False


# -- responses ------------------------------------------------------------------------------


def _finish(body: dict[str, Any], had_tools: bool) -> Finish:
    status = body.get("status", "completed")
    if status == "completed":
        return Finish("tool_calls" if had_tools else "stop", status)
    reason = (body.get("incomplete_details") or {}).get("reason", "")
    if status == "incomplete" and reason == "max_output_tokens":
        return Finish("length", reason)
    if status == "incomplete" and reason == "content_filter":
        return Finish("content_filter", reason)
    return Finish("other", reason or status)


def _usage(body: dict[str, Any]) -> list[Event]:
    usage = body.get("usage")
    if not isinstance(usage, dict):
        return []
    return [UsageReport(usage.get("input_tokens"), usage.get("output_tokens"))]


class _Decoder:
    def __init__(self) -> None:
        self.tools: dict[str, int] = {}  # item id -> tool index
        self.head: dict[str, Any] = {}

    def event(self, kind: str, data: dict[str, Any]) -> list[Event]:
        if kind == "response.created":
            self.head = data.get("response", {})
            return [Start()]
        if kind == "response.output_item.added" and data.get("item", {}).get("type") == "function_call":
            item = data["item"]
            self.tools[item.get("id", "")] = index = len(self.tools)
            start: list[Event] = [ToolCallStart(index, item.get("call_id", ""), item.get("name", ""))]
            return start + ([ToolArgsDelta(index, item["arguments"])] if item.get("arguments") else [])
        if kind == "response.output_text.delta" and data.get("delta"):
            return [TextDelta(data["delta"])]
        if kind in ("response.reasoning_text.delta", "response.reasoning_summary_text.delta") and data.get(
            "delta"
        ):
            return [ReasoningDelta(data["delta"])]
        if (
            kind == "response.function_call_arguments.delta"
            and data.get("item_id") in self.tools
            and data.get("delta")
        ):
            return [ToolArgsDelta(self.tools[data["item_id"]], data["delta"])]
        if kind == "response.output_item.done" and data.get("item", {}).get("id") in self.tools:
            return [ToolCallEnd(self.tools[data["item"]["id"]])]
        if kind in ("response.completed", "response.incomplete", "response.failed"):
            body = data.get("response", {})
            return [_finish(body, bool(self.tools)), *_usage(body), StreamDone()]
        return []


def decode_response(response: Response) -> ChatResponse:
    decoder = _Decoder()
    if not response.is_event_stream:
        body = json_body(response.body, "response body")
        t = response.duration
        events: list[Timed] = [Timed(t, e) for e in decoder.event("response.created", {"response": body})]
        for item in body.get("output") or []:
            events.extend(Timed(t, e) for e in _whole_item(decoder, item))
        events.extend(
            Timed(t, e)
            for e in decoder.event(f"response.{body.get('status', 'completed')}", {"response": body})
        )
        return ChatResponse(
            tuple(events),
            body.get("id", ""),
            body.get("model", ""),
            int(body.get("created_at") or 0),
            False,
            response.t,
        )
    events = []
    for t, name, data in timed_sse_json(response):
        if isinstance(data, dict):
            events.extend(Timed(t, e) for e in decoder.event(data.get("type", name), data))
    head = decoder.head
    return ChatResponse(
        tuple(events),
        head.get("id", ""),
        head.get("model", ""),
        int(head.get("created_at") or 0),
        True,
        response.t,
    )


def _whole_item(decoder: _Decoder, item: dict[str, Any]) -> list[Event]:
    kind = item.get("type")
    if kind == "function_call":
        return decoder.event("response.output_item.added", {"item": item}) + decoder.event(
            "response.output_item.done", {"item": item}
        )
    if kind == "message":
        return [
            TextDelta(p["text"])
            for p in item.get("content") or []
            if p.get("type") == "output_text" and p.get("text")
        ]
    if kind == "reasoning":
        texts = [p.get("text", "") for p in [*(item.get("content") or []), *(item.get("summary") or [])]]
        return [ReasoningDelta(t) for t in texts if t]
    return []


def _snapshot(resp: ChatResponse, status: str, output: list[dict[str, Any]]) -> dict[str, Any]:
    finish = resp.finish
    incomplete = None
    if status == "incomplete" and finish is not None:
        incomplete = {"reason": "max_output_tokens" if finish.reason == "length" else "content_filter"}
    usage = None
    if status != "in_progress":
        inp, out = resp.usage.input_tokens or 0, resp.usage.output_tokens or 0
        usage = {
            "input_tokens": inp,
            "input_tokens_details": {"cached_tokens": 0},
            "output_tokens": out,
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": inp + out,
        }
    return {
        "id": resp.id or "resp_replay",
        "object": "response",
        "created_at": resp.created,
        "status": status,
        "error": None,
        "incomplete_details": incomplete,
        "instructions": None,
        "max_output_tokens": None,
        "model": resp.model,
        "output": output,
        "parallel_tool_calls": True,
        "previous_response_id": None,
        "reasoning": {"effort": None, "summary": None},
        "store": True,
        "temperature": 1.0,
        "text": {"format": {"type": "text"}},
        "tool_choice": "auto",
        "tools": [],
        "top_p": 1.0,
        "truncation": "disabled",
        "usage": usage,
        "metadata": {},
    }


def _final_status(resp: ChatResponse) -> str:
    finish = resp.finish
    return (
        "incomplete" if finish is not None and finish.reason in ("length", "content_filter") else "completed"
    )


class _Encoder:
    """Builds the event sequence; items are kept so ``output_item.done`` and the final snapshot agree."""

    def __init__(self, resp: ChatResponse) -> None:
        self.resp = resp
        self.seq = 0
        self.items: dict[int, dict[str, Any]] = {}

    def wire(self, kind: str, **fields: Any) -> bytes:
        data = {"type": kind, "sequence_number": self.seq, **fields}
        self.seq += 1
        return sse(data, event=kind)

    def item_id(self, op: BlockOpen | BlockDelta | BlockClose) -> str:
        prefix = {"text": "msg", "reasoning": "rs", "tool": "fc"}[op.kind]
        return f"{prefix}_{self.resp.id or 'replay'}_{op.block}"

    def block(self, op: BlockOpen | BlockDelta | BlockClose) -> list[bytes]:
        iid, where = self.item_id(op), {"output_index": op.block}
        if isinstance(op, BlockOpen):
            items: dict[str, dict[str, Any]] = {
                "text": {
                    "id": iid,
                    "type": "message",
                    "status": "in_progress",
                    "content": [],
                    "role": "assistant",
                },
                "reasoning": {"id": iid, "type": "reasoning", "summary": [], "content": []},
                "tool": {
                    "id": iid,
                    "type": "function_call",
                    "status": "in_progress",
                    "call_id": op.id,
                    "name": op.name,
                    "arguments": "",
                },
            }
            item = items[op.kind]
            self.items[op.block] = {**item, "_text": ""}
            out = [self.wire("response.output_item.added", **where, item=item)]
            if op.kind == "text":
                part = {"type": "output_text", "annotations": [], "logprobs": [], "text": ""}
                out.append(
                    self.wire("response.content_part.added", item_id=iid, **where, content_index=0, part=part)
                )
            return out
        state = self.items[op.block]
        if isinstance(op, BlockDelta):
            state["_text"] += op.text
            kind = {
                "text": "response.output_text.delta",
                "reasoning": "response.reasoning_text.delta",
                "tool": "response.function_call_arguments.delta",
            }[op.kind]
            extra = (
                {"content_index": 0, "logprobs": []}
                if op.kind == "text"
                else {"content_index": 0}
                if op.kind == "reasoning"
                else {}
            )
            return [self.wire(kind, item_id=iid, **where, **extra, delta=op.text)]
        return self._close(op, state, iid, where)

    def _close(self, op: BlockClose, state: dict[str, Any], iid: str, where: dict[str, int]) -> list[bytes]:
        text = state.pop("_text")
        out: list[bytes] = []
        if op.kind == "text":
            part = {"type": "output_text", "annotations": [], "logprobs": [], "text": text}
            out.append(
                self.wire(
                    "response.output_text.done", item_id=iid, **where, content_index=0, text=text, logprobs=[]
                )
            )
            out.append(
                self.wire("response.content_part.done", item_id=iid, **where, content_index=0, part=part)
            )
            state.update(status="completed", content=[part])
        elif op.kind == "reasoning":
            out.append(
                self.wire("response.reasoning_text.done", item_id=iid, **where, content_index=0, text=text)
            )
            state.update(content=[{"type": "reasoning_text", "text": text}])
        else:
            out.append(
                self.wire("response.function_call_arguments.done", item_id=iid, **where, arguments=text)
            )
            state.update(status="completed", arguments=text)
        out.append(self.wire("response.output_item.done", **where, item=state))
        return out

    def output(self) -> list[dict[str, Any]]:
        return [{k: v for k, v in item.items() if k != "_text"} for _, item in sorted(self.items.items())]


def _encode_stream(resp: ChatResponse) -> Response:
    enc = _Encoder(resp)
    ops: dict[int, list[BlockOpen | BlockDelta | BlockClose]] = {}
    for pos, op in blocks(resp):
        ops.setdefault(pos, []).append(op)
    events = resp.events
    finish_at = next((i for i, e in enumerate(events) if isinstance(e.event, Finish)), None)
    if finish_at is None:
        finish_at = next(
            (i for i, e in enumerate(events) if isinstance(e.event, StreamDone)), len(events) - 1
        )
    timed: list[tuple[float, bytes]] = []
    started = False
    for pos, e in enumerate(events):
        wire: list[bytes] = []
        if not started and (isinstance(e.event, Start) or pos in ops or pos == finish_at):
            started = True
            snap = _snapshot(resp, "in_progress", [])
            wire += [
                enc.wire("response.created", response=snap),
                enc.wire("response.in_progress", response=snap),
            ]
        for op in ops.get(pos, []):
            wire += enc.block(op)
        if pos == finish_at:
            status = _final_status(resp)
            wire.append(enc.wire(f"response.{status}", response=_snapshot(resp, status, enc.output())))
        timed.extend((e.t, w) for w in wire)
    return to_response(timed, head_t=resp.head_t, content_type="text/event-stream; charset=utf-8")


def _encode_whole(resp: ChatResponse) -> Response:
    enc = _Encoder(resp)
    for _, op in blocks(resp):
        enc.block(op)
    status = _final_status(resp)
    return json_response(_snapshot(resp, status, enc.output()), t=resp.end_t, head_t=resp.head_t)


CODEC = Codec(
    "openai-responses",
    lambda host, path: path.endswith("/v1/responses") or path == "/responses",
    decode_request,
    encode_request,
    decode_response,
    lambda resp, stream: _encode_stream(resp) if stream else _encode_whole(resp),
    is_stream_request,
)
