"""Chat-completion models and stream assembly, checked against the SDKs' own accumulators
(openai's ChatCompletionStreamState, anthropic's accumulate_event) on real provider traffic,
and against the non-streamed answer of the same request."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from anthropic._models import construct_type_unchecked
from anthropic.lib.streaming._messages import accumulate_event
from anthropic.types import RawMessageStreamEvent
from conftest import require_real_cassettes
from fault_helpers import record_chat
from llm_server import LLMServer
from openai.lib.streaming.chat import ChatCompletionStreamState
from openai.types.chat import ChatCompletionChunk as SDKChunk

import replay
from replay import synth
from replay.chat import (
    AnthropicMessage,
    ChatCompletion,
    ChatCompletionChunk,
    ChatCompletionError,
    TextBlock,
    ThinkingBlock,
    ToolUseBlock,
    assemble_anthropic,
    assemble_openai,
    parse_anthropic_event,
)


def _real_responses(provider: str) -> list[tuple[str, replay.Response]]:
    """Responses of the real vcrpy cassettes for one provider (read here; the vcrpy importer
    is another module's job)."""
    root = require_real_cassettes()
    rows = [line.split("\t") for line in (root / "MANIFEST.tsv").read_text().splitlines()[1:]]
    out = []
    for row in rows:
        if row[4] != provider or not ("/chat" in row[5] or row[5].endswith("/messages")):
            continue
        data = yaml.safe_load((root / "openllmetry" / row[2]).read_text())
        for i, interaction in enumerate(data["interactions"]):
            response = interaction["response"]
            body = response["body"]["string"]
            body = body.encode() if isinstance(body, str) else body
            headers = {k.lower(): v[0] for k, v in response["headers"].items()}
            if "gzip" in headers.get("content-encoding", ""):
                body = gzip.decompress(body)
            model = replay.Response(
                status=response["status"]["code"],
                headers=[("content-type", headers.get("content-type", ""))],
                chunks=[replay.Chunk(t=0.0, data=body)] if body else [],
            )
            out.append((f"{Path(row[2]).name}#{i}", model))
    return out


def _openai_streams() -> list[Any]:
    streams = []
    for provider in ("OpenAI", "Azure OpenAI", "Groq", "Mistral", "DeepSeek", "Writer"):
        for name, response in _real_responses(provider):
            if response.is_event_stream and response.status == 200:
                streams.append(pytest.param(response, id=name))
    return streams


def _payloads(response: replay.Response) -> list[Any]:
    return [json.loads(e.data) for e in response.events() if e.data.strip() and not e.is_done]


def test_real_openai_compatible_streams_assemble_like_the_openai_sdk() -> None:
    streams = _openai_streams()
    names = " ".join(p.id for p in streams)
    for expected in ("parallel", "tools_streaming", "mistral", "writer", "api_usage", "_legacy"):
        assert expected in names
    for param in streams:
        response = param.values[0]
        chunks = [p for p in _payloads(response) if "choices" in p]
        ours = response.chat_completion()
        assert isinstance(ours, ChatCompletion)
        state: ChatCompletionStreamState[Any] = ChatCompletionStreamState()
        for chunk in chunks:
            state.handle_chunk(SDKChunk.construct(**chunk))
        theirs = state.current_completion_snapshot
        assert len(ours.choices) == len(theirs.choices), param.id
        for mine, sdk in zip(ours.choices, sorted(theirs.choices, key=lambda c: c.index), strict=True):
            assert mine.index == sdk.index
            assert mine.finish_reason == sdk.finish_reason, param.id
            assert (mine.message.content or None) == (sdk.message.content or None), param.id
            calls = [(c.id, c.function.name, c.function.arguments) for c in mine.message.tool_calls or []]
            expected = [(c.id, c.function.name, c.function.arguments) for c in sdk.message.tool_calls or []]
            assert calls == expected, param.id
            for _, _, arguments in calls:
                json.loads(arguments)  # fragments joined into the complete JSON
        if theirs.usage is not None:
            assert ours.usage is not None and ours.usage.completion_tokens == theirs.usage.completion_tokens


def test_real_anthropic_streams_assemble_like_the_anthropic_sdk() -> None:
    streams = [(n, r) for n, r in _real_responses("Anthropic") if r.is_event_stream]
    assert len(streams) == 3  # text, tool_use with input_json_delta, thinking
    kinds = set()
    for name, response in streams:
        ours = response.chat_completion()
        assert isinstance(ours, AnthropicMessage)
        snapshot: Any = None
        buffers: dict[int, bytes] = {}
        for payload in _payloads(response):
            event = construct_type_unchecked(value=payload, type_=RawMessageStreamEvent)
            snapshot = accumulate_event(event=event, current_snapshot=snapshot, json_bufs=buffers)
        assert ours.stop_reason == snapshot.stop_reason, name
        assert ours.usage is not None and ours.usage.output_tokens == snapshot.usage.output_tokens
        assert [b.type for b in ours.content] == [b.type for b in snapshot.content], name
        for mine, sdk in zip(ours.content, snapshot.content, strict=True):
            kinds.add(mine.type)
            if isinstance(mine, TextBlock):
                assert mine.text == sdk.text
            elif isinstance(mine, ToolUseBlock):
                assert (mine.id, mine.name, mine.input) == (sdk.id, sdk.name, sdk.input)
            elif isinstance(mine, ThinkingBlock):
                assert (mine.thinking, mine.signature) == (sdk.thinking, sdk.signature)
    assert kinds == {"text", "tool_use", "thinking"}


def test_real_non_streamed_bodies_validate_and_keep_provider_fields() -> None:
    seen = {}
    for provider in ("OpenAI", "Azure OpenAI", "Together", "Mistral", "Anthropic"):
        for name, response in _real_responses(provider):
            if response.is_event_stream or response.status != 200:
                continue
            body = response.body_json()
            if "choices" not in body and body.get("type") != "message":
                continue  # embeddings, errors
            completion = response.chat_completion()
            seen[name] = completion
            dumped = completion.model_dump(mode="json", exclude_unset=True)
            assert set(body) <= set(dumped), f"{name}: provider fields lost"
    together = next(c for n, c in seen.items() if n.startswith("test_together_chat"))
    assert isinstance(together, ChatCompletion)
    assert together.choices[0].finish_reason == "eos" and together.model_extra == {"prompt": []}
    azure = next(c for n, c in seen.items() if n.startswith("test_chat_content_filtering"))
    assert azure.choices[0].finish_reason == "content_filter"  # type: ignore[union-attr]
    assert "content_filter_results" in azure.choices[0].model_extra  # type: ignore[union-attr, operator]


@pytest.mark.parametrize("sdk", ["openai", "anthropic"])
def test_a_recorded_stream_assembles_into_the_non_streamed_answer(
    sdk: str, llm_server: LLMServer, tmp_path: Path
) -> None:
    record_chat(sdk, llm_server.base_url, tmp_path / "s.yaml", stream=True, usage_chunk=True)
    record_chat(sdk, llm_server.base_url, tmp_path / "j.yaml", stream=False)
    streamed = replay.load_cassette(tmp_path / "s.yaml").interactions[0].response.chat_completion()
    whole = replay.load_cassette(tmp_path / "j.yaml").interactions[0].response.chat_completion()
    if isinstance(whole, ChatCompletion):
        assert isinstance(streamed, ChatCompletion)
        assert streamed.choices[0].message.content == whole.choices[0].message.content
        assert streamed.finish_reasons == whole.finish_reasons == ["stop"]
        assert streamed.usage == whole.usage
        assert (streamed.id, streamed.model, streamed.system_fingerprint) == (
            whole.id,
            whole.model,
            "fp_test",
        )
    else:
        assert isinstance(streamed, AnthropicMessage)
        assert streamed.text == whole.text == "Hello from the local test server."
        assert streamed.stop_reason == whole.stop_reason == "end_turn"
        assert streamed.usage == whole.usage


def _chunk(choices: list[Any], **extra: Any) -> dict[str, Any]:
    return {
        "id": "c1",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "m",
        "choices": choices,
        **extra,
    }


def test_assembly_keeps_choices_and_tool_calls_apart() -> None:
    def tool(index: int, args: str, **first: Any) -> dict[str, Any]:
        return {"index": index, **first, "function": {"arguments": args, **first.pop("function", {})}}

    chunks = [
        _chunk([{"index": 1, "delta": {"role": "assistant", "content": None}, "finish_reason": None}]),
        _chunk([{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}]),
        _chunk([{"index": 0, "delta": {"content": "Hi"}, "finish_reason": None}]),
        _chunk(
            [
                {
                    "index": 1,
                    "delta": {
                        "tool_calls": [
                            {
                                "index": 0,
                                "id": "call_a",
                                "type": "function",
                                "function": {"name": "f", "arguments": ""},
                            },
                            {
                                "index": 1,
                                "id": "call_b",
                                "type": "function",
                                "function": {"name": "g", "arguments": '{"x"'},
                            },
                        ]
                    },
                    "finish_reason": None,
                }
            ]
        ),
        _chunk([{"index": 1, "delta": {"tool_calls": [tool(0, '{"a": 1}')]}, "finish_reason": None}]),
        # Some servers repeat id and name in every piece: they are taken once.
        _chunk(
            [{"index": 1, "delta": {"tool_calls": [tool(1, ": 2}", id="call_b", function={"name": "g"})]}}]
        ),
        _chunk(
            [{"index": 0, "delta": {"content": " there", "reasoning_content": "r1"}, "finish_reason": None}]
        ),
        _chunk([{"index": 0, "delta": {"reasoning_content": "r2"}, "finish_reason": "stop"}]),
        _chunk([{"index": 1, "delta": {}, "finish_reason": "tool_calls"}]),
        _chunk([], usage={"prompt_tokens": 3, "completion_tokens": 5, "total_tokens": 8}),
    ]
    completion = assemble_openai(chunks)
    first, second = completion.choices
    assert (first.index, first.message.content, first.finish_reason) == (0, "Hi there", "stop")
    assert first.message.model_extra == {"reasoning_content": "r1r2"}
    assert second.message.content is None and second.finish_reason == "tool_calls"
    calls = [(c.id, c.function.name, c.function.arguments) for c in second.message.tool_calls or []]
    assert calls == [("call_a", "f", '{"a": 1}'), ("call_b", "g", '{"x": 2}')]
    assert completion.usage is not None and completion.usage.total_tokens == 8


def test_usage_comes_from_wherever_the_provider_put_it() -> None:
    finish = _chunk(
        [{"index": 0, "delta": {}, "finish_reason": "stop"}],
        usage={"prompt_tokens": 1, "completion_tokens": 2},
    )
    assert assemble_openai([finish]).usage.completion_tokens == 2  # type: ignore[union-attr]
    groq = _chunk(
        [{"index": 0, "delta": {}, "finish_reason": "stop"}], x_groq={"usage": {"completion_tokens": 9}}
    )
    assert assemble_openai([groq]).usage.completion_tokens == 9  # type: ignore[union-attr]


def test_chunk_model_accepts_what_providers_send_mid_stream() -> None:
    chunk = ChatCompletionChunk.model_validate(
        _chunk(
            [{"index": 0, "delta": {"content": None}, "finish_reason": None, "logprobs": -0.2, "seed": None}],
            usage=None,
            x_vendor={"anything": [1]},
        )
    )
    assert chunk.choices[0].finish_reason is None and chunk.choices[0].delta.content is None
    assert chunk.model_extra == {"x_vendor": {"anything": [1]}}
    assert chunk.choices[0].dump()["seed"] is None  # unknown fields kept, even null ones
    assert ChatCompletionChunk.model_validate(_chunk([], usage={"prompt_tokens": 1})).choices == []
    completion = ChatCompletion.model_validate(
        {
            "id": "x",
            "choices": [
                {"index": 0, "message": {"role": "assistant", "content": "a"}, "finish_reason": "brand_new"}
            ],
        }
    )
    assert completion.choice(0).finish_reason == "brand_new"


def test_together_fields_survive_assembly() -> None:
    streamed = synth.chat(
        "one two three", provider="together", seed=11, logprobs=True
    ).response.chat_completion()
    assert isinstance(streamed, ChatCompletion)
    choice = streamed.choices[0]
    assert (choice.message.content, choice.finish_reason) == ("one two three", "eos")
    assert choice.model_extra is not None and choice.model_extra["seed"] == 11
    assert choice.logprobs == {"token_logprobs": [-0.05, -0.1, -0.15]}
    whole = synth.chat("one two three", provider="together", stream=False, echo=True, logprobs=True).response
    completion = whole.chat_completion()
    assert completion.model_extra is not None and completion.model_extra["prompt"][0]["text"] == "Hello"


def test_anthropic_events_validate_including_unknown_ones() -> None:
    delta = parse_anthropic_event(
        '{"type":"message_delta","delta":{"stop_reason":"pause_turn"},"usage":{"output_tokens":3}}'
    )
    assert delta.delta.stop_reason == "pause_turn"
    future = parse_anthropic_event(
        {
            "type": "content_block_delta",
            "index": 0,
            "delta": {"type": "citations_delta", "citation": {"x": 1}},
        }
    )
    assert future.delta.type == "citations_delta" and future.delta.model_extra == {"citation": {"x": 1}}
    other = parse_anthropic_event({"type": "brand_new_event", "payload": 1})
    assert other.type == "brand_new_event" and other.model_extra == {"payload": 1}
    message = assemble_anthropic(
        [
            {
                "type": "message_start",
                "message": {
                    "id": "m",
                    "type": "message",
                    "role": "assistant",
                    "model": "c",
                    "content": [],
                    "usage": {"input_tokens": 2, "output_tokens": 1},
                },
            },
            {
                "type": "content_block_start",
                "index": 0,
                "content_block": {"type": "redacted_thinking", "data": "xyz"},
            },
            {"type": "content_block_stop", "index": 0},
            {
                "type": "content_block_start",
                "index": 1,
                "content_block": {"type": "tool_use", "id": "t", "name": "n", "input": {}},
            },
            {
                "type": "content_block_delta",
                "index": 1,
                "delta": {"type": "input_json_delta", "partial_json": '{"q": '},
            },
            {
                "type": "content_block_delta",
                "index": 1,
                "delta": {"type": "input_json_delta", "partial_json": '"v"}'},
            },
            {"type": "content_block_stop", "index": 1},
            {"type": "message_delta", "delta": {"stop_reason": "tool_use"}, "usage": {"output_tokens": 7}},
        ]
    )
    assert [b.type for b in message.content] == ["redacted_thinking", "tool_use"]
    assert message.content[0].model_extra == {"data": "xyz"}
    assert message.content[1].input == {"q": "v"}  # type: ignore[union-attr]
    assert message.usage is not None and (message.usage.input_tokens, message.usage.output_tokens) == (2, 7)


@pytest.mark.parametrize(
    ("body", "ctype", "message"),
    [
        (
            b'data: {"error": {"message": "boom", "type": "server_error"}}\n\n',
            "text/event-stream",
            "event #0 is an error",
        ),
        (
            b'event: error\ndata: {"type": "error", "error": {"type": "overloaded_error"}}\n\n',
            "text/event-stream",
            "is an error",
        ),
        (
            b'{"object": "list", "data": [{"embedding": [0.1]}]}',
            "application/json",
            "neither an OpenAI-compatible",
        ),
        (b"", "application/json", "has no JSON body"),
        (b'{"choices": "not a list"}', "application/json", "neither"),
    ],
)
def test_bodies_that_are_not_completions_are_named(body: bytes, ctype: str, message: str) -> None:
    response = replay.Response(
        status=200, headers=[("content-type", ctype)], chunks=[replay.Chunk(t=0, data=body)] if body else []
    )
    with pytest.raises(ChatCompletionError, match=message):
        response.chat_completion()
    assert issubclass(ChatCompletionError, replay.ReplayError)
