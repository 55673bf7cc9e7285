"""``replay.synth``: interactions built from nothing that the real SDKs parse (openai and
anthropic on httpx2, together on httpx), streamed or not, sync or async, with the timing model
the application then observes on the virtual clock."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import anthropic
import openai
import pytest
import together

import replay
from replay import synth

SYNC_ASYNC = pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
STREAM = pytest.mark.parametrize("stream", [True, False], ids=["stream", "json"])
MESSAGES = [{"role": "user", "content": "anything: synth interactions match on method and path"}]
WEATHER = {"name": "get_weather", "arguments": {"city": "Paris", "unit": "c"}}


def _client(provider: str, is_async: bool) -> Any:
    # A base URL that nothing listens on: replay must never need it.
    if provider == "anthropic":
        cls: Any = anthropic.AsyncAnthropic if is_async else anthropic.Anthropic
        return cls(api_key="k", base_url="http://127.0.0.1:9", max_retries=0)
    if provider == "together":
        cls = together.AsyncTogether if is_async else together.Together
        return cls(api_key="k", base_url="http://127.0.0.1:9", max_retries=0)
    cls = openai.AsyncOpenAI if is_async else openai.OpenAI
    return cls(api_key="k", base_url="http://127.0.0.1:9/v1", max_retries=0)


def _run(provider: str, path: Path, *, stream: bool, is_async: bool) -> tuple[Any, list[Any], list[float]]:
    """(non-stream result or None, streamed items, app-clock offset of each item or of the result)."""

    def create(client: Any) -> Any:
        if provider == "anthropic":
            return client.messages.create(model="x", max_tokens=10, messages=MESSAGES, stream=stream)
        return client.chat.completions.create(model="x", messages=MESSAGES, stream=stream)

    async def go_async() -> tuple[Any, list[Any], list[float]]:
        async with _client(provider, True) as client:
            t0 = time.monotonic()
            result = await create(client)
            if not stream:
                return result, [], [time.monotonic() - t0]
            items, at = [], []
            async for item in result:
                items.append(item)
                at.append(time.monotonic() - t0)
            return None, items, at

    with replay.use_cassette(path) as cassette:
        if is_async:
            out = asyncio.run(go_async())
        else:
            with _client(provider, False) as client:
                t0 = time.monotonic()
                result = create(client)
                if not stream:
                    out = (result, [], [time.monotonic() - t0])
                else:
                    items, at = [], []
                    for item in result:
                        items.append(item)
                        at.append(time.monotonic() - t0)
                    out = (None, items, at)
    assert cassette.all_played
    return out


def _save(tmp_path: Path, interaction: replay.Interaction) -> Path:
    path = tmp_path / "synth.yaml"
    synth.cassette(interaction).save(path)
    return path


@SYNC_ASYNC
@STREAM
def test_openai_text_with_timing(stream: bool, is_async: bool, tmp_path: Path, no_network: Any) -> None:
    path = _save(tmp_path, synth.chat("One two three four.", stream=stream, ttft=0.3, tokens_per_s=40))
    result, items, at = _run("openai", path, stream=stream, is_async=is_async)
    if not stream:
        assert result.choices[0].message.content == "One two three four."
        assert result.choices[0].finish_reason == "stop"
        assert (result.usage.prompt_tokens, result.usage.completion_tokens) == (1, 4)
        assert at == [pytest.approx(0.3 + 3 / 40, abs=1e-6)]  # the whole answer, then the body
        return
    text = "".join(c.choices[0].delta.content or "" for c in items if c.choices)
    assert text == "One two three four."
    assert [c.choices[0].finish_reason for c in items if c.choices][-1] == "stop"
    assert items[-1].choices == [] and items[-1].usage.completion_tokens == 4  # usage-only chunk
    # Role chunk and first token at ttft, then one token every 1/40 s; finish and usage after.
    assert at[:5] == pytest.approx([0.3, 0.3, 0.325, 0.35, 0.375], abs=1e-6)
    assert replay.load_cassette(path).interactions[0].response.synthetic_timing


@SYNC_ASYNC
@STREAM
def test_openai_tool_calls_and_n_choices(stream: bool, is_async: bool, tmp_path: Path) -> None:
    path = _save(tmp_path, synth.chat(["", ""], tool_calls=[WEATHER, {"name": "noop"}], stream=stream))
    result, items, _ = _run("openai", path, stream=stream, is_async=is_async)
    if stream:
        state = openai.lib.streaming.chat.ChatCompletionStreamState()  # type: ignore[attr-defined]
        for chunk in items:
            state.handle_chunk(chunk)
        result = state.current_completion_snapshot
    assert len(result.choices) == 2
    for choice in result.choices:
        assert choice.finish_reason == "tool_calls"
        calls = [(c.function.name, c.function.arguments) for c in choice.message.tool_calls]
        assert calls == [("get_weather", '{"city": "Paris", "unit": "c"}'), ("noop", "{}")]
        assert choice.message.content in (None, "")


@SYNC_ASYNC
@STREAM
def test_together_eos_seed_and_logprobs(stream: bool, is_async: bool, tmp_path: Path) -> None:
    interaction = synth.chat("Alpha beta.", provider="together", stream=stream, seed=42, logprobs=True)
    path = _save(tmp_path, interaction)
    result, items, _ = _run("together", path, stream=stream, is_async=is_async)
    if stream:
        assert "".join(c.choices[0].delta.content or "" for c in items) == "Alpha beta."
        last = items[-1].choices[0]
        assert (last.finish_reason, last.seed) == ("eos", 42)
        assert [c.choices[0].logprobs for c in items[1:-1]] == [-0.05, -0.1]
        assert items[-1].usage.total_tokens == 3
    else:
        choice = result.choices[0]
        assert (choice.message.content, choice.finish_reason, choice.seed) == ("Alpha beta.", "eos", 42)
        assert choice.logprobs.tokens == ["Alpha", " beta."]
        assert choice.logprobs.token_logprobs == [-0.05, -0.1]


@SYNC_ASYNC
def test_together_prompt_echo(is_async: bool, tmp_path: Path) -> None:
    path = _save(tmp_path, synth.chat("Yes.", provider="together", stream=False, echo=True, prompt="Is it?"))
    result, _, _ = _run("together", path, stream=False, is_async=is_async)
    assert [p.text for p in result.prompt] == ["Is it?"]


@SYNC_ASYNC
@STREAM
def test_anthropic_text_and_tool_use(stream: bool, is_async: bool, tmp_path: Path) -> None:
    interaction = synth.chat("Checking.", provider="anthropic", tool_calls=[WEATHER], stream=stream)
    path = _save(tmp_path, interaction)
    result, items, _ = _run("anthropic", path, stream=stream, is_async=is_async)
    if stream:
        snapshot = None
        buffers: dict[int, bytes] = {}
        from anthropic.lib.streaming._messages import accumulate_event

        for event in items:
            snapshot = accumulate_event(event=event, current_snapshot=snapshot, json_bufs=buffers)
        result = snapshot
        assert [e.type for e in items].count("content_block_delta") > 2
    assert result.stop_reason == "tool_use"
    assert [b.type for b in result.content] == ["text", "tool_use"]
    assert result.content[0].text == "Checking."
    assert (result.content[1].name, result.content[1].input) == (
        "get_weather",
        {"city": "Paris", "unit": "c"},
    )
    assert result.usage.output_tokens == interaction.response.chat_completion().usage.output_tokens  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("provider", "reason", "written"),
    [("openai", "length", "length"), ("anthropic", "length", "max_tokens"), ("together", "eos", "eos")],
)
def test_finish_reasons_are_written_as_the_provider_spells_them(
    provider: Any, reason: str, written: str
) -> None:
    completion = synth.chat("x", provider=provider, finish_reason=reason).response.chat_completion()
    assert getattr(completion, "stop_reason", None) == written or completion.finish_reasons == [written]  # type: ignore[union-attr]


def test_synth_matches_on_method_and_path_whatever_the_host_and_body(tmp_path: Path) -> None:
    interaction = synth.chat("hi", stream=False)
    assert interaction.match_on == ("method", "path")
    path = _save(tmp_path, interaction)
    assert "match_on:\n  - method\n  - path" in path.read_text()
    result, _, _ = _run("openai", path, stream=False, is_async=False)  # other host, other body
    assert result.choices[0].message.content == "hi"


def test_synth_errors_answer_like_the_provider(tmp_path: Path) -> None:
    path = tmp_path / "err.yaml"
    synth.cassette(
        synth.error(529, provider="anthropic"), synth.chat("ok", provider="anthropic", stream=False)
    ).save(path)
    with replay.use_cassette(path), _client("anthropic", False) as client:
        with pytest.raises(anthropic.OverloadedError):
            client.messages.create(model="x", max_tokens=5, messages=MESSAGES)
        assert client.messages.create(model="x", max_tokens=5, messages=MESSAGES).content[0].text == "ok"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"provider": "azure"}, "provider must be one of"),
        ({"content": []}, "non-empty list"),
        ({"content": ["a", "b"], "n": 3}, "n=3 but 2 contents"),
        ({"n": 0}, "n must be a whole number >= 1"),
        ({"ttft": -1}, "ttft must be a finite number >= 0"),
        ({"tokens_per_s": 0}, "tokens_per_s must be > 0"),
        ({"provider": "anthropic", "n": 2}, "Anthropic messages have one answer"),
        ({"provider": "anthropic", "usage": False}, "Anthropic always reports usage"),
        ({"echo": True}, "echo .* is Together's"),
        ({"provider": "together", "echo": True}, "non-streamed"),
        ({"tool_calls": [{"arguments": {}}]}, r"tool_calls\[0\] must be a mapping with a 'name'"),
        ({"tool_calls": [{"name": "f", "args": {}}]}, r"unknown key\(s\) \['args'\]"),
        ({"provider": "anthropic", "tool_calls": [{"name": "f", "arguments": "{bad"}]}, "must be JSON"),
    ],
)
def test_bad_synth_arguments_are_explained(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        synth.chat(**kwargs)


def test_broken_tool_arguments_can_be_synthesised_for_openai() -> None:
    completion = synth.chat(
        "", tool_calls=[{"name": "f", "arguments": '{"unterminated": '}]
    ).response.chat_completion()
    assert completion.choices[0].message.tool_calls[0].function.arguments == '{"unterminated": '  # type: ignore[union-attr, index]
