"""Amazon Bedrock ``Converse`` (JSON) and ``ConverseStream`` (AWS event-stream), as boto3 calls them.

Finish reasons (``stopReason``):

=============== ============================================================ ===================
neutral         decoded from                                                 encoded as
=============== ============================================================ ===================
stop            ``end_turn``                                                 ``end_turn``
tool_calls      ``tool_use``                                                 ``tool_use``
length          ``max_tokens``, ``model_context_window_exceeded``            ``max_tokens``
content_filter  ``guardrail_intervened``, ``content_filtered``               ``content_filtered``
stop_sequence   ``stop_sequence``                                            ``stop_sequence``
other           anything else                                                ``end_turn``
=============== ============================================================ ===================

Usage: ``usage.inputTokens`` / ``outputTokens`` (the stream's last ``metadata`` event, which
also carries ``metrics.latencyMs``, computed from the recorded timing). Each stream event is one
event-stream message (``:event-type``, ``:content-type: application/json``, ``:message-type:
event``) framed with :func:`replay.model.framing.encode_message` (CRCs included). Text blocks
have no ``contentBlockStart`` (as Bedrock sends them); tool-use blocks do. Reasoning is
``reasoningContent.text`` (its signature has no equivalent and is not written). Images are
sent as bytes with a ``format`` taken from the media type; an image given by URL cannot be.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from ...model.cassette import Request, Response
from ...model.framing import Header, encode_message, iter_decoded
from .. import neutral
from ..neutral.wire import BlockClose, BlockDelta, BlockOpen, blocks_at, dumps, json_response, to_response
from .base import Codec, FinishWords, TranslationError, at, json_body, json_request, settings

__all__ = ["CODEC"]

_FINISH = FinishWords(
    "end_turn",
    stop=("end_turn",),
    tool_calls=("tool_use",),
    length=("max_tokens", "model_context_window_exceeded"),
    content_filter=("content_filtered", "guardrail_intervened"),
    stop_sequence=("stop_sequence",),
)
CONTENT_TYPE = "application/vnd.amazon.eventstream"
_HOST = "bedrock-runtime.us-east-1.amazonaws.com"


# -- requests -------------------------------------------------------------------------------


def _part(block: dict[str, Any]) -> neutral.Part | None:
    if "text" in block:
        return neutral.Text(block["text"])
    if "image" in block:
        img = block["image"]
        return neutral.Image(
            media_type=f"image/{img.get('format', 'png')}", data=img.get("source", {}).get("bytes")
        )
    if "toolUse" in block:
        use = block["toolUse"]
        return neutral.ToolCall(use.get("toolUseId", ""), use.get("name", ""), use.get("input", {}))
    if "toolResult" in block:
        res = block["toolResult"]
        text = "".join(
            c.get("text", "") if "text" in c else dumps(c.get("json")) for c in res.get("content") or []
        )
        return neutral.ToolResult(res.get("toolUseId", ""), text, is_error=res.get("status") == "error")
    return None


def decode_request(request: Request) -> neutral.ChatRequest:
    body = json_body(request.body, f"request body of {request.method} {request.url}")
    path = urlsplit(request.url).path
    model = unquote(path.split("/model/", 1)[-1].rsplit("/", 1)[0]) if "/model/" in path else ""
    messages = [
        neutral.Message(
            "assistant" if m.get("role") == "assistant" else "user",
            tuple(p for p in (_part(b) for b in m.get("content") or []) if p is not None),
        )
        for m in body.get("messages") or []
    ]
    config = body.get("inferenceConfig") or {}
    specs = [t["toolSpec"] for t in (body.get("toolConfig") or {}).get("tools") or [] if "toolSpec" in t]
    system = body.get("system")
    return neutral.ChatRequest(
        model=model,
        system="".join(s.get("text", "") for s in system) if system else None,
        messages=neutral.merge_messages(messages),
        tools=tuple(
            neutral.Tool(s["name"], s.get("description", ""), (s.get("inputSchema") or {}).get("json", {}))
            for s in specs
        ),
        temperature=config.get("temperature"),
        top_p=config.get("topP"),
        stop=tuple(config.get("stopSequences") or ()),
        max_tokens=config.get("maxTokens"),
        stream=path.endswith("/converse-stream"),
    )


def _encode_part(p: neutral.Part) -> dict[str, Any]:
    if isinstance(p, neutral.Text):
        return {"text": p.text}
    if isinstance(p, neutral.Image):
        if p.data is None:
            raise TranslationError(
                "Bedrock Converse takes images as bytes only; an image given by URL cannot be translated"
            )
        return {"image": {"format": p.media_type.rsplit("/", 1)[-1], "source": {"bytes": p.data}}}
    if isinstance(p, neutral.ToolCall):
        return {
            "toolUse": {
                "toolUseId": p.id,
                "name": p.name,
                "input": p.arguments if isinstance(p.arguments, dict) else {},
            }
        }
    return {
        "toolResult": {
            "toolUseId": p.tool_call_id,
            "content": [{"text": p.content}],
            "status": "error" if p.is_error else "success",
        }
    }


# Bedrock's names for the sampling settings, in the order it writes them.
_SETTINGS = dict(max_tokens="maxTokens", temperature="temperature", top_p="topP", stop="stopSequences")


def encode_request(req: neutral.ChatRequest) -> Request:
    body: dict[str, Any] = {
        "messages": [
            {"role": m.role, "content": [_encode_part(p) for p in m.parts]}
            for m in neutral.merge_messages(req.messages)
        ]
    }
    if req.system is not None:
        body["system"] = [{"text": req.system}]
    config = settings(req, _SETTINGS)
    if config:
        body["inferenceConfig"] = config
    if req.tools:
        specs = [
            {
                "toolSpec": {
                    "name": t.name,
                    "description": t.description,
                    "inputSchema": {"json": t.parameters},
                }
            }
            for t in req.tools
        ]
        body["toolConfig"] = {"tools": specs}
    op = "converse-stream" if req.stream else "converse"
    return json_request(f"https://{_HOST}/model/{quote(req.model or 'model', safe='')}/{op}", body)


def is_stream_request(request: Request) -> bool:
    return request.path.endswith("/converse-stream")


# -- responses ------------------------------------------------------------------------------


class _Decoder:
    def __init__(self) -> None:
        self.tool_of_block: dict[int, int] = {}

    def event(self, kind: str, data: dict[str, Any]) -> list[neutral.Event]:
        index = data.get("contentBlockIndex", 0)
        if kind == "messageStart":
            return [neutral.Start()]
        if kind == "contentBlockStart" and "toolUse" in (data.get("start") or {}):
            use = data["start"]["toolUse"]
            self.tool_of_block[index] = tool = len(self.tool_of_block)
            return [neutral.ToolCallStart(tool, use.get("toolUseId", ""), use.get("name", ""))]
        if kind == "contentBlockDelta":
            delta = data.get("delta") or {}
            if delta.get("text"):
                return [neutral.TextDelta(delta["text"])]
            if (delta.get("reasoningContent") or {}).get("text"):
                return [neutral.ReasoningDelta(delta["reasoningContent"]["text"])]
            if (delta.get("toolUse") or {}).get("input") and index in self.tool_of_block:
                return [neutral.ToolArgsDelta(self.tool_of_block[index], delta["toolUse"]["input"])]
        if kind == "contentBlockStop" and index in self.tool_of_block:
            return [neutral.ToolCallEnd(self.tool_of_block[index])]
        if kind == "messageStop":
            reason = data.get("stopReason", "")
            return [_FINISH.decode(reason)]
        if kind == "metadata":
            usage = data.get("usage") or {}
            return [
                neutral.UsageReport(usage.get("inputTokens"), usage.get("outputTokens")),
                neutral.StreamDone(),
            ]
        return []


def decode_response(response: Response) -> neutral.ChatResponse:
    decoder = _Decoder()
    if response.content_type != CONTENT_TYPE:
        body = json_body(response.body, "response body")
        wire: list[tuple[str, dict[str, Any]]] = [("messageStart", {})]
        for i, block in enumerate(((body.get("output") or {}).get("message") or {}).get("content") or []):
            wire.extend(_whole_block(i, block))
        wire += [
            ("messageStop", {"stopReason": body.get("stopReason", "")}),
            ("metadata", {"usage": body.get("usage")}),
        ]
        events = at(response.duration, [e for kind, data in wire for e in decoder.event(kind, data)])
        return neutral.ChatResponse(tuple(events), "", "", 0, False, response.t)
    timed: list[neutral.Timed] = []
    for msg in iter_decoded("eventstream", ((c.t, c.data) for c in response.chunks)):
        if getattr(msg, "message_type", "event") != "event":
            raise TranslationError(
                f"the stream carries a {msg.event} exception ({msg.data[:200]}); "
                "an error cannot be translated"
            )
        data = json_body(msg.data.encode(), f"event-stream message {msg.event!r} at byte {msg.start}")
        t = msg.t if msg.t is not None else response.t
        timed.extend(at(t, decoder.event(msg.event, data)))
    return neutral.ChatResponse(tuple(timed), "", "", 0, True, response.t)


def _whole_block(i: int, block: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    if "toolUse" in block:
        use = block["toolUse"]
        start = {
            "contentBlockIndex": i,
            "start": {"toolUse": {"toolUseId": use.get("toolUseId"), "name": use.get("name")}},
        }
        delta = {"contentBlockIndex": i, "delta": {"toolUse": {"input": dumps(use.get("input", {}))}}}
        return [
            ("contentBlockStart", start),
            ("contentBlockDelta", delta),
            ("contentBlockStop", {"contentBlockIndex": i}),
        ]
    if "reasoningContent" in block:
        text = ((block["reasoningContent"] or {}).get("reasoningText") or {}).get("text", "")
        return [
            ("contentBlockDelta", {"contentBlockIndex": i, "delta": {"reasoningContent": {"text": text}}})
        ]
    return [("contentBlockDelta", {"contentBlockIndex": i, "delta": {"text": block.get("text", "")}})]


def _message(kind: str, payload: dict[str, Any]) -> bytes:
    headers = [
        Header.string(":event-type", kind),
        Header.string(":content-type", "application/json"),
        Header.string(":message-type", "event"),
    ]
    return encode_message(headers, dumps(payload).encode())


def _block_wire(op: BlockOpen | BlockDelta | BlockClose) -> tuple[str, dict[str, Any]] | None:
    if isinstance(op, BlockOpen):
        if op.kind != "tool":
            return None
        return "contentBlockStart", {
            "start": {"toolUse": {"toolUseId": op.id, "name": op.name}},
            "contentBlockIndex": op.block,
        }
    if isinstance(op, BlockDelta):
        delta = {
            "text": {"text": op.text},
            "reasoning": {"reasoningContent": {"text": op.text}},
            "tool": {"toolUse": {"input": op.text}},
        }[op.kind]
        return "contentBlockDelta", {"delta": delta, "contentBlockIndex": op.block}
    return "contentBlockStop", {"contentBlockIndex": op.block}


def _metadata(resp: neutral.ChatResponse) -> dict[str, Any]:
    inp, out = resp.usage.input_tokens or 0, resp.usage.output_tokens or 0
    return {
        "usage": {"inputTokens": inp, "outputTokens": out, "totalTokens": inp + out},
        "metrics": {"latencyMs": round(resp.end_t * 1000)},
    }


def encode_stream(resp: neutral.ChatResponse) -> Response:
    ops = blocks_at(resp)
    timed: list[tuple[float, bytes]] = []
    started = False
    last = len(resp.events) - 1
    for pos, e in enumerate(resp.events):
        wire: list[tuple[str, dict[str, Any]]] = []
        if not started and (isinstance(e.event, neutral.Start) or pos in ops):
            started = True
            wire.append(("messageStart", {"role": "assistant"}))
        wire.extend(w for w in (_block_wire(op) for op in ops.get(pos, [])) if w is not None)
        if isinstance(e.event, neutral.Finish):
            wire.append(("messageStop", {"stopReason": _FINISH.encode(e.event)}))
        if pos == last:
            wire.append(("metadata", _metadata(resp)))
        timed.extend((e.t, _message(kind, payload)) for kind, payload in wire)
    response = to_response(timed, head_t=resp.head_t, content_type=CONTENT_TYPE)
    return response.model_copy(
        update={"headers": [*response.headers, ("x-amzn-requestid", resp.id or "replay")]}
    )


def encode_whole(resp: neutral.ChatResponse) -> Response:
    content: list[dict[str, Any]] = []
    if resp.reasoning:
        content.append({"reasoningContent": {"reasoningText": {"text": resp.reasoning}}})
    if resp.text:
        content.append({"text": resp.text})
    for cid, name, args in resp.tool_calls():
        content.append(
            {"toolUse": {"toolUseId": cid, "name": name, "input": json.loads(args) if args else {}}}
        )
    body = {
        "output": {"message": {"role": "assistant", "content": content}},
        "stopReason": _FINISH.encode(resp.finish),
        **_metadata(resp),
    }
    return json_response(body, t=resp.end_t, head_t=resp.head_t)


def handles(host: str, path: str) -> bool:
    return "/model/" in path and path.endswith(("/converse", "/converse-stream"))


CODEC = Codec.of_module("bedrock-converse", __name__)
