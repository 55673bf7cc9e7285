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
"""

from __future__ import annotations

from typing import Any

from ...model.cassette import Response
from .. import neutral
from ..neutral.wire import (
    BlockClose,
    BlockDelta,
    BlockOpen,
    blocks,
    blocks_at,
    json_response,
    sse,
    to_response,
)
from .base import Codec, at, chat_response, json_body, timed_sse_json
from .openai_responses_request import decode_request, encode_request, is_stream_request

# The request side lives in openai_responses_request; the codec is read from this namespace.
__all__ = ["CODEC", "decode_request", "encode_request", "is_stream_request"]


# -- responses ------------------------------------------------------------------------------


def _finish(body: dict[str, Any], had_tools: bool) -> neutral.Finish:
    status = body.get("status", "completed")
    if status == "completed":
        return neutral.Finish("tool_calls" if had_tools else "stop", status)
    reason = (body.get("incomplete_details") or {}).get("reason", "")
    if status == "incomplete" and reason == "max_output_tokens":
        return neutral.Finish("length", reason)
    if status == "incomplete" and reason == "content_filter":
        return neutral.Finish("content_filter", reason)
    return neutral.Finish("other", reason or status)


def _usage(body: dict[str, Any]) -> list[neutral.Event]:
    usage = body.get("usage")
    if not isinstance(usage, dict):
        return []
    return [neutral.UsageReport(usage.get("input_tokens"), usage.get("output_tokens"))]


class _Decoder:
    def __init__(self) -> None:
        self.tools: dict[str, int] = {}  # item id -> tool index
        self.head: dict[str, Any] = {}

    def event(self, kind: str, data: dict[str, Any]) -> list[neutral.Event]:
        if kind == "response.created":
            self.head = data.get("response", {})
            return [neutral.Start()]
        if kind == "response.output_item.added" and data.get("item", {}).get("type") == "function_call":
            item = data["item"]
            self.tools[item.get("id", "")] = index = len(self.tools)
            start: list[neutral.Event] = [
                neutral.ToolCallStart(index, item.get("call_id", ""), item.get("name", ""))
            ]
            return start + (
                [neutral.ToolArgsDelta(index, item["arguments"])] if item.get("arguments") else []
            )
        if kind == "response.output_text.delta" and data.get("delta"):
            return [neutral.TextDelta(data["delta"])]
        if kind in ("response.reasoning_text.delta", "response.reasoning_summary_text.delta") and data.get(
            "delta"
        ):
            return [neutral.ReasoningDelta(data["delta"])]
        if (
            kind == "response.function_call_arguments.delta"
            and data.get("item_id") in self.tools
            and data.get("delta")
        ):
            return [neutral.ToolArgsDelta(self.tools[data["item_id"]], data["delta"])]
        if kind == "response.output_item.done" and data.get("item", {}).get("id") in self.tools:
            return [neutral.ToolCallEnd(self.tools[data["item"]["id"]])]
        if kind in ("response.completed", "response.incomplete", "response.failed"):
            body = data.get("response", {})
            return [_finish(body, bool(self.tools)), *_usage(body), neutral.StreamDone()]
        return []


def decode_response(response: Response) -> neutral.ChatResponse:
    decoder = _Decoder()
    if not response.is_event_stream:
        body = json_body(response.body, "response body")
        events = decoder.event("response.created", {"response": body})
        for item in body.get("output") or []:
            events += _whole_item(decoder, item)
        events += decoder.event(f"response.{body.get('status', 'completed')}", {"response": body})
        return chat_response(at(response.duration, events), body, response, created="created_at")
    timed: list[neutral.Timed] = []
    for t, name, data in timed_sse_json(response):
        if isinstance(data, dict):
            timed.extend(at(t, decoder.event(data.get("type", name), data)))
    return chat_response(timed, decoder.head, response, created="created_at")


def _whole_item(decoder: _Decoder, item: dict[str, Any]) -> list[neutral.Event]:
    kind = item.get("type")
    if kind == "function_call":
        return decoder.event("response.output_item.added", {"item": item}) + decoder.event(
            "response.output_item.done", {"item": item}
        )
    if kind == "message":
        return [
            neutral.TextDelta(p["text"])
            for p in item.get("content") or []
            if p.get("type") == "output_text" and p.get("text")
        ]
    if kind == "reasoning":
        texts = [p.get("text", "") for p in [*(item.get("content") or []), *(item.get("summary") or [])]]
        return [neutral.ReasoningDelta(t) for t in texts if t]
    return []


def _snapshot(resp: neutral.ChatResponse, status: str, output: list[dict[str, Any]]) -> dict[str, Any]:
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


def _final_status(resp: neutral.ChatResponse) -> str:
    finish = resp.finish
    return (
        "incomplete" if finish is not None and finish.reason in ("length", "content_filter") else "completed"
    )


class _Encoder:
    """Builds the event sequence; items are kept so ``output_item.done`` and the final snapshot agree."""

    def __init__(self, resp: neutral.ChatResponse) -> None:
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


def encode_stream(resp: neutral.ChatResponse) -> Response:
    enc = _Encoder(resp)
    ops = blocks_at(resp)
    events = resp.events
    finish_at = resp.end_index
    timed: list[tuple[float, bytes]] = []
    started = False
    for pos, e in enumerate(events):
        wire: list[bytes] = []
        if not started and (isinstance(e.event, neutral.Start) or pos in ops or pos == finish_at):
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


def encode_whole(resp: neutral.ChatResponse) -> Response:
    enc = _Encoder(resp)
    for _, op in blocks(resp):
        enc.block(op)
    status = _final_status(resp)
    return json_response(_snapshot(resp, status, enc.output()), t=resp.end_t, head_t=resp.head_t)


def handles(host: str, path: str) -> bool:
    return path.endswith("/v1/responses") or path == "/responses"


CODEC = Codec.of_module("openai-responses", __name__)
