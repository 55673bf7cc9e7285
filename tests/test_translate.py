"""replay.translate, the chat matcher's errors, dialects, and ``llm-replay convert --to-api``."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import openai
import pytest
from conftest import require_real_cassettes

import replay
from replay.chat.codecs import CODECS, codec_for

PACKAGES = "openllmetry/packages/opentelemetry-instrumentation-"
ANTHROPIC_THINKING = "anthropic/tests/cassettes/test_thinking/test_anthropic_thinking_streaming_legacy.yaml"
OPENAI_TOOLS = "openai/tests/traces/cassettes/test_chat/test_chat_tools_streaming.yaml"
TOGETHER = "together/tests/cassettes/test_chat/test_together_chat_legacy.yaml"
GROQ = "groq/tests/traces/cassettes/test_chat_tracing/test_chat_streaming_legacy.yaml"
MISTRAL = "mistralai/tests/cassettes/test_chat/test_mistralai_streaming_chat_legacy.yaml"


def _real(path: str) -> replay.Interaction:
    return replay.load_cassette(require_real_cassettes() / (PACKAGES + path)).interactions[0]


def test_translating_to_the_recorded_api_returns_the_interaction_unchanged() -> None:
    interaction = _real(OPENAI_TOOLS)
    assert replay.translate(interaction, to="openai-chat") is interaction
    whole = replay.translate(interaction, to="openai-chat", stream=False)
    assert whole is not interaction
    assert json.loads(whole.response.body)["choices"][0]["finish_reason"] == "tool_calls"
    # The whole body arrives when the last event of the stream did.
    assert list(whole.response.chunk_times) == [interaction.response.chunk_times[-1]]


def test_a_stream_recording_answers_a_call_that_does_not_stream(tmp_path: Path) -> None:
    interaction = _real(ANTHROPIC_THINKING)
    done = interaction.response.chat_completion()
    assert isinstance(done, replay.chat.AnthropicMessage)
    source = codec_for(interaction.request)
    assert source is not None
    body = json.loads(CODECS["openai-chat"].encode_request(source.decode_request(interaction.request)).body)
    with replay.use_cassette(
        require_real_cassettes() / (PACKAGES + ANTHROPIC_THINKING), as_api="openai-chat"
    ):
        start = time.monotonic()
        completion = openai.OpenAI(api_key="sk-test", max_retries=0).chat.completions.create(
            model="gpt-4o", messages=body["messages"]
        )
        took = time.monotonic() - start
    assert completion.choices[0].message.content == "".join(b.text for b in done.content if b.type == "text")
    assert completion.choices[0].finish_reason == "stop"
    assert completion.usage is not None
    assert (completion.usage.prompt_tokens, completion.usage.completion_tokens) == (52, 216)
    assert took == pytest.approx(interaction.response.chunk_times[-1], abs=1e-6)


def test_an_error_response_becomes_the_target_apis_error() -> None:
    interaction = _real(OPENAI_TOOLS)
    error = interaction.model_copy(
        update={
            "response": replay.Response(
                status=429,
                headers=[("content-type", "application/json")],
                chunks=[
                    replay.Chunk(0.1, b'{"error": {"message": "Rate limit reached", "type": "requests"}}')
                ],
            )
        }
    )
    as_anthropic = replay.translate(error, to="anthropic-messages")
    assert as_anthropic.response.status == 429
    assert as_anthropic.response.body_json() == {
        "type": "error",
        "error": {"type": "rate_limit_error", "message": "Rate limit reached"},
    }
    as_bedrock = replay.translate(error, to="bedrock-converse")
    assert as_bedrock.response.header("x-amzn-errortype") == "ThrottlingException"


def test_bad_names_and_non_chat_interactions_say_what_to_do() -> None:
    interaction = _real(OPENAI_TOOLS)
    with pytest.raises(ValueError, match="unknown API 'claude'; known APIs: openai-chat, openai-responses"):
        replay.translate(interaction, to="claude")
    embeddings = interaction.model_copy(
        update={
            "request": interaction.request.model_copy(update={"url": "https://api.openai.com/v1/embeddings"})
        }
    )
    with pytest.raises(
        replay.TranslationError, match=r"not a request to a chat API .* \(see replay.chat.codecs.API_NAMES"
    ):
        replay.translate(embeddings, to="gemini")
    with pytest.raises(ValueError, match="unknown API 'gpt'"):
        replay.use_cassette("x.yaml", as_api="gpt")


def test_a_miss_names_the_conversation_difference(tmp_path: Path) -> None:
    import anthropic

    path = require_real_cassettes() / (PACKAGES + OPENAI_TOOLS)
    with replay.use_cassette(path, as_api="anthropic-messages"):
        client = anthropic.Anthropic(api_key="sk-ant-test", max_retries=0)
        with pytest.raises(replay.NoMatchingInteraction) as missed:
            client.messages.create(
                model="m", max_tokens=5, messages=[{"role": "user", "content": "Weather in Paris?"}]
            )
    text = str(missed.value)
    assert "Closest recorded request: #0 POST https://api.anthropic.com/v1/messages" in text
    recorded = "What's the weather like in San Francisco?"
    assert f"chat.messages[0].parts[0].text: 'Weather in Paris?' != recorded {recorded!r}" in text
    assert "chat.tools: 0 items != recorded 1 items" in text


def test_dialect_finish_reasons_and_usage() -> None:
    together = _real(TOGETHER)  # non-streamed, finish_reason "eos"
    anthropic_body = replay.translate(together, to="anthropic-messages").response.body_json()
    assert anthropic_body["stop_reason"] == "end_turn"
    back = replay.translate(replay.translate(together, to="gemini"), to="together-chat")
    assert back.response.body_json()["choices"][0]["finish_reason"] == "eos"
    assert back.request.host == "api.together.xyz"
    groq = _real(GROQ)  # usage only in x_groq on the finish chunk
    groq_usage = next(
        json.loads(e.data)["x_groq"]["usage"] for e in groq.response.events() if "usage" in e.data
    )
    messages = replay.translate(groq, to="anthropic-messages").response.events()
    delta = next(json.loads(e.data) for e in messages if e.event == "message_delta")
    assert delta["usage"]["output_tokens"] == groq_usage["completion_tokens"]
    mistral = replay.translate(_real(MISTRAL), to="mistral-chat", stream=False)
    assert mistral.response.body_json()["choices"][0]["finish_reason"] == "stop"


def test_convert_to_api_keeps_content_and_chunk_times(tmp_path: Path) -> None:
    source = require_real_cassettes() / (PACKAGES + OPENAI_TOOLS)
    out = tmp_path / "as-bedrock.yaml"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "replay.cli",
            "convert",
            str(source),
            str(out),
            "--to-api",
            "bedrock-converse",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "1 chat interaction as bedrock-converse" in done.stdout
    converted = replay.load_cassette(out).interactions[0]
    original = replay.load_cassette(source).interactions[0]
    assert converted.request.path == "/model/gpt-3.5-turbo/converse-stream"
    assert converted.response.content_type == "application/vnd.amazon.eventstream"
    assert converted.response.chunk_times == original.response.chunk_times
    calls = CODECS["bedrock-converse"].decode_response(converted.response).tool_calls()
    assert [(name, json.loads(args)) for _, name, args in calls] == [
        ("get_current_weather", {"location": "San Francisco"})
    ]


def test_how_a_recording_ended_survives_translation() -> None:
    interaction = _real(OPENAI_TOOLS)
    cut = interaction.response.model_copy(
        update={
            "chunks": interaction.response.chunks[:4],
            "end": replay.StreamEnd(kind="remote_protocol_error", message="peer closed", t=0.3),
        }
    )
    translated = replay.translate(interaction.model_copy(update={"response": cut}), to="anthropic-messages")
    assert translated.response.end == cut.end
    assert translated.response.synthetic_timing is True  # vcrpy bodies have synthetic timing


def test_usage_is_counted_on_the_files_interactions() -> None:
    import anthropic

    path = require_real_cassettes() / (PACKAGES + OPENAI_TOOLS)
    recorded = replay.load_cassette(path).interactions[0]
    source = codec_for(recorded.request)
    assert source is not None
    body = json.loads(
        CODECS["anthropic-messages"].encode_request(source.decode_request(recorded.request)).body
    )
    # Only the Anthropic path is called: the recording was played, strict usage is satisfied.
    with replay.use_cassette(path, as_api=("anthropic-messages", "gemini"), strict=True) as cassette:
        client = anthropic.Anthropic(api_key="sk-ant-test", max_retries=0)
        client.messages.create(**{k: body[k] for k in ("model", "max_tokens", "messages", "tools")})
    assert [i.request.url for i in cassette.interactions] == ["https://api.openai.com/v1/chat/completions"]
    assert cassette.play_counts == [1]
    assert cassette.all_played


def test_the_recorded_api_still_answers_as_recorded(tmp_path: Path) -> None:
    """A fallback chain ends on the provider that was recorded: with ``as_api`` naming the other
    one, a call in the recorded API (another model name: matched on the conversation) still gets
    the recorded bytes, and a whole call to a streamed recording is re-encoded whole."""
    import anthropic

    path = require_real_cassettes() / (PACKAGES + OPENAI_TOOLS)
    recorded = replay.load_cassette(path).interactions[0]
    body = json.loads(recorded.request.body)
    ask = {k: body[k] for k in ("messages", "tools")}
    with replay.use_cassette(path, as_api="anthropic-messages", allow_playback_repeats=True) as cassette:
        client = openai.OpenAI(api_key="sk-test", max_retries=0)
        with client.chat.completions.with_streaming_response.create(
            model="another-model", stream=True, **ask
        ) as raw:
            assert raw.read() == recorded.response.body
        whole = client.chat.completions.create(model="another-model", **ask)
        calls = whole.choices[0].message.tool_calls
        assert calls is not None and calls[0].function.name == "get_current_weather"
        assert whole.choices[0].finish_reason == "tool_calls"
        claude = anthropic.Anthropic(api_key="sk-ant-test", max_retries=0)
        reply = claude.messages.create(model="m", max_tokens=64, **_anthropic_ask(recorded))
        assert reply.stop_reason == "tool_use"
    assert cassette.play_counts == [3]


def _anthropic_ask(recorded: replay.Interaction) -> dict[str, object]:
    source = codec_for(recorded.request)
    assert source is not None
    neutral = source.decode_request(recorded.request)
    body = json.loads(CODECS["anthropic-messages"].encode_request(neutral).body)
    return {k: body[k] for k in ("messages", "tools")}
