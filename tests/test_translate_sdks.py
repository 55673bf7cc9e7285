"""One recording, every provider: real recordings replayed through other providers' real SDKs.

Each real recording (OpenAI chat streams with tool calls and usage, Anthropic streams with tool
use and thinking) is re-timed with irregular gaps, then served with ``use_cassette(...,
as_api=B)`` to B's SDK, which sends the same conversation in B's format. The SDK must parse the
stream, assemble the source's text, tool calls, finish reason (mapped) and usage, and see each
content event at the source event's offset (virtual time, to 1e-6 s). Bedrock goes through
botocore's parsers on the translated bytes: boto3 sends with urllib3, not intercepted in-process.
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import pytest
from conftest import require_real_cassettes
from translate_sdks import RUNNERS, Seen, bedrock_parse, gemini_config

import replay
from replay.chat.codecs import codec_for, get_codec

OPENAI = "opentelemetry-instrumentation-openai/tests/traces/cassettes/"
ANTHROPIC = "opentelemetry-instrumentation-anthropic/tests/cassettes/"
SOURCES = {
    "openai-tools": OPENAI + "test_chat/test_chat_tools_streaming.yaml",
    "openai-parallel-tools": OPENAI
    + "test_functions/test_open_ai_function_calls_tools_streaming_parallel.yaml",
    "deepseek-usage": OPENAI + "test_streaming_with_api_usage/test_streaming_with_api_usage_capture.yaml",
    "anthropic-tools": ANTHROPIC + "test_messages/test_anthropic_tools_streaming_legacy.yaml",
    "anthropic-thinking": ANTHROPIC + "test_thinking/test_anthropic_thinking_streaming_legacy.yaml",
    "anthropic-text": ANTHROPIC + "test_messages/test_anthropic_message_streaming_legacy.yaml",
}
TARGETS = [
    "anthropic-messages",
    "openai-chat",
    "openai-responses",
    "gemini",
    "ollama-chat",
    "bedrock-converse",
]
# Each target's own word for the source's finish reason (written out, not read from the codecs).
FINISH = {
    "stop": dict(zip(TARGETS, ["end_turn", "stop", "completed", "STOP", "stop", "end_turn"], strict=True)),
    "tool_calls": dict(
        zip(TARGETS, ["tool_use", "tool_calls", "completed", "STOP", "stop", "tool_use"], strict=True)
    ),
}
SOURCE_FINISH = {"stop": "stop", "tool_calls": "tool_calls", "end_turn": "stop", "tool_use": "tool_calls"}
WHOLE_CALLS = {"gemini", "ollama-chat"}  # these APIs send a tool call in one piece
GAPS = [0.013, 0.2071, 0.0479, 0.1333, 0.0007, 0.031]


def _retimed(interaction: replay.Interaction) -> replay.Interaction:
    """The same bytes, read at irregular times (the vcrpy recordings have even synthetic gaps)."""
    t, chunks = 0.31, []
    for i, chunk in enumerate(interaction.response.chunks):
        chunks.append(replay.Chunk(round(t, 6), chunk.data))
        t += GAPS[i % len(GAPS)]
    response = interaction.response.model_copy(update={"t": 0.187, "chunks": chunks})
    return interaction.model_copy(update={"response": replay.Response.model_validate(response.model_dump())})


def _source(name: str, tmp_path: Path) -> tuple[replay.Interaction, Path]:
    interaction = _retimed(
        replay.load_cassette(require_real_cassettes() / "openllmetry/packages" / SOURCES[name]).interactions[
            0
        ]
    )
    path = tmp_path / f"{name}.yaml"
    replay.Cassette(interactions=[interaction]).save(path)
    return interaction, path


def _openai_marks(interaction: replay.Interaction, whole: bool) -> list[tuple[float, str, Any]]:
    marks: list[tuple[float, str, Any]] = []
    calls: dict[int, list[Any]] = {}
    open_call: int | None = None

    def close(t: float) -> None:
        if whole and open_call is not None:
            name, text = calls[open_call]
            marks.append((t, "call", (name, json.loads(text))))

    for t, event in interaction.response.iter_events_timed():
        if event.is_done:
            continue
        for choice in json.loads(event.data).get("choices", []):
            delta = choice.get("delta", {})
            if delta.get("content"):
                marks.append((t, "text", delta["content"]))
            for call in delta.get("tool_calls") or []:
                if call["index"] not in calls:
                    close(t)
                    open_call, calls[call["index"]] = call["index"], [call["function"]["name"], ""]
                piece = call.get("function", {}).get("arguments")
                if piece:
                    calls[call["index"]][1] += piece
                    if not whole:
                        marks.append((t, "args", piece))
            if choice.get("finish_reason"):
                close(t)
                open_call = None
    return marks


def _anthropic_marks(interaction: replay.Interaction, whole: bool) -> list[tuple[float, str, Any]]:
    marks: list[tuple[float, str, Any]] = []
    blocks: dict[int, list[Any]] = {}
    for t, event in interaction.response.iter_events_timed():
        data = json.loads(event.data)
        if data["type"] == "content_block_start" and data["content_block"]["type"] == "tool_use":
            blocks[data["index"]] = [data["content_block"]["name"], ""]
        elif data["type"] == "content_block_delta":
            delta = data["delta"]
            if delta["type"] == "text_delta" and delta["text"]:
                marks.append((t, "text", delta["text"]))
            elif delta["type"] == "thinking_delta" and delta["thinking"]:
                marks.append((t, "reasoning", delta["thinking"]))
            elif delta["type"] == "input_json_delta" and delta["partial_json"]:
                blocks[data["index"]][1] += delta["partial_json"]
                if not whole:
                    marks.append((t, "args", delta["partial_json"]))
        elif data["type"] == "content_block_stop" and data["index"] in blocks and whole:
            name, text = blocks[data["index"]]
            marks.append((t, "call", (name, json.loads(text))))
    return marks


def _expected(interaction: replay.Interaction, target: str) -> Seen:
    """What the source recording says, assembled by the library's own chat models."""
    done = interaction.response.chat_completion()
    whole = target in WHOLE_CALLS
    if isinstance(done, replay.chat.ChatCompletion):
        message = done.choices[0].message
        calls = [(c.function.name, json.loads(c.function.arguments)) for c in message.tool_calls or []]
        usage = (done.usage.prompt_tokens, done.usage.completion_tokens) if done.usage else (0, 0)
        raw_finish, marks = done.choices[0].finish_reason, _openai_marks(interaction, whole)
        text, reasoning = message.content or "", ""
    else:
        text = "".join(b.text for b in done.content if b.type == "text")
        reasoning = "".join(b.thinking for b in done.content if b.type == "thinking")
        calls = [(b.name, b.input) for b in done.content if b.type == "tool_use"]
        usage = (done.usage.input_tokens, done.usage.output_tokens)
        raw_finish, marks = done.stop_reason, _anthropic_marks(interaction, whole)
    finish = FINISH[SOURCE_FINISH[str(raw_finish)]][target]
    return Seen(text, reasoning, calls, finish, usage, marks)


def _live_body(interaction: replay.Interaction, target: str) -> dict[str, Any]:
    """The source conversation as the target SDK's caller would write it (its wire format)."""
    source = codec_for(interaction.request)
    assert source is not None
    wire = get_codec(target).encode_request(source.decode_request(interaction.request))
    body: dict[str, Any] = json.loads(wire.body)
    body["_model"] = wire.path.rsplit("/", 1)[-1].split(":")[0]
    return body


CASES = [
    (s, t)
    for s in SOURCES
    for t in TARGETS
    if not (s.startswith(("openai", "deepseek")) and t == "openai-chat")
]
CASES = [(s, t) for s, t in CASES if not (s.startswith("anthropic") and t == "anthropic-messages")]


@pytest.mark.parametrize(("source", "target"), CASES)
def test_real_recording_through_another_providers_sdk(tmp_path: Path, source: str, target: str) -> None:
    interaction, path = _source(source, tmp_path)
    expected = _expected(interaction, target)
    body = _live_body(interaction, target)
    if target == "bedrock-converse":
        translated = replay.translate(interaction, to=target)
        del body["_model"]
        seen = bedrock_parse(body, "anthropic.claude-3-haiku", translated.response)
    else:
        with replay.use_cassette(path, as_api=target) as cassette:
            seen = RUNNERS[target](body)
        assert cassette.all_played
    assert seen.text == expected.text
    assert seen.reasoning == expected.reasoning  # openai-chat: the reasoning_content extra field
    assert seen.calls == expected.calls
    assert seen.finish == expected.finish
    assert seen.usage == expected.usage
    assert [(kind, payload) for _, kind, payload in seen.marks] == [(k, p) for _, k, p in expected.marks]
    assert [t for t, _, _ in seen.marks] == pytest.approx([t for t, _, _ in expected.marks], abs=1e-6)
    assert seen.marks  # the comparisons above compared something


def _whole(target: str, body: dict[str, Any]) -> Seen:
    """One non-streaming call with the target's SDK."""
    seen = Seen()
    if target == "openai-responses":
        import openai

        response = openai.OpenAI(api_key="sk-test", max_retries=0).responses.create(
            **{k: body[k] for k in ("model", "input", "instructions", "tools") if k in body}
        )
        seen.text = response.output_text
        seen.calls = [(i.name, json.loads(i.arguments)) for i in response.output if i.type == "function_call"]
        seen.reasoning = "".join(
            p.text for i in response.output if i.type == "reasoning" for p in i.content or []
        )
        seen.finish = response.status
        assert response.usage is not None
        seen.usage = (response.usage.input_tokens, response.usage.output_tokens)
    elif target == "gemini":
        from google import genai

        client = genai.Client(
            api_key="k", http_options={"base_url": "https://generativelanguage.googleapis.com"}
        )
        answer = client.models.generate_content(
            model=body["_model"], contents=body["contents"], config=gemini_config(body)
        )
        parts = (
            answer.candidates[0].content.parts or []
            if answer.candidates and answer.candidates[0].content
            else []
        )
        seen.text = "".join(p.text for p in parts if p.text and not p.thought)
        seen.reasoning = "".join(p.text for p in parts if p.text and p.thought)
        seen.calls = [(p.function_call.name, p.function_call.args) for p in parts if p.function_call]
        seen.finish = answer.candidates[0].finish_reason.value if answer.candidates else None
        meta = answer.usage_metadata
        seen.usage = (meta.prompt_token_count or 0, meta.candidates_token_count or 0) if meta else (0, 0)
    else:
        import ollama

        reply = ollama.Client(host="http://localhost:11434").chat(
            model=body["model"], messages=body["messages"], tools=body.get("tools"), stream=False
        )
        seen.text, seen.reasoning = reply.message.content or "", reply.message.thinking or ""
        seen.calls = [(c.function.name, dict(c.function.arguments)) for c in reply.message.tool_calls or []]
        seen.finish, seen.usage = reply.done_reason, (reply.prompt_eval_count or 0, reply.eval_count or 0)
    return seen


@pytest.mark.parametrize("source", ["openai-parallel-tools", "anthropic-thinking"])
@pytest.mark.parametrize("target", ["openai-responses", "gemini", "ollama-chat"])
def test_a_streamed_recording_answers_whole_calls(tmp_path: Path, source: str, target: str) -> None:
    interaction, path = _source(source, tmp_path)
    expected = _expected(interaction, target)
    body = _live_body(interaction, target)
    with replay.use_cassette(path, as_api=target):
        start = time.monotonic()
        seen = _whole(target, body)
        took = time.monotonic() - start
    assert (seen.text, seen.reasoning, seen.calls) == (expected.text, expected.reasoning, expected.calls)
    assert (seen.finish, seen.usage) == (expected.finish, expected.usage)
    # The whole body arrives when the stream's last event did.
    assert took == pytest.approx(interaction.response.chunk_times[-1], abs=1e-6)


def test_async_sdk_sees_the_recorded_offsets(tmp_path: Path) -> None:
    import anthropic

    interaction, path = _source("openai-parallel-tools", tmp_path)
    expected = _expected(interaction, "anthropic-messages")
    body = _live_body(interaction, "anthropic-messages")

    async def go() -> list[tuple[float, str, Any]]:
        client = anthropic.AsyncAnthropic(api_key="sk-ant-test", max_retries=0)
        start, marks = time.monotonic(), []
        kwargs = {k: body[k] for k in ("model", "max_tokens", "messages", "tools")}
        async with client.messages.stream(**kwargs) as stream:
            async for event in stream:
                if event.type == "content_block_delta" and event.delta.type == "input_json_delta":
                    marks.append((time.monotonic() - start, "args", event.delta.partial_json))
        return marks

    with replay.use_cassette(path, as_api="anthropic-messages"):
        marks = asyncio.run(go())
    assert [m[1:] for m in marks] == [m[1:] for m in expected.marks]
    assert [m[0] for m in marks] == pytest.approx([m[0] for m in expected.marks], abs=1e-6)
