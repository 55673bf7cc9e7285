"""Assembly for every API: text, tool calls, finish reason and usage from non-streamed bodies
and from streams in each framing (bodies written from the APIs' public descriptions)."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from replay.chat import AssembledToolCall, ChatCompletionError
from replay.model.cassette import Chunk, Response
from replay.model.framing import Header, encode_message


def _response(content_type: str, *pieces: bytes) -> Response:
    return Response(
        status=200,
        headers=[("content-type", content_type)],
        chunks=[Chunk(0.1 * (i + 1), p) for i, p in enumerate(pieces)],
    )


def _json(obj: Any) -> bytes:
    return json.dumps(obj).encode()


def test_responses_non_stream_with_a_function_call() -> None:
    body = {
        "id": "resp_1",
        "object": "response",
        "status": "incomplete",
        "incomplete_details": {"reason": "max_output_tokens"},
        "model": "gpt-4o",
        "output": [
            {"type": "message", "content": [{"type": "output_text", "text": "Let me check."}]},
            {"type": "function_call", "name": "weather", "arguments": '{"city":"Oslo"}', "call_id": "call_9"},
        ],
        "usage": {"input_tokens": 12, "output_tokens": 7, "total_tokens": 19},
    }
    result = _response("application/json", _json(body)).assembled()
    assert (result.api, result.text, result.finish_reason) == (
        "responses",
        "Let me check.",
        "max_output_tokens",
    )
    assert result.tool_calls == [AssembledToolCall("weather", '{"city":"Oslo"}', "call_9")]
    assert (result.input_tokens, result.output_tokens, result.total_tokens) == (12, 7, 19)


def test_responses_stream_cut_before_its_final_event_keeps_the_deltas() -> None:
    events = [
        (
            "response.output_item.added",
            {"item": {"type": "function_call", "id": "fc_1", "name": "f", "call_id": "c1"}},
        ),
        ("response.function_call_arguments.delta", {"item_id": "fc_1", "delta": '{"a":'}),
        ("response.function_call_arguments.delta", {"item_id": "fc_1", "delta": "1}"}),
    ]
    body = b"".join(
        f"event: {n}\ndata: {json.dumps({'type': n, 'sequence_number': i, **d})}\n\n".encode()
        for i, (n, d) in enumerate(events)
    )
    result = _response("text/event-stream", body).assembled()
    assert result.tool_calls == [AssembledToolCall("f", '{"a":1}', "c1")] and result.finish_reason is None


def test_gemini_non_stream_function_call() -> None:
    body = {
        "candidates": [
            {
                "content": {
                    "role": "model",
                    "parts": [{"text": "Calling."}, {"functionCall": {"name": "f", "args": {"x": 1}}}],
                },
                "finishReason": "STOP",
            }
        ],
        "usageMetadata": {"promptTokenCount": 4, "candidatesTokenCount": 2, "totalTokenCount": 6},
        "modelVersion": "gemini-2.0-flash",
    }
    result = _response("application/json", _json(body)).assembled()
    assert (result.api, result.text, result.finish_reason, result.model) == (
        "gemini",
        "Calling.",
        "STOP",
        "gemini-2.0-flash",
    )
    assert result.tool_calls == [AssembledToolCall("f", '{"x": 1}')]
    assert (result.input_tokens, result.output_tokens) == (4, 2)


def test_ollama_stream_with_tool_calls() -> None:
    lines = [
        {
            "model": "llama3.2",
            "created_at": "t",
            "message": {
                "role": "assistant",
                "content": "",
                "tool_calls": [{"function": {"name": "get_time", "arguments": {"tz": "UTC"}}}],
            },
            "done": False,
        },
        {
            "model": "llama3.2",
            "created_at": "t",
            "message": {"role": "assistant", "content": ""},
            "done": True,
            "done_reason": "stop",
            "prompt_eval_count": 20,
            "eval_count": 5,
        },
    ]
    body = b"".join(_json(line) + b"\n" for line in lines)
    result = _response("application/x-ndjson", body).assembled()
    assert result.tool_calls == [AssembledToolCall("get_time", '{"tz": "UTC"}')]
    assert (result.api, result.finish_reason, result.input_tokens, result.output_tokens) == (
        "ollama",
        "stop",
        20,
        5,
    )


def _frame(name: str, payload: dict[str, Any]) -> bytes:
    return encode_message(
        [Header.string(":event-type", name), Header.string(":message-type", "event")], _json(payload)
    )


def test_bedrock_converse_stream_tool_use_across_deltas() -> None:
    frames = [
        _frame("messageStart", {"role": "assistant"}),
        _frame(
            "contentBlockStart",
            {"contentBlockIndex": 0, "start": {"toolUse": {"toolUseId": "tu1", "name": "f"}}},
        ),
        _frame("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"toolUse": {"input": '{"q":'}}}),
        _frame("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"toolUse": {"input": '"x"}'}}}),
        _frame("contentBlockStop", {"contentBlockIndex": 0}),
        _frame("messageStop", {"stopReason": "tool_use"}),
        _frame("metadata", {"usage": {"inputTokens": 9, "outputTokens": 4, "totalTokens": 13}}),
    ]
    result = _response("application/vnd.amazon.eventstream", *frames).assembled()
    assert result.tool_calls == [AssembledToolCall("f", '{"q":"x"}', "tu1")]
    assert (result.api, result.finish_reason, result.total_tokens) == ("bedrock", "tool_use", 13)


def test_bedrock_converse_non_stream_and_invoke_model_chunks() -> None:
    body = {
        "output": {
            "message": {
                "role": "assistant",
                "content": [{"text": "Hi"}, {"toolUse": {"toolUseId": "t", "name": "g", "input": {}}}],
            }
        },
        "stopReason": "tool_use",
        "usage": {"inputTokens": 3, "outputTokens": 2, "totalTokens": 5},
    }
    result = _response("application/json", _json(body)).assembled()
    assert (result.text, result.tool_calls, result.finish_reason) == (
        "Hi",
        [AssembledToolCall("g", "{}", "t")],
        "tool_use",
    )
    inner = [
        {
            "type": "message_start",
            "message": {
                "id": "m",
                "type": "message",
                "role": "assistant",
                "model": "claude",
                "content": [],
                "usage": {"input_tokens": 5, "output_tokens": 1},
            },
        },
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Yo"}},
        {"type": "message_delta", "delta": {"stop_reason": "max_tokens"}, "usage": {"output_tokens": 2}},
    ]
    frames = [_frame("chunk", {"bytes": base64.b64encode(_json(e)).decode(), "p": "ab"}) for e in inner]
    streamed = _response("application/vnd.amazon.eventstream", *frames).assembled()
    assert (streamed.api, streamed.text, streamed.finish_reason, streamed.output_tokens) == (
        "anthropic",
        "Yo",
        "max_tokens",
        2,
    )


def test_a_body_in_no_known_api_is_refused() -> None:
    with pytest.raises(ChatCompletionError, match="in no API llm-replay knows"):
        _response("application/json", b'{"hello": "world"}').assembled()
