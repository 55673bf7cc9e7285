"""Routes of the local test server for the APIs whose streams are not chat-completion SSE:
Ollama (NDJSON), Gemini (SSE with ``alt=sse``, else a streamed JSON array), Bedrock Converse /
ConverseStream / InvokeModelWithResponseStream (AWS event-stream), OpenAI Responses (typed SSE).

Each route answers from the server's :class:`~llm_server.Script` (tokens, finish reason), so
tests know what every SDK must assemble. The frames are written from the formats' public
descriptions; event-stream frames use the library's encoder, whose output botocore's parser
accepts (tests/test_framing.py).
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any

from replay.model.framing import Header, encode_message

__all__ = ["Answer", "route"]

CREATED_AT = "2026-12-04T12:00:00.000000Z"


@dataclass
class Answer:
    """A JSON body (``frames`` is None) or a stream of frames with its content type."""

    status: int = 200
    payload: Any = None
    content_type: str = "application/json"
    frames: list[bytes] | None = None
    headers: tuple[tuple[str, str], ...] = ()


def _compact(obj: Any) -> str:
    return json.dumps(obj, separators=(",", ":"))


# -- Ollama -------------------------------------------------------------------------------------


def _ollama(path: str, body: dict[str, Any], tokens: list[str], finish: str) -> Answer:
    model = body.get("model", "llama3.2")
    chat = path.endswith("/api/chat")
    n_prompt = 9
    final: dict[str, Any] = {
        "model": model,
        "created_at": CREATED_AT,
        "done": True,
        "done_reason": finish,
        "total_duration": 123456789,
        "load_duration": 1234567,
        "prompt_eval_count": n_prompt,
        "prompt_eval_duration": 2345678,
        "eval_count": len(tokens),
        "eval_duration": 98765432,
    }

    def piece(text: str) -> dict[str, Any]:
        head: dict[str, Any] = {"model": model, "created_at": CREATED_AT}
        if chat:
            head["message"] = {"role": "assistant", "content": text}
        else:
            head["response"] = text
        return {**head, "done": False}

    if body.get("stream") is False:
        whole = piece("".join(tokens))
        whole.update({k: v for k, v in final.items() if k not in ("model", "created_at")})
        if not chat:
            whole["context"] = [1, 2, 3]
        return Answer(payload=whole, content_type="application/json; charset=utf-8")
    last = {**piece(""), **final}
    if not chat:
        last["context"] = [1, 2, 3]
    lines = [_compact(piece(t)) + "\n" for t in tokens] + [_compact(last) + "\n"]
    return Answer(content_type="application/x-ndjson", frames=[line.encode() for line in lines])


# -- Gemini -------------------------------------------------------------------------------------


def _gemini(path: str, query: str, tokens: list[str], finish: str) -> Answer:
    model = path.rsplit("/", 1)[-1].split(":")[0]

    def chunk(text: str, last: bool) -> dict[str, Any]:
        candidate: dict[str, Any] = {"content": {"parts": [{"text": text}], "role": "model"}, "index": 0}
        if last:
            candidate["finishReason"] = finish
        return {
            "candidates": [candidate],
            "usageMetadata": {
                "promptTokenCount": 6,
                "candidatesTokenCount": len(tokens) if last else 1,
                "totalTokenCount": 6 + (len(tokens) if last else 1),
            },
            "modelVersion": model,
            "responseId": "resp-gemini-1",
        }

    if ":generateContent" in path:
        return Answer(payload=chunk("".join(tokens), True), content_type="application/json; charset=UTF-8")
    pieces = [chunk(t, i == len(tokens) - 1) for i, t in enumerate(tokens)]
    if "alt=sse" in query:
        frames = [f"data: {_compact(p)}\r\n\r\n".encode() for p in pieces]
        return Answer(content_type="text/event-stream", frames=frames)
    # Without alt=sse: one JSON array, pretty-printed, an element per read.
    texts = [json.dumps(p, indent=2) for p in pieces]
    frames = [("[" if i == 0 else ",\r\n") + text + "\n" for i, text in enumerate(texts)]
    frames[-1] += "]"
    return Answer(content_type="application/json; charset=UTF-8", frames=[f.encode() for f in frames])


# -- Bedrock ------------------------------------------------------------------------------------


def _frame(event_type: str, payload: dict[str, Any]) -> bytes:
    headers = [
        Header.string(":event-type", event_type),
        Header.string(":content-type", "application/json"),
        Header.string(":message-type", "event"),
    ]
    return encode_message(headers, _compact(payload).encode())


def _bedrock(path: str, tokens: list[str], finish: str) -> Answer:
    stop = {"stop": "end_turn", "length": "max_tokens"}.get(finish, finish)
    usage = {"inputTokens": 8, "outputTokens": len(tokens), "totalTokens": 8 + len(tokens)}
    if path.endswith("/converse"):
        return Answer(
            payload={
                "output": {"message": {"role": "assistant", "content": [{"text": "".join(tokens)}]}},
                "stopReason": stop,
                "usage": usage,
                "metrics": {"latencyMs": 321},
            },
        )
    if path.endswith("/converse-stream"):
        frames = [_frame("messageStart", {"p": "abcdefgh", "role": "assistant"})]
        frames += [
            _frame("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": t}, "p": "abcd"})
            for t in tokens
        ]
        frames += [
            _frame("contentBlockStop", {"contentBlockIndex": 0, "p": "ab"}),
            _frame("messageStop", {"p": "abcdef", "stopReason": stop}),
            _frame("metadata", {"metrics": {"latencyMs": 321}, "p": "a", "usage": usage}),
        ]
        return Answer(content_type="application/vnd.amazon.eventstream", frames=frames)
    # invoke-with-response-stream: the model's own (Anthropic) events, base64 in "chunk" events.
    inner: list[dict[str, Any]] = [
        {
            "type": "message_start",
            "message": {
                "id": "msg_bdrk_1",
                "type": "message",
                "role": "assistant",
                "model": "claude-3-haiku",
                "content": [],
                "stop_reason": None,
                "stop_sequence": None,
                "usage": {"input_tokens": 8, "output_tokens": 1},
            },
        },
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        *(
            {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": t}}
            for t in tokens
        ),
        {"type": "content_block_stop", "index": 0},
        {
            "type": "message_delta",
            "delta": {"stop_reason": stop, "stop_sequence": None},
            "usage": {"output_tokens": len(tokens)},
        },
        {
            "type": "message_stop",
            "amazon-bedrock-invocationMetrics": {"inputTokenCount": 8, "outputTokenCount": len(tokens)},
        },
    ]
    frames = [
        _frame("chunk", {"bytes": base64.b64encode(_compact(e).encode()).decode(), "p": "abc"}) for e in inner
    ]
    return Answer(content_type="application/vnd.amazon.eventstream", frames=frames)


# -- OpenAI Responses -----------------------------------------------------------------------------


def _responses(body: dict[str, Any], tokens: list[str], finish: str) -> Answer:
    model = body.get("model", "gpt-test")
    text = "".join(tokens)
    usage = {
        "input_tokens": 11,
        "input_tokens_details": {"cached_tokens": 0},
        "output_tokens": len(tokens),
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": 11 + len(tokens),
    }
    part = {"type": "output_text", "text": text, "annotations": []}
    item = {"id": "msg_r1", "type": "message", "status": "completed", "role": "assistant", "content": [part]}
    incomplete = finish == "length"

    def response(status: str, output: list[Any], with_usage: bool) -> dict[str, Any]:
        return {
            "id": "resp_test1",
            "object": "response",
            "created_at": 1764000000,
            "status": status,
            "incomplete_details": {"reason": "max_output_tokens"} if status == "incomplete" else None,
            "model": model,
            "output": output,
            "parallel_tool_calls": True,
            "tool_choice": "auto",
            "tools": [],
            "usage": usage if with_usage else None,
        }

    final_status = "incomplete" if incomplete else "completed"
    if not body.get("stream"):
        return Answer(payload=response(final_status, [item], True))
    started = {**item, "status": "in_progress", "content": []}
    ids = {"item_id": "msg_r1", "output_index": 0, "content_index": 0}
    events: list[tuple[str, dict[str, Any]]] = [
        ("response.created", {"response": response("in_progress", [], False)}),
        ("response.in_progress", {"response": response("in_progress", [], False)}),
        ("response.output_item.added", {"output_index": 0, "item": started}),
        ("response.content_part.added", {**ids, "part": {**part, "text": ""}}),
        *(("response.output_text.delta", {**ids, "delta": t, "logprobs": []}) for t in tokens),
        ("response.output_text.done", {**ids, "text": text, "logprobs": []}),
        ("response.content_part.done", {**ids, "part": part}),
        ("response.output_item.done", {"output_index": 0, "item": item}),
        (f"response.{final_status}", {"response": response(final_status, [item], True)}),
    ]
    frames = [
        f"event: {name}\ndata: {_compact({'type': name, 'sequence_number': i, **data})}\n\n".encode()
        for i, (name, data) in enumerate(events)
    ]
    return Answer(content_type="text/event-stream; charset=utf-8", frames=frames)


def route(path: str, query: str, body: dict[str, Any], tokens: list[str], finish: str) -> Answer | None:
    """The answer for one of these APIs, or None when the path is not one of theirs."""
    if path in ("/api/chat", "/api/generate"):
        return _ollama(path, body, tokens, finish)
    if ":streamGenerateContent" in path or ":generateContent" in path:
        gemini_finish = {"stop": "STOP", "length": "MAX_TOKENS"}.get(finish, finish)
        return _gemini(path, query, tokens, gemini_finish)
    if path.startswith("/model/"):
        return _bedrock(path, tokens, finish)
    if path.endswith("/responses"):
        return _responses(body, tokens, finish)
    return None
