"""boto3 itself (signing, urllib3, botocore's parsers) on translated Bedrock answers, in-process.

A real recorded OpenAI or Anthropic stream is replayed with ``as_api="bedrock-converse"``: boto3
sends through urllib3 (intercepted by llm-replay), its request matches the recording through the
``chat`` key, and it parses the event-stream answer at the source's offsets on the virtual clock.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from conftest import require_real_cassettes

import replay

OPENAI_TOOLS = "openai/tests/traces/cassettes/test_chat/test_chat_tools_streaming.yaml"
ANTHROPIC_THINKING = "anthropic/tests/cassettes/test_thinking/test_anthropic_thinking_streaming_legacy.yaml"


def _content_times(recorded: replay.Interaction) -> list[float]:
    """Offsets of the source events that carry content (text, reasoning, tool arguments);
    Anthropic's thinking signature has no Bedrock equivalent and is left out."""
    times: list[float] = []
    for event in recorded.response.events():
        if event.data in (None, "", "[DONE]"):
            continue
        data = json.loads(event.data)
        if "choices" in data:
            delta = data["choices"][0]["delta"] if data["choices"] else {}
            arguments = [c.get("function", {}).get("arguments") for c in delta.get("tool_calls") or []]
            if delta.get("content") or any(arguments):
                times.append(event.t)
        elif data.get("type") == "content_block_delta" and data["delta"]["type"] != "signature_delta":
            times.append(event.t)
    return times


@pytest.fixture
def bedrock() -> Iterator[Any]:
    yield boto3.client(
        "bedrock-runtime",
        region_name="us-east-1",
        aws_access_key_id="AKIDTEST",
        aws_secret_access_key="test-secret",
    )


@pytest.mark.parametrize("source", [OPENAI_TOOLS, ANTHROPIC_THINKING])
def test_boto3_converse_and_converse_stream_read_translated_recordings(source: str, bedrock: Any) -> None:
    path = require_real_cassettes() / f"openllmetry/packages/opentelemetry-instrumentation-{source}"
    recorded = replay.load_cassette(path).interactions[0]
    stream = replay.translate(recorded, to="bedrock-converse", stream=True)
    params = json.loads(stream.request.body)
    model = stream.request.path.split("/")[2]
    with replay.use_cassette(path, as_api="bedrock-converse", timing="virtual", allow_playback_repeats=True):
        t0 = time.monotonic()
        events, offsets = [], []
        for event in bedrock.converse_stream(modelId=model, **params)["stream"]:
            events.append(event)
            if "contentBlockDelta" in event:
                offsets.append(time.monotonic() - t0)
        answer = bedrock.converse(modelId=model, **params)
    # Each delta reaches the application at the recorded offset of the event it came from.
    assert offsets == pytest.approx(_content_times(recorded), abs=1e-6)
    done = recorded.response.chat_completion()
    if isinstance(done, replay.chat.ChatCompletion):
        text = done.choices[0].message.content or ""
        calls = [
            (c.function.name, json.loads(c.function.arguments))
            for c in done.choices[0].message.tool_calls or []
        ]
        reason = "tool_use" if calls else "end_turn"
    else:
        text = "".join(b.text for b in done.content if b.type == "text")
        calls = [(b.name, b.input) for b in done.content if b.type == "tool_use"]
        reason = {"tool_use": "tool_use", "end_turn": "end_turn"}[str(done.stop_reason)]
    streamed = "".join(
        e["contentBlockDelta"]["delta"].get("text", "") for e in events if "contentBlockDelta" in e
    )
    assert streamed == text
    assert next(e["messageStop"]["stopReason"] for e in events if "messageStop" in e) == reason
    content = answer["output"]["message"]["content"]
    assert "".join(b.get("text", "") for b in content) == text
    assert [(b["toolUse"]["name"], b["toolUse"]["input"]) for b in content if "toolUse" in b] == calls
    assert answer["stopReason"] == reason
    assert answer["metrics"]["latencyMs"] == round(recorded.response.chunk_times[-1] * 1000)
