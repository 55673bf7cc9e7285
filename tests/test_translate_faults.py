"""Faults and edge-case variants compose with translation, in use_cassette and in the plugin.

A fault applies to the translated response, in the caller's API: ``HTTPError`` is shaped by the
translated request (Anthropic's ``overloaded_error`` for a 529 on ``/v1/messages``),
``FinishReason`` writes the caller's field, ``Truncate``/``ErrorEvent`` count its events.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import anthropic
import openai
import pytest
from conftest import require_real_cassettes
from translate_sdks import RUNNERS, run_gemini

import replay
from replay.chat.codecs import codec_for, get_codec

OPENAI_TOOLS = "openai/tests/traces/cassettes/test_chat/test_chat_tools_streaming.yaml"
ANTHROPIC_TOOLS = "anthropic/tests/cassettes/test_messages/test_anthropic_tools_streaming_legacy.yaml"


def _real(path: str) -> Path:
    return require_real_cassettes() / f"openllmetry/packages/opentelemetry-instrumentation-{path}"


def _body(path: Path, api: str) -> dict[str, Any]:
    """The recorded conversation as a caller of ``api`` would send it."""
    recorded = replay.load_cassette(path).interactions[0]
    codec = codec_for(recorded.request)
    assert codec is not None
    out: dict[str, Any] = json.loads(
        get_codec(api).encode_request(codec.decode_request(recorded.request)).body
    )
    return out


def test_fallback_chain_anthropic_overloaded_then_gemini_from_an_openai_recording() -> None:
    path = _real(OPENAI_TOOLS)
    claude_body, gemini_body = _body(path, "anthropic-messages"), _body(path, "gemini")
    gemini_body["_model"] = "gemini-2.5-flash"
    overloaded = replay.faults.HTTPError(529, match=lambda r: r.path == "/v1/messages")
    with replay.use_cassette(path, as_api=("anthropic-messages", "gemini"), faults=[overloaded]):
        claude = anthropic.Anthropic(api_key="sk-ant-test", max_retries=0)
        with pytest.raises(anthropic.APIStatusError) as failed:
            claude.messages.create(
                **{k: claude_body[k] for k in ("model", "max_tokens", "messages", "tools")}
            )
        seen = run_gemini(gemini_body)
    assert failed.value.status_code == 529
    assert failed.value.body == {
        "type": "error",
        "error": {"type": "overloaded_error", "message": "Overloaded"},
    }
    assert seen.calls == [("get_current_weather", {"location": "San Francisco"})]
    assert seen.finish == "STOP"


# Both SDKs name their errors alike; a stream cut before its finish has no finish reason (for
# Anthropic: message_delta never came).
BOTH_OUTCOMES: dict[str, tuple[str, Any]] = {
    "truncate@finish": ("ok", None),
    "disconnect": ("error", "APIConnectionError"),
    "http=429": ("error", "RateLimitError"),
    "http=500": ("error", "InternalServerError"),
    "stall": ("error", "APITimeoutError"),
}


def _finishes(*reasons: str) -> dict[str, tuple[str, Any]]:
    """Each ``finish=REASON`` variant ends the stream with REASON, in the caller's own field."""
    return {f"finish={reason}": ("ok", reason) for reason in reasons}


ANTHROPIC_OUTCOMES = {
    **BOTH_OUTCOMES,
    **_finishes("max_tokens", "tool_use", "stop_sequence", "refusal", "pause_turn"),
    "error-event": ("error", "APIStatusError"),
    "http=529": ("error", "OverloadedError"),
    "rechunk=1": ("ok", "tool_use"),
}


@pytest.mark.parametrize("variant", replay.ANTHROPIC_EDGE_CASES, ids=lambda v: v.id)
def test_anthropic_edge_cases_on_a_translated_openai_recording(variant: replay.Variant) -> None:
    path = _real(OPENAI_TOOLS)
    body = _body(path, "anthropic-messages")
    with replay.use_cassette(path, as_api="anthropic-messages", faults=variant.faults):
        client = anthropic.Anthropic(api_key="sk-ant-test", max_retries=0, timeout=30)
        try:
            kwargs = {k: body[k] for k in ("model", "max_tokens", "messages", "tools")}
            with client.messages.stream(**kwargs) as stream:
                message = stream.get_final_message()
            outcome: tuple[str, Any] = ("ok", message.stop_reason)
            assert [b.type for b in message.content] == ["tool_use"]
        except anthropic.APIError as exc:
            outcome = ("error", type(exc).__name__)
    assert outcome == ANTHROPIC_OUTCOMES[variant.id]


OPENAI_OUTCOMES = {
    **BOTH_OUTCOMES,
    **_finishes("length", "eos", "tool_calls", "content_filter", "error"),
    "null-content": ("ok", "tool_calls"),
    "empty-choices": ("ok", "tool_calls"),
    "rechunk=1": ("ok", "tool_calls"),
}


@pytest.mark.parametrize("variant", replay.EDGE_CASES, ids=lambda v: v.id)
def test_openai_edge_cases_on_a_translated_anthropic_recording(variant: replay.Variant) -> None:
    path = _real(ANTHROPIC_TOOLS)
    body = _body(path, "openai-chat")

    def run() -> tuple[str, Any]:
        client = openai.OpenAI(api_key="sk-test", max_retries=0, timeout=30)
        finish = None
        try:
            for chunk in client.chat.completions.create(
                model="m", messages=body["messages"], tools=body["tools"], stream=True
            ):
                finish = next((c.finish_reason for c in chunk.choices if c.finish_reason), finish)
        except openai.APIError as exc:
            return ("error", type(exc).__name__)
        return ("ok", finish)

    if variant.id == "usage-chunk":
        # The translation already ends with a usage-only chunk (Anthropic reports usage).
        already = pytest.raises(replay.faults.FaultNotApplied, match="already ends with a usage-only chunk")
        with already, replay.use_cassette(path, as_api="openai-chat", faults=variant.faults):
            run()
        return
    with replay.use_cassette(path, as_api="openai-chat", faults=variant.faults):
        outcome = run()
    assert outcome == OPENAI_OUTCOMES[variant.id]


def test_marker_option_and_variants_in_the_plugin(pytester: pytest.Pytester) -> None:
    path = _real(OPENAI_TOOLS)
    body = _body(path, "anthropic-messages")
    pytester.makepyfile(
        test_as_api=textwrap.dedent(
            f"""
            import anthropic, pytest, replay

            BODY = {body!r}

            def ask():
                client = anthropic.Anthropic(api_key="sk-ant-test", max_retries=0)
                kwargs = {{k: BODY[k] for k in ("model", "max_tokens", "messages", "tools")}}
                return client.messages.create(**kwargs)

            @pytest.mark.replay({str(path)!r}, as_api="anthropic-messages")
            def test_answered_in_anthropic_format(replay_cassette):
                message = ask()
                assert message.stop_reason == "tool_use"
                assert message.content[0].input == {{"location": "San Francisco"}}

            @pytest.mark.replay({str(path)!r}, as_api="anthropic-messages")
            @pytest.mark.replay_variants(
                replay.faults.HTTPError(529), replay.faults.FinishReason("max_tokens")
            )
            def test_variants(replay_cassette, replay_variant):
                try:
                    print("OUTCOME", replay_variant.id, ask().stop_reason)
                except anthropic.APIStatusError as exc:
                    print("OUTCOME", replay_variant.id, exc.status_code, exc.body["error"]["type"])
            """
        )
    )
    result = pytester.runpytest("-p", "no:cacheprovider", "-s", "-q")
    result.assert_outcomes(passed=4)
    result.stdout.fnmatch_lines(
        [
            "*OUTCOME recorded tool_use*",
            "*OUTCOME http=529 529 overloaded_error*",
            "*OUTCOME finish=max_tokens max_tokens*",
        ]
    )


@pytest.mark.parametrize(("api", "word"), [("gemini", "MAX_TOKENS"), ("ollama-chat", "length")])
def test_finish_reason_and_truncate_act_on_the_callers_framing(api: str, word: str) -> None:
    path = _real(OPENAI_TOOLS)
    body = _body(path, api)
    body["_model"] = "gpt-3.5-turbo"
    call = [("get_current_weather", {"location": "San Francisco"})]
    with replay.use_cassette(path, as_api=api, faults=[replay.faults.FinishReason("length")]):
        seen = RUNNERS[api](body)
    assert (seen.finish, seen.calls) == (word, call)
    # One event delivered (the tool call), then a clean end: no finish reason reaches the SDK.
    with replay.use_cassette(path, as_api=api, faults=[replay.faults.Truncate(after_events=1)]):
        seen = RUNNERS[api](body)
    assert (seen.finish, seen.calls) == (None, call)
