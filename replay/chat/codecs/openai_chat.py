"""OpenAI chat completions (``/v1/chat/completions``) and its dialects: Together, Groq, Mistral.

Finish reasons (neutral <- wire on decode, -> wire on encode):

=============== ============================================ ==============================
neutral         decoded from                                 encoded as
=============== ============================================ ==============================
stop            ``stop``, Together ``eos``                   ``stop`` (Together: ``eos``)
length          ``length``, Mistral ``model_length``         ``length``
tool_calls      ``tool_calls``, ``function_call``            ``tool_calls``
content_filter  ``content_filter``                           ``content_filter``
stop_sequence   (no equivalent: OpenAI says ``stop``)        ``stop``
other           anything else (Mistral ``error``, ...)       ``stop`` (no equivalent)
=============== ============================================ ==============================

Usage: ``prompt_tokens``/``completion_tokens`` <-> input/output; a stream carries it as a last
chunk with ``choices: []`` (as with ``stream_options.include_usage``), or Groq's ``x_groq.usage``
when decoding. Reasoning has no field in OpenAI's schema: it is decoded from ``reasoning_content``
(DeepSeek) or ``reasoning`` (Groq, Ollama's OpenAI endpoint) and encoded as
``reasoning_content``, which the ``openai`` SDK keeps as an extra attribute. Only choice 0 of
an ``n > 1`` answer is read.

Example usage::

    from replay.chat.codecs import CODECS
    neutral = CODECS["openai-chat"].decode_response(interaction.response)
"""

from __future__ import annotations

from typing import Any

from ...model.cassette import Request, Response
from .. import neutral
from ..neutral.wire import json_response, sse, to_response
from .base import Codec, FinishWords, at, chat_response, json_body, timed_sse_json
from .openai_chat_request import decode_request, encode_request, is_stream_request

__all__ = ["CODEC", "DIALECT_FINISH", "decode_finish", "dialect_codec", "encode_finish"]

_FINISH = FinishWords(
    "stop",
    stop=("stop", "eos"),
    length=("length", "model_length"),
    tool_calls=("tool_calls", "function_call"),
    content_filter=("content_filter",),
)
# Each dialect's own words where they differ from OpenAI's.
DIALECT_FINISH: dict[str, dict[neutral.FinishReason, str]] = {
    "openai": {},
    "together": {"stop": "eos", "stop_sequence": "eos"},
    "groq": {},
    "mistral": {"length": "model_length"},
}


def decode_finish(raw: str) -> neutral.Finish:
    return _FINISH.decode(raw)


def encode_finish(finish: neutral.Finish | None, dialect: str = "openai") -> str:
    reason: neutral.FinishReason = finish.reason if finish else "stop"
    return DIALECT_FINISH[dialect].get(reason) or _FINISH.encode(finish)


# -- responses ------------------------------------------------------------------------------


class _ToolState:
    """Open tool calls while decoding: OpenAI never says a call ended, the next one or the finish does."""

    def __init__(self) -> None:
        self.open: list[int] = []

    def start(self, index: int, out: list[neutral.Event]) -> None:
        self.close(out)
        self.open.append(index)

    def close(self, out: list[neutral.Event]) -> None:
        out.extend(neutral.ToolCallEnd(i) for i in self.open)
        self.open.clear()


def _usage(chunk: dict[str, Any]) -> neutral.UsageReport | None:
    usage = chunk.get("usage") or (chunk.get("x_groq") or {}).get("usage")
    if not isinstance(usage, dict):
        return None
    return neutral.UsageReport(usage.get("prompt_tokens"), usage.get("completion_tokens"))


def _delta_events(choice: dict[str, Any], tools: _ToolState, started: set[int]) -> list[neutral.Event]:
    out: list[neutral.Event] = []
    delta = choice.get("delta") or choice.get("message") or {}
    reasoning = delta.get("reasoning_content") or delta.get("reasoning")
    if reasoning:
        out.append(neutral.ReasoningDelta(reasoning))
    if delta.get("content"):
        out.append(neutral.TextDelta(delta["content"]))
    for i, call in enumerate(delta.get("tool_calls") or []):
        index = call.get("index", i)
        fn = call.get("function") or {}
        if index not in started:
            started.add(index)
            tools.start(index, out)
            out.append(neutral.ToolCallStart(index, call.get("id") or "", fn.get("name") or ""))
        if fn.get("arguments"):
            out.append(neutral.ToolArgsDelta(index, fn["arguments"]))
    if choice.get("finish_reason"):
        tools.close(out)
        out.append(decode_finish(choice["finish_reason"]))
    return out


def decode_response(response: Response) -> neutral.ChatResponse:
    if not response.is_event_stream:
        return _decode_whole(response)
    events: list[neutral.Timed] = []
    head: dict[str, Any] = {}
    tools = _ToolState()
    started: set[int] = set()
    for t, _, data in timed_sse_json(response):
        if data == "[DONE]":
            events.append(neutral.Timed(t, neutral.StreamDone()))
            continue
        out: list[neutral.Event] = []
        if not head and data.get("id") is not None:
            head = data
            out.append(neutral.Start())
        for choice in data.get("choices") or []:
            if choice.get("index", 0) == 0:
                out.extend(_delta_events(choice, tools, started))
        usage = _usage(data)
        if usage is not None:
            out.append(usage)
        events.extend(at(t, out))
    return chat_response(events, head, response, created="created")


def _decode_whole(response: Response) -> neutral.ChatResponse:
    body = json_body(response.body, "response body")
    out: list[neutral.Event] = [neutral.Start()]
    choice: dict[str, Any] = next((c for c in body.get("choices") or [] if c.get("index", 0) == 0), {})
    message = dict(choice.get("message") or {})
    message["tool_calls"] = [{**c, "index": i} for i, c in enumerate(message.get("tool_calls") or [])]
    out.extend(_delta_events({**choice, "message": message}, _ToolState(), set()))
    usage = _usage(body)
    if usage is not None:
        out.append(usage)
    out.append(neutral.StreamDone())
    return chat_response(at(response.duration, out), body, response, created="created")


def _chunk_delta(ev: neutral.Event) -> dict[str, Any] | None:
    if isinstance(ev, neutral.Start):
        return {"role": "assistant", "content": ""}
    if isinstance(ev, neutral.TextDelta):
        return {"content": ev.text}
    if isinstance(ev, neutral.ReasoningDelta):
        return {"reasoning_content": ev.text}
    if isinstance(ev, neutral.ToolCallStart):
        fn = {"name": ev.name, "arguments": ""}
        return {"tool_calls": [{"index": ev.index, "id": ev.id, "type": "function", "function": fn}]}
    if isinstance(ev, neutral.ToolArgsDelta):
        return {"tool_calls": [{"index": ev.index, "function": {"arguments": ev.arguments}}]}
    return None


def _usage_body(usage: neutral.UsageReport) -> dict[str, int]:
    inp, out = usage.input_tokens or 0, usage.output_tokens or 0
    return {"prompt_tokens": inp, "completion_tokens": out, "total_tokens": inp + out}


def _encode_stream(resp: neutral.ChatResponse, dialect: str) -> Response:
    base = {
        "id": resp.id or "chatcmpl-replay",
        "object": "chat.completion.chunk",
        "created": resp.created,
        "model": resp.model,
    }
    last_usage = max(
        (i for i, e in enumerate(resp.events) if isinstance(e.event, neutral.UsageReport)), default=-1
    )
    timed: list[tuple[float, bytes]] = []
    for i, e in enumerate(resp.events):
        ev = e.event
        delta = _chunk_delta(ev)
        if delta is not None:
            choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": None}
            timed.append((e.t, sse({**base, "choices": [choice]})))
        elif isinstance(ev, neutral.Finish):
            choice = {"index": 0, "delta": {}, "logprobs": None, "finish_reason": encode_finish(ev, dialect)}
            timed.append((e.t, sse({**base, "choices": [choice]})))
        elif i == last_usage:
            timed.append((e.t, sse({**base, "choices": [], "usage": _usage_body(resp.usage)})))
        elif isinstance(ev, neutral.StreamDone):
            timed.append((e.t, sse("[DONE]")))
    return to_response(timed, head_t=resp.head_t, content_type="text/event-stream; charset=utf-8")


def _encode_whole(resp: neutral.ChatResponse, dialect: str) -> Response:
    message: dict[str, Any] = {"role": "assistant", "content": resp.text or None, "refusal": None}
    if resp.reasoning:
        message["reasoning_content"] = resp.reasoning
    calls = resp.tool_calls()
    if calls:
        message["tool_calls"] = [
            {"id": cid, "type": "function", "function": {"name": name, "arguments": args}}
            for cid, name, args in calls
        ]
    body: dict[str, Any] = {
        "id": resp.id or "chatcmpl-replay",
        "object": "chat.completion",
        "created": resp.created,
        "model": resp.model,
        "choices": [
            {
                "index": 0,
                "message": message,
                "logprobs": None,
                "finish_reason": encode_finish(resp.finish, dialect),
            }
        ],
    }
    if any(isinstance(e.event, neutral.UsageReport) for e in resp.events):
        body["usage"] = _usage_body(resp.usage)
    return json_response(body, t=resp.end_t, head_t=resp.head_t)


_HOSTS = {"together": "api.together.xyz", "groq": "api.groq.com", "mistral": "api.mistral.ai"}


def dialect_codec(dialect: str) -> Codec:
    """The codec for OpenAI itself or one of the compatible dialects (finish reasons differ)."""
    if dialect not in DIALECT_FINISH:
        raise ValueError(f"unknown OpenAI-compatible dialect {dialect!r}; known: {', '.join(DIALECT_FINISH)}")

    def handles(host: str, path: str) -> bool:
        if not path.endswith("/chat/completions"):
            return False
        return (
            dialect == "openai"
            if not any(h in host for h in _HOSTS.values())
            else _HOSTS.get(dialect, "") in host
        )

    def encode_req(req: neutral.ChatRequest) -> Request:
        wire = encode_request(req)
        if dialect == "openai":
            return wire
        path = "/openai/v1/chat/completions" if dialect == "groq" else "/v1/chat/completions"
        return wire.model_copy(update={"url": f"https://{_HOSTS[dialect]}{path}"})

    def encode_stream(resp: neutral.ChatResponse) -> Response:
        return _encode_stream(resp, dialect)

    def encode_whole(resp: neutral.ChatResponse) -> Response:
        return _encode_whole(resp, dialect)

    name = "openai-chat" if dialect == "openai" else f"{dialect}-chat"
    return Codec(
        name,
        handles,
        decode_request,
        encode_req,
        decode_response,
        encode_stream,
        encode_whole,
        is_stream_request,
    )


CODEC = dialect_codec("openai")
