"""Google Gemini ``generateContent`` / ``streamGenerateContent?alt=sse`` (the ``google-genai`` SDK).

Finish reasons (``finishReason``):

=============== ======================================================== =============
neutral         decoded from                                             encoded as
=============== ======================================================== =============
stop            ``STOP`` without function calls                          ``STOP``
tool_calls      ``STOP`` with ``functionCall`` parts                     ``STOP``
length          ``MAX_TOKENS``                                           ``MAX_TOKENS``
content_filter  ``SAFETY``, ``RECITATION``, ``BLOCKLIST``,               ``SAFETY``
                ``PROHIBITED_CONTENT``, ``SPII``, ``IMAGE_SAFETY``
stop_sequence   (no equivalent: Gemini says ``STOP``)                    ``STOP``
other           ``OTHER``, ``MALFORMED_FUNCTION_CALL``, anything else    ``OTHER``
=============== ======================================================== =============

Usage: ``usageMetadata.promptTokenCount`` / ``candidatesTokenCount`` (repeated on each chunk;
the last wins). Gemini streams a function call whole, so a call is written in one chunk at the
time its arguments completed (the source's argument fragments have no equivalent), and there is
no stream-start or end event: the first chunk carries the first content. A function call without
an ``id`` is numbered ``call_<n>``. A tool result is sent as ``functionResponse`` with
``response: {"result": text}``, named after the call it answers. Reasoning is a part with
``thought: true``. Only candidate 0 is read.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from ...model.cassette import Request, Response
from .. import neutral
from ..neutral.wire import WholeCalls, dumps, json_response, sse, to_response
from .base import ChunkDecoder, Codec, FinishWords, at, json_body, json_request, settings, timed_sse_json

__all__ = ["CODEC"]

_FINISH = FinishWords(
    "STOP",
    stop=("STOP",),
    length=("MAX_TOKENS",),
    content_filter=("SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII", "IMAGE_SAFETY"),
    other=("OTHER",),
)


def _get(d: dict[str, Any], camel: str) -> Any:
    """A field by its camelCase name or its snake_case twin (both are accepted on the wire)."""
    if camel in d:
        return d[camel]
    snake = "".join(f"_{c.lower()}" if c.isupper() else c for c in camel)
    return d.get(snake)


# -- requests -------------------------------------------------------------------------------


def _part(p: dict[str, Any], index: int) -> neutral.Part | None:
    if "text" in p and not p.get("thought"):
        return neutral.Text(p["text"])
    inline = _get(p, "inlineData")
    if inline:
        return neutral.Image(media_type=_get(inline, "mimeType") or "image/png", data=inline.get("data"))
    file = _get(p, "fileData")
    if file:
        return neutral.Image(media_type=_get(file, "mimeType") or "image/png", url=_get(file, "fileUri"))
    call = _get(p, "functionCall")
    if call:
        return neutral.ToolCall(
            call.get("id") or f"call_{index}", call.get("name", ""), call.get("args") or {}
        )
    answer = _get(p, "functionResponse")
    if answer:
        response = answer.get("response") or {}
        text = (
            response["result"]
            if set(response) == {"result"} and isinstance(response["result"], str)
            else dumps(response)
        )
        return neutral.ToolResult(
            answer.get("id") or answer.get("name", ""), text, name=answer.get("name", "")
        )
    return None


def decode_request(request: Request) -> neutral.ChatRequest:
    body = json_body(request.body, f"request body of {request.method} {request.url}")
    messages = []
    calls = 0
    for content in body.get("contents") or []:
        parts = []
        for p in content.get("parts") or []:
            part = _part(p, calls)
            calls += isinstance(part, neutral.ToolCall)
            if part is not None:
                parts.append(part)
        messages.append(
            neutral.Message("assistant" if content.get("role") == "model" else "user", tuple(parts))
        )
    system = _get(body, "systemInstruction")
    config = _get(body, "generationConfig") or {}
    tools = [f for t in body.get("tools") or [] for f in _get(t, "functionDeclarations") or []]
    path = urlsplit(request.url).path
    return neutral.ChatRequest(
        model=path.rsplit("/", 1)[-1].split(":", 1)[0],
        system="".join(p.get("text", "") for p in system.get("parts") or []) if system else None,
        messages=neutral.merge_messages(messages),
        # The SDK sends a JSON schema given as ``parameters_json_schema`` as ``parametersJsonSchema``.
        tools=tuple(
            neutral.Tool(
                f["name"],
                f.get("description", ""),
                f.get("parameters") or _get(f, "parametersJsonSchema") or {},
            )
            for f in tools
        ),
        temperature=config.get("temperature"),
        top_p=_get(config, "topP"),
        stop=tuple(_get(config, "stopSequences") or ()),
        max_tokens=_get(config, "maxOutputTokens"),
        stream=":streamGenerateContent" in path,
    )


def _encode_part(p: neutral.Part, names: dict[str, str]) -> dict[str, Any]:
    if isinstance(p, neutral.Text):
        return {"text": p.text}
    if isinstance(p, neutral.Image):
        if p.url is not None:
            return {"fileData": {"mimeType": p.media_type, "fileUri": p.url}}
        return {"inlineData": {"mimeType": p.media_type, "data": p.data}}
    if isinstance(p, neutral.ToolCall):
        names[p.id] = p.name
        return {
            "functionCall": {
                "id": p.id,
                "name": p.name,
                "args": p.arguments if isinstance(p.arguments, dict) else {},
            }
        }
    name = p.name or names.get(p.tool_call_id, p.tool_call_id)
    return {"functionResponse": {"id": p.tool_call_id, "name": name, "response": {"result": p.content}}}


# Gemini's names for the sampling settings, in the order it writes them.
_SETTINGS = dict(temperature="temperature", top_p="topP", max_tokens="maxOutputTokens", stop="stopSequences")


def encode_request(req: neutral.ChatRequest) -> Request:
    names: dict[str, str] = {}
    body: dict[str, Any] = {
        "contents": [
            {
                "role": "model" if m.role == "assistant" else "user",
                "parts": [_encode_part(p, names) for p in m.parts],
            }
            for m in req.messages
        ]
    }
    if req.system is not None:
        body["systemInstruction"] = {"parts": [{"text": req.system}]}
    if req.tools:
        decls = [
            {"name": t.name, "description": t.description, "parameters": t.parameters} for t in req.tools
        ]
        body["tools"] = [{"functionDeclarations": decls}]
    config = settings(req, _SETTINGS)
    if config:
        body["generationConfig"] = config
    method = "streamGenerateContent?alt=sse" if req.stream else "generateContent"
    return json_request(
        f"https://generativelanguage.googleapis.com/v1/models/{req.model or 'model'}:{method}", body
    )


def is_stream_request(request: Request) -> bool:
    return ":streamGenerateContent" in request.path


# -- responses ------------------------------------------------------------------------------


class _Decoder(ChunkDecoder):
    def chunk(self, data: dict[str, Any]) -> list[neutral.Event]:
        out = self.start(data)
        candidates = data.get("candidates") or [{}]
        cand = candidates[0]
        for p in (cand.get("content") or {}).get("parts") or []:
            out.extend(self._part(p))
        reason = _get(cand, "finishReason")
        if reason:
            out.append(_FINISH.decode(reason, self.tools > 0))
        usage = _get(data, "usageMetadata")
        if isinstance(usage, dict):
            out.append(
                neutral.UsageReport(_get(usage, "promptTokenCount"), _get(usage, "candidatesTokenCount"))
            )
        return out

    def _part(self, p: dict[str, Any]) -> list[neutral.Event]:
        if p.get("text"):
            return [neutral.ReasoningDelta(p["text"]) if p.get("thought") else neutral.TextDelta(p["text"])]
        call = _get(p, "functionCall")
        if not call:
            return []
        return self.whole_call(call.get("id"), call.get("name", ""), call.get("args"))


def decode_response(response: Response) -> neutral.ChatResponse:
    decoder = _Decoder()
    events: list[neutral.Timed] = []
    if response.is_event_stream:
        for t, _, data in timed_sse_json(response):
            if isinstance(data, dict):
                events.extend(at(t, decoder.chunk(data)))
    else:
        body = json_body(response.body, "response body")
        events.extend(at(response.duration, decoder.chunk(body)))
    if events:
        events.append(neutral.Timed(events[-1].t, neutral.StreamDone()))
    head = decoder.head
    return neutral.ChatResponse(
        tuple(events),
        _get(head, "responseId") or "",
        _get(head, "modelVersion") or "",
        0,
        response.is_event_stream,
        response.t,
    )


def _usage(resp: neutral.ChatResponse) -> dict[str, int]:
    inp, out = resp.usage.input_tokens or 0, resp.usage.output_tokens or 0
    return {"promptTokenCount": inp, "candidatesTokenCount": out, "totalTokenCount": inp + out}


def _chunk(
    resp: neutral.ChatResponse, parts: list[dict[str, Any]], finish: str | None = None
) -> dict[str, Any]:
    cand: dict[str, Any] = {"index": 0}
    if parts:
        cand["content"] = {"role": "model", "parts": parts}
    out: dict[str, Any] = {"candidates": [cand], "modelVersion": resp.model, "responseId": resp.id}
    if finish is not None:
        cand["finishReason"] = finish
        out["usageMetadata"] = _usage(resp)
    return out


def _parts_of(ev: neutral.Event, calls: WholeCalls) -> list[dict[str, Any]]:
    if isinstance(ev, neutral.TextDelta):
        return [{"text": ev.text}]
    if isinstance(ev, neutral.ReasoningDelta):
        return [{"text": ev.text, "thought": True}]
    call = calls.feed(ev)
    if call is None:
        return []
    cid, name, value = call
    return [{"functionCall": {"id": cid, "name": name, "args": value}}]


def encode_stream(resp: neutral.ChatResponse) -> Response:
    timed: list[tuple[float, bytes]] = []
    calls = WholeCalls()
    for e in resp.events:
        parts = _parts_of(e.event, calls)
        if parts:
            timed.append((e.t, sse(_chunk(resp, parts))))
        elif isinstance(e.event, neutral.Finish):
            timed.append((e.t, sse(_chunk(resp, [], _FINISH.encode(e.event)))))
    return to_response(timed, head_t=resp.head_t, content_type="text/event-stream")


def encode_whole(resp: neutral.ChatResponse) -> Response:
    parts: list[dict[str, Any]] = []
    calls = WholeCalls()
    if resp.reasoning:
        parts.append({"text": resp.reasoning, "thought": True})
    if resp.text:
        parts.append({"text": resp.text})
    for e in resp.events:
        if isinstance(e.event, neutral.ToolCallStart | neutral.ToolArgsDelta | neutral.ToolCallEnd):
            parts.extend(_parts_of(e.event, calls))
    return json_response(
        _chunk(resp, parts, _FINISH.encode(resp.finish)),
        t=resp.end_t,
        head_t=resp.head_t,
    )


def handles(host: str, path: str) -> bool:
    return ":generateContent" in path or ":streamGenerateContent" in path


CODEC = Codec.of_module("gemini", __name__)
