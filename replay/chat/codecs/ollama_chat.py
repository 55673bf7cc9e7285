"""Ollama chat (``/api/chat``): NDJSON lines when streaming (Ollama's default), one JSON otherwise.

Finish reasons (``done_reason``):

=============== ============================================ ==========
neutral         decoded from                                 encoded as
=============== ============================================ ==========
stop            ``stop`` without tool calls                  ``stop``
tool_calls      ``stop`` with ``tool_calls`` in a message    ``stop``
length          ``length``                                   ``length``
content_filter  (no equivalent)                              ``stop``
stop_sequence   (no equivalent: Ollama says ``stop``)        ``stop``
other           ``load``, ``unload``, anything else          ``stop``
=============== ============================================ ==========

Usage: ``prompt_eval_count`` / ``eval_count``; ``total_duration`` and ``eval_duration``
(nanoseconds) are computed from the recorded timing. Ollama sends a tool call whole, so it is
written in one line at the time its arguments completed; Ollama has no tool-call ids (a call
without one is numbered ``call_<n>``; requests carry ``tool_call_id``/``tool_name`` so a
translation back keeps them). Reasoning is the message's ``thinking`` field. There is no
start line: the first line carries the first content; the ``done: true`` line ends the stream.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

from ...model.cassette import Request, Response
from ...model.framing import encode_line, iter_decoded
from .. import neutral
from ..neutral.wire import WholeCalls, dumps, json_response, to_response
from .base import (
    ChunkDecoder,
    Codec,
    FinishWords,
    TranslationError,
    at,
    json_body,
    json_request,
    settings,
    stream_field,
)
from .openai_chat_request import SETTINGS, decode_stop, decode_tool, decode_turns, encode_tool

__all__ = ["CODEC"]

_FINISH = FinishWords("stop", stop=("stop",), length=("length",))


# -- requests -------------------------------------------------------------------------------


def _message(m: dict[str, Any], calls: list[int]) -> neutral.Message | str | None:
    role = m.get("role")
    content = m.get("content") or ""
    if role == "system":
        return content
    if role == "tool":
        name = m.get("tool_name", "")
        return neutral.Message(
            "user", (neutral.ToolResult(m.get("tool_call_id") or name, content, name=name),)
        )
    parts: list[neutral.Part] = [neutral.Text(content)] if content else []
    parts.extend(neutral.Image(media_type="image/png", data=img) for img in m.get("images") or [])
    for call in m.get("tool_calls") or []:
        fn = call.get("function", {})
        parts.append(
            neutral.ToolCall(
                call.get("id") or f"call_{calls[0]}", fn.get("name", ""), fn.get("arguments") or {}
            )
        )
        calls[0] += 1
    return neutral.Message("assistant" if role == "assistant" else "user", tuple(parts))


def decode_request(request: Request) -> neutral.ChatRequest:
    body = json_body(request.body, f"request body of {request.method} {request.url}")
    calls = [0]
    system, messages = decode_turns(_message(m, calls) for m in body.get("messages") or [])
    options = body.get("options") or {}
    return neutral.ChatRequest(
        model=body.get("model", ""),
        system=system,
        messages=messages,
        tools=tuple(decode_tool(t) for t in body.get("tools") or [] if "function" in t),
        temperature=options.get("temperature"),
        top_p=options.get("top_p"),
        stop=decode_stop(options.get("stop")),
        max_tokens=options.get("num_predict"),
        stream=bool(body.get("stream", True)),  # Ollama streams unless told not to
    )


def _encode_message(m: neutral.Message, names: dict[str, str]) -> list[dict[str, Any]]:
    text = "".join(p.text for p in m.parts if isinstance(p, neutral.Text))
    images = [p.data for p in m.parts if isinstance(p, neutral.Image) and p.data is not None]
    if any(isinstance(p, neutral.Image) and p.data is None for p in m.parts):
        raise TranslationError(
            "Ollama takes images as base64 data only; an image given by URL cannot be translated"
        )
    out: list[dict[str, Any]] = []
    for p in m.parts:
        if isinstance(p, neutral.ToolResult):
            name = p.name or names.get(p.tool_call_id, "")
            out.append(
                {"role": "tool", "content": p.content, "tool_name": name, "tool_call_id": p.tool_call_id}
            )
    msg: dict[str, Any] = {"role": m.role, "content": text}
    if images:
        msg["images"] = images
    calls = [p for p in m.parts if isinstance(p, neutral.ToolCall)]
    for c in calls:
        names[c.id] = c.name
    if calls:
        msg["tool_calls"] = [
            {"id": c.id, "function": {"name": c.name, "arguments": c.arguments}} for c in calls
        ]
    if text or images or calls:
        out.append(msg)
    return out


def encode_request(req: neutral.ChatRequest) -> Request:
    names: dict[str, str] = {}
    messages = [{"role": "system", "content": req.system}] if req.system is not None else []
    for m in req.messages:
        messages.extend(_encode_message(m, names))
    body: dict[str, Any] = {"model": req.model, "messages": messages, "stream": req.stream}
    if req.tools:
        body["tools"] = [encode_tool(t) for t in req.tools]
    options = settings(req, {**SETTINGS, "max_tokens": "num_predict"})
    if options:
        body["options"] = options
    return json_request("http://localhost:11434/api/chat", body)


def is_stream_request(request: Request) -> bool:
    return stream_field(request, default=True)  # Ollama streams unless told not to


# -- responses ------------------------------------------------------------------------------


class _Decoder(ChunkDecoder):
    def line(self, data: dict[str, Any]) -> list[neutral.Event]:
        out = self.start(data)
        message = data.get("message") or {}
        if message.get("thinking"):
            out.append(neutral.ReasoningDelta(message["thinking"]))
        if message.get("content"):
            out.append(neutral.TextDelta(message["content"]))
        for call in message.get("tool_calls") or []:
            fn = call.get("function", {})
            out += self.whole_call(call.get("id"), fn.get("name", ""), fn.get("arguments"))
        if data.get("done"):
            out += [
                _FINISH.decode(data.get("done_reason") or "stop", self.tools > 0),
                neutral.UsageReport(data.get("prompt_eval_count"), data.get("eval_count")),
                neutral.StreamDone(),
            ]
        return out


def decode_response(response: Response) -> neutral.ChatResponse:
    decoder = _Decoder()
    events: list[neutral.Timed] = []
    stream = "ndjson" in response.content_type or response.body.strip().count(b"\n") > 0
    if not stream:
        body = json_body(response.body, "response body")
        events = at(response.duration, decoder.line(body))
    else:
        for ev in iter_decoded("ndjson", ((c.t, c.data) for c in response.chunks)):
            data = json_body(ev.data.encode(), f"NDJSON line at byte {ev.start}")
            events.extend(at(ev.t if ev.t is not None else response.t, decoder.line(data)))
    created = 0
    if decoder.head.get("created_at"):
        try:
            created = int(
                datetime.fromisoformat(decoder.head["created_at"].replace("Z", "+00:00")[:26]).timestamp()
            )
        except ValueError:
            created = 0
    return neutral.ChatResponse(tuple(events), "", decoder.head.get("model", ""), created, stream, response.t)


def _iso(created: int) -> str:
    return datetime.fromtimestamp(created, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _done_line(resp: neutral.ChatResponse, message: dict[str, Any]) -> dict[str, Any]:
    finish = resp.finish
    nanos = round(resp.end_t * 1e9)
    first = next(
        (
            e.t
            for e in resp.events
            if isinstance(e.event, neutral.TextDelta | neutral.ReasoningDelta | neutral.ToolCallStart)
        ),
        resp.end_t,
    )
    return {
        "model": resp.model,
        "created_at": _iso(resp.created),
        "message": message,
        "done": True,
        "done_reason": _FINISH.encode(finish),
        "total_duration": nanos,
        "load_duration": 0,
        "prompt_eval_count": resp.usage.input_tokens or 0,
        "prompt_eval_duration": round(first * 1e9),
        "eval_count": resp.usage.output_tokens or 0,
        "eval_duration": nanos - round(first * 1e9),
    }


def _line_message(ev: neutral.Event, calls: WholeCalls) -> dict[str, Any] | None:
    if isinstance(ev, neutral.TextDelta):
        return {"role": "assistant", "content": ev.text}
    if isinstance(ev, neutral.ReasoningDelta):
        return {"role": "assistant", "content": "", "thinking": ev.text}
    call = calls.feed(ev)
    if call is None:
        return None
    _, name, value = call
    return {
        "role": "assistant",
        "content": "",
        "tool_calls": [{"function": {"name": name, "arguments": value}}],
    }


def encode_stream(resp: neutral.ChatResponse) -> Response:
    end_at = resp.end_index
    timed: list[tuple[float, bytes]] = []
    calls = WholeCalls()
    for pos, e in enumerate(resp.events):
        message = _line_message(e.event, calls)
        if message is not None:
            line = {"model": resp.model, "created_at": _iso(resp.created), "message": message, "done": False}
            timed.append((e.t, encode_line(dumps(line))))
        if pos == end_at:
            timed.append((e.t, encode_line(dumps(_done_line(resp, {"role": "assistant", "content": ""})))))
    return to_response(timed, head_t=resp.head_t, content_type="application/x-ndjson")


def encode_whole(resp: neutral.ChatResponse) -> Response:
    message: dict[str, Any] = {"role": "assistant", "content": resp.text}
    if resp.reasoning:
        message["thinking"] = resp.reasoning
    calls = resp.tool_calls()
    if calls:
        message["tool_calls"] = [
            {"function": {"name": n, "arguments": json.loads(a) if a else {}}} for _, n, a in calls
        ]
    return json_response(_done_line(resp, message), t=resp.end_t, head_t=resp.head_t)


def handles(host: str, path: str) -> bool:
    return path.endswith("/api/chat")


CODEC = Codec.of_module("ollama-chat", __name__)
