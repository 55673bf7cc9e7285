"""Conformance: every real vcrpy recording in ../shared/real-cassettes replays through the real SDK
of its provider, in virtual timing, and what the SDK returns equals an independent parse of the
recorded body (text, tool calls, finish reasons, usage).

The recordings are read in place (never copied). Each interaction of a cassette is replayed by
one SDK call, in file order, with the request the SDK builds from the recorded parameters; the
default matcher (method, URL, JSON body) must accept it, except where an SDK of today sends a
different body than the one that recorded (noted per case).
"""

from __future__ import annotations

import asyncio
import base64
import json
import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from conftest import require_real_cassettes

import replay
from replay.chat import ChatCompletionError
from replay.model.cassette import Interaction

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
# The parameters of these tests are read from the recordings: without them, skip the module
# (the rest of the run is collected and runs); under CI their absence is an error.
require_real_cassettes(module_level=True)

PKG = "openllmetry/packages/opentelemetry-instrumentation-"
OPENAI = PKG + "openai/tests/traces/cassettes/"
FINISH = OPENAI + "test_finish_reasons/"
ANTHROPIC = PKG + "anthropic/tests/cassettes/"


# -- independent parse of recorded bodies ------------------------------------------------------


def payloads(interaction: Interaction) -> list[tuple[str, Any]]:
    """(event name, JSON data) of each SSE event, [DONE] left out."""
    out = []
    for event in interaction.response.events():
        if event.is_done:
            continue
        out.append((event.event, json.loads(event.data)))
    return out


@dataclass
class Choice:
    text: str = ""
    refusal: str | None = None
    tools: dict[int, list[str]] = field(default_factory=dict)  # index -> [id, name, arguments]
    finish: str | None = None


@dataclass
class Chat:
    choices: dict[int, Choice] = field(default_factory=dict)
    usage: tuple[int, int, int] | None = None

    def choice(self, index: int) -> Choice:
        return self.choices.setdefault(index, Choice())


def _usage(raw: Any) -> tuple[int, int, int] | None:
    if not isinstance(raw, dict):
        return None
    return (raw["prompt_tokens"], raw["completion_tokens"], raw["total_tokens"])


def parse_chat_stream(interaction: Interaction) -> Chat:
    """Accumulate an OpenAI-compatible chat.completion.chunk stream from the raw bytes."""
    chat = Chat()
    for _, data in payloads(interaction):
        for raw in data.get("choices") or []:
            choice = chat.choice(raw["index"])
            delta = raw.get("delta") or {}
            choice.text += delta.get("content") or ""
            if delta.get("refusal"):
                choice.refusal = (choice.refusal or "") + delta["refusal"]
            for call in delta.get("tool_calls") or []:
                slot = choice.tools.setdefault(call["index"], ["", "", ""])
                slot[0] = call.get("id") or slot[0]
                function = call.get("function") or {}
                slot[1] += function.get("name") or ""
                slot[2] += function.get("arguments") or ""
            if raw.get("finish_reason"):
                choice.finish = raw["finish_reason"]
        usage = _usage(data.get("usage")) or _usage((data.get("x_groq") or {}).get("usage"))
        if usage is not None:
            chat.usage = usage
    return chat


def parse_chat_json(interaction: Interaction) -> Chat:
    body = interaction.response.body_json()
    chat = Chat(usage=_usage(body.get("usage")))
    for raw in body.get("choices") or []:
        choice = chat.choice(raw["index"])
        message = raw.get("message") or {}
        choice.text = message.get("content") or ""
        choice.refusal = message.get("refusal")
        for i, call in enumerate(message.get("tool_calls") or []):
            choice.tools[i] = [call["id"], call["function"]["name"], call["function"]["arguments"]]
        choice.finish = raw.get("finish_reason")
    return chat


# -- what the SDK returned, in the same shape --------------------------------------------------


def sdk_chat_stream(chunks: list[Any]) -> Chat:
    chat = Chat()
    for chunk in chunks:
        for raw in chunk.choices or []:
            choice = chat.choice(raw.index)
            delta = raw.delta
            choice.text += getattr(delta, "content", None) or ""
            if getattr(delta, "refusal", None):
                choice.refusal = (choice.refusal or "") + delta.refusal
            for call in getattr(delta, "tool_calls", None) or []:
                slot = choice.tools.setdefault(call.index, ["", "", ""])
                slot[0] = call.id or slot[0]
                if call.function is not None:
                    slot[1] += call.function.name or ""
                    slot[2] += call.function.arguments or ""
            if raw.finish_reason:
                choice.finish = raw.finish_reason
        usage = getattr(chunk, "usage", None)
        x_groq = getattr(chunk, "x_groq", None)
        if usage is None and x_groq is not None:
            usage = getattr(x_groq, "usage", None)
        if usage is not None:
            chat.usage = (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens)
    return chat


def sdk_chat_json(completion: Any) -> Chat:
    usage = completion.usage
    chat = Chat(
        usage=None if usage is None else (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens)
    )
    for raw in completion.choices:
        choice = chat.choice(raw.index)
        message = raw.message  # None in Azure's content-filtered choices
        choice.text = getattr(message, "content", None) or ""
        choice.refusal = getattr(message, "refusal", None)
        for i, call in enumerate(getattr(message, "tool_calls", None) or []):
            choice.tools[i] = [call.id, call.function.name, call.function.arguments]
        choice.finish = raw.finish_reason
    return chat


# -- running one cassette ----------------------------------------------------------------------

Call = Callable[[Interaction], None]


def replay_all(path: Path, call: Call, *, match_on: tuple[str, ...] | None = None) -> replay.Cassette:
    """Replay every interaction of ``path`` through ``call`` (one SDK call each), in order."""
    cassette = replay.load_cassette(path)
    with replay.use_cassette(path, timing="virtual", match_on=match_on) as active:
        for interaction in cassette.interactions:
            call(interaction)
    assert active.all_played, f"{path.name}: interactions never requested: {active.unplayed}"
    return cassette


def req_json(interaction: Interaction) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(interaction.request.body)
    return body


def origin(interaction: Interaction, suffix: str) -> str:
    url = interaction.request.url.split("#")[0].split("?")[0]
    assert url.endswith(suffix), url
    return url[: -len(suffix)]


CASES: dict[str, Callable[[Path], None]] = {}


def case(*names: str) -> Callable[[Callable[[Path], None]], Callable[[Path], None]]:
    def register(fn: Callable[[Path], None]) -> Callable[[Path], None]:
        for name in names:
            CASES[name] = fn
        return fn

    return register


# -- OpenAI (and OpenAI-compatible: Azure, DeepSeek) chat completions --------------------------


def _openai_client(interaction: Interaction, suffix: str) -> Any:
    import openai

    url = interaction.request.url
    if ".openai.azure.com" in url:
        endpoint = url.split("/openai/")[0]
        deployment = url.split("/deployments/")[1].split("/")[0]
        version = url.split("api-version=")[1]
        return openai.AzureOpenAI(
            azure_endpoint=endpoint,
            azure_deployment=deployment,
            api_key="azure-key",
            api_version=version,
            max_retries=0,
        )
    return openai.OpenAI(base_url=origin(interaction, suffix), api_key="sk-test", max_retries=0)


_CHAT_ARGS = ("messages", "model", "stream", "tools", "n", "response_format", "stream_options")


@case(
    FINISH + "TestChatCompletionsFinishReasons.test_chat_streaming_sets_top_level_finish_reasons.yaml",
    OPENAI + "test_functions/test_open_ai_function_calls_tools_streaming_parallel.yaml",
    OPENAI + "test_chat/test_chat_tools_streaming.yaml",
    FINISH + "TestFinishReasonDeduplication.test_streaming_deduplicates_finish_reasons.yaml",
    OPENAI + "test_azure/test_chat_content_filtering.yaml",
    OPENAI + "test_azure/test_chat_streaming.yaml",
    OPENAI + "test_streaming_with_api_usage/test_streaming_with_api_usage_capture.yaml",
)
def openai_chat(path: Path) -> None:
    def call(interaction: Interaction) -> None:
        client = _openai_client(interaction, "/chat/completions")
        args = {k: v for k, v in req_json(interaction).items() if k in _CHAT_ARGS}
        if args.get("stream"):
            chunks = list(client.chat.completions.create(**args))
            got, want = sdk_chat_stream(chunks), parse_chat_stream(interaction)
            assert len(chunks) == len(payloads(interaction))
        else:
            completion = client.chat.completions.create(**args)
            got, want = sdk_chat_json(completion), parse_chat_json(interaction)
            assert completion.to_dict() == interaction.response.body_json()
        assert got == want
        assert want.choices and all(c.finish for c in want.choices.values())
        assert any(
            c.text or c.tools or c.refusal or c.finish == "content_filter" for c in want.choices.values()
        )

    replay_all(path, call)


@case(OPENAI + "test_chat_parse/test_parsed_refused_completion.yaml")
def openai_parse_refusal(path: Path) -> None:
    from pydantic import BaseModel

    class StructuredAnswer(BaseModel):
        rating: int
        joke: str

    def call(interaction: Interaction) -> None:
        client = _openai_client(interaction, "/chat/completions")
        completion = client.chat.completions.parse(
            model="gpt-4o", messages=req_json(interaction)["messages"], response_format=StructuredAnswer
        )
        want = parse_chat_json(interaction)
        message = completion.choices[0].message
        assert message.parsed is None
        assert message.refusal == want.choices[0].refusal and message.refusal
        assert sdk_chat_json(completion) == want

    # openai 3.x no longer sends "stream": false, so the body differs from the 1.x recordings.
    replay_all(path, call, match_on=("method", "url"))


@case(OPENAI + "test_azure/test_prompt_content_filtering.yaml")
def azure_prompt_filter(path: Path) -> None:
    def call(interaction: Interaction) -> None:
        client = _openai_client(interaction, "/chat/completions")
        completion = client.chat.completions.create(**req_json(interaction))
        body = interaction.response.body_json()
        assert completion.to_dict() == body
        if "error" in body:
            # Azure answered 200 with an error object (prompt filtered): the SDK hands it over as is.
            assert body["error"]["code"] == "content_filter"
            assert completion.model_extra["error"]["innererror"]["code"] == "ResponsibleAIPolicyViolation"
        else:
            assert sdk_chat_json(completion) == parse_chat_json(interaction)

    replay_all(path, call)


@case(OPENAI + "test_completions/test_async_completion_streaming.yaml")
def openai_completions_stream(path: Path) -> None:
    import openai

    async def run(interaction: Interaction) -> list[Any]:
        async with openai.AsyncOpenAI(
            base_url=origin(interaction, "/completions"), api_key="sk-test", max_retries=0
        ) as client:
            stream = await client.completions.create(**req_json(interaction))
            return [chunk async for chunk in stream]

    def call(interaction: Interaction) -> None:
        chunks = asyncio.run(run(interaction))
        want_text, want_finish = "", None
        for _, data in payloads(interaction):
            want_text += data["choices"][0]["text"]
            want_finish = data["choices"][0]["finish_reason"] or want_finish
        assert "".join(c.choices[0].text for c in chunks) == want_text and want_text
        assert [c.choices[0].finish_reason for c in chunks if c.choices[0].finish_reason] == [want_finish]
        assert want_finish == "length"

    replay_all(path, call)


@case(OPENAI + "test_embeddings/test_azure_openai_embeddings.yaml")
def azure_embeddings(path: Path) -> None:
    import openai

    def call(interaction: Interaction) -> None:
        client = _openai_client(interaction, "/embeddings")
        # Left out, the SDK asks for base64 itself (as recorded) and decodes it to floats.
        args = {k: v for k, v in req_json(interaction).items() if k != "encoding_format"}
        body = interaction.response.body_json()
        if interaction.response.status == 401:
            with pytest.raises(openai.AuthenticationError) as info:
                client.embeddings.create(**args)
            assert info.value.status_code == 401
            assert info.value.body == body["error"]
            return
        result = client.embeddings.create(**args)
        raw = base64.b64decode(body["data"][0]["embedding"])
        want = list(struct.unpack(f"<{len(raw) // 4}f", raw))
        assert result.data[0].embedding == pytest.approx(want, rel=1e-7)
        assert len(want) == 3072
        assert (result.usage.prompt_tokens, result.usage.total_tokens) == (
            body["usage"]["prompt_tokens"],
            body["usage"]["total_tokens"],
        )

    replay_all(path, call)


@case(OPENAI + "test_responses/test_responses_streaming_with_content.yaml")
def openai_responses_stream(path: Path) -> None:
    def call(interaction: Interaction) -> None:
        client = _openai_client(interaction, "/responses")
        events = list(client.responses.create(**req_json(interaction)))
        recorded = payloads(interaction)
        assert [e.type for e in events] == [name for name, _ in recorded]
        deltas = "".join(d["delta"] for n, d in recorded if n == "response.output_text.delta")
        completed = next(d["response"] for n, d in recorded if n == "response.completed")
        final = events[-1].response
        assert final.output_text == deltas == completed["output"][0]["content"][0]["text"]
        assert "4" in deltas
        assert (final.usage.input_tokens, final.usage.output_tokens) == (
            completed["usage"]["input_tokens"],
            completed["usage"]["output_tokens"],
        )
        assert final.status == completed["status"] == "completed"

    replay_all(path, call)


# -- Anthropic ---------------------------------------------------------------------------------


def parse_anthropic_stream(interaction: Interaction) -> dict[str, Any]:
    blocks: dict[int, dict[str, Any]] = {}
    out: dict[str, Any] = {}
    for name, data in payloads(interaction):
        if name == "message_start":
            out["input_tokens"] = data["message"]["usage"]["input_tokens"]
        elif name == "content_block_start":
            blocks[data["index"]] = dict(data["content_block"])
            if blocks[data["index"]]["type"] == "tool_use":
                blocks[data["index"]]["partial"] = ""
        elif name == "content_block_delta":
            block, delta = blocks[data["index"]], data["delta"]
            kind = delta["type"]
            if kind == "text_delta":
                block["text"] += delta["text"]
            elif kind == "input_json_delta":
                block["partial"] += delta["partial_json"]
            elif kind == "thinking_delta":
                block["thinking"] += delta["thinking"]
            elif kind == "signature_delta":
                block["signature"] += delta["signature"]
        elif name == "message_delta":
            out["stop_reason"] = data["delta"]["stop_reason"]
            out["output_tokens"] = data["usage"]["output_tokens"]
    content = []
    for _, block in sorted(blocks.items()):
        if block["type"] == "tool_use":
            block["input"] = json.loads(block.pop("partial") or "{}")
        content.append(block)
    out["content"] = content
    return out


@case(
    ANTHROPIC + "test_messages/test_anthropic_message_streaming_legacy.yaml",
    ANTHROPIC + "test_messages/test_anthropic_tools_streaming_legacy.yaml",
    ANTHROPIC + "test_thinking/test_anthropic_thinking_streaming_legacy.yaml",
    ANTHROPIC + "test_messages/test_anthropic_tools_legacy.yaml",
)
def anthropic_messages(path: Path) -> None:
    import anthropic

    def call(interaction: Interaction) -> None:
        client = anthropic.Anthropic(
            base_url=origin(interaction, "/v1/messages"), api_key="sk-ant-test", max_retries=0
        )
        args = {k: v for k, v in req_json(interaction).items() if k != "stream"}
        if req_json(interaction).get("stream"):
            with client.messages.stream(**args) as stream:
                message = stream.get_final_message()
            want = parse_anthropic_stream(interaction)
        else:
            message = client.messages.create(**args)
            body = interaction.response.body_json()
            assert message.to_dict() == body
            want = {
                "content": body["content"],
                "stop_reason": body["stop_reason"],
                "input_tokens": body["usage"]["input_tokens"],
                "output_tokens": body["usage"]["output_tokens"],
            }
        got_content = [block.to_dict() for block in message.content]
        for block in got_content:
            block.pop("citations", None)  # the SDK adds citations=None to text blocks it accumulates
        assert got_content == want["content"]
        assert message.stop_reason == want["stop_reason"]
        assert (message.usage.input_tokens, message.usage.output_tokens) == (
            want["input_tokens"],
            want["output_tokens"],
        )
        kinds = {block["type"] for block in want["content"]}
        assert kinds & {"text", "tool_use", "thinking"}

    # anthropic 2.x sends the same parameters, but not always in the recorded key order or
    # spacing; the JSON body matcher compares data, so the default matching holds.
    replay_all(path, call)


# -- Groq, Together, Mistral, Cohere, Writer ---------------------------------------------------


@case(PKG + "groq/tests/traces/cassettes/test_chat_tracing/test_chat_streaming_legacy.yaml")
def groq_chat(path: Path) -> None:
    import groq

    def call(interaction: Interaction) -> None:
        client = groq.Groq(
            base_url=origin(interaction, "/openai/v1/chat/completions"), api_key="gsk_test", max_retries=0
        )
        chunks = list(client.chat.completions.create(**req_json(interaction)))
        want = parse_chat_stream(interaction)
        assert sdk_chat_stream(chunks) == want
        assert want.usage is not None and want.choices[0].finish == "stop"
        assert chunks[0].x_groq.id == payloads(interaction)[0][1]["x_groq"]["id"]

    replay_all(path, call)


@case(
    PKG + "together/tests/cassettes/test_chat/test_together_chat_legacy.yaml",
    PKG + "together/tests/cassettes/test_completion/test_together_completion_legacy.yaml",
)
def together_json(path: Path) -> None:
    import together

    def call(interaction: Interaction) -> None:
        is_chat = interaction.request.url.endswith("/chat/completions")
        client = together.Together(
            base_url=origin(interaction, "/v1/chat/completions" if is_chat else "/v1/completions"),
            api_key="together-test",
            max_retries=0,
        )
        args = {k: v for k, v in req_json(interaction).items() if v is not None and k != "stream"}
        body = interaction.response.body_json()
        if is_chat:
            args["messages"] = [{k: v for k, v in m.items() if v is not None} for m in args["messages"]]
            result = client.chat.completions.create(**args)
            assert result.choices[0].message.content == body["choices"][0]["message"]["content"]
        else:
            result = client.completions.create(**args)
            assert result.choices[0].text == body["choices"][0]["text"]
        assert result.choices[0].finish_reason == body["choices"][0]["finish_reason"]
        assert result.usage.to_dict() == body["usage"]

    # together 1.2 sent every unset parameter as null; together 3.x leaves them out.
    replay_all(path, call, match_on=("method", "url"))


@case(
    PKG + "mistralai/tests/cassettes/test_chat/test_mistralai_streaming_chat_legacy.yaml",
    PKG + "mistralai/tests/cassettes/test_chat/test_mistralai_chat_legacy.yaml",
)
def mistral_chat(path: Path) -> None:
    from mistralai.client import Mistral

    def call(interaction: Interaction) -> None:
        client = Mistral(api_key="mistral-test", server_url=origin(interaction, "/v1/chat/completions"))
        args = req_json(interaction)
        if args.pop("stream"):
            events = list(client.chat.stream(**args))
            got = sdk_chat_stream([e.data for e in events])
            want = parse_chat_stream(interaction)
            # Mistral pads chunks with a random field "p"; the SDK keeps it as an extra attribute.
            padded = [d for _, d in payloads(interaction) if "p" in d]
            assert padded, "the recording has Mistral's padding field"
        else:
            got = sdk_chat_json(client.chat.complete(**args))
            want = parse_chat_json(interaction)
        assert got == want
        assert want.usage is not None and want.choices[0].finish == "stop" and want.choices[0].text

    replay_all(path, call)


@case(PKG + "cohere/tests/cassettes/test_chat/test_cohere_v2_chat_legacy_with_streaming.yaml")
def cohere_chat(path: Path) -> None:
    def call(interaction: Interaction) -> None:
        # Imported inside the virtual clock on purpose: cohere builds TypeAdapter(datetime)
        # at import time, which then sees freezegun's FakeDatetime (see replay/clock.py).
        from cohere.client_v2 import ClientV2

        client = ClientV2(api_key="co-test", base_url=origin(interaction, "/v2/chat"))
        args = {k: v for k, v in req_json(interaction).items() if k != "stream"}
        events = list(client.chat_stream(**args))
        text = "".join(
            d["delta"]["message"]["content"]["text"] for n, d in payloads(interaction) if n == "content-delta"
        )
        end = next(d for n, d in payloads(interaction) if n == "message-end")
        got_text = "".join(e.delta.message.content.text for e in events if e.type == "content-delta")
        got_end = next(e for e in events if e.type == "message-end")
        assert got_text == text and text
        assert got_end.delta.finish_reason == end["delta"]["finish_reason"] == "COMPLETE"
        assert (
            got_end.delta.usage.billed_units.output_tokens
            == end["delta"]["usage"]["billed_units"]["output_tokens"]
        )
        assert got_end.delta.usage.tokens.input_tokens == end["delta"]["usage"]["tokens"]["input_tokens"]

    replay_all(path, call)


@case(PKG + "writer/tests/cassettes/test_chat/test_writer_streaming_chat_multiple_choices_legacy.yaml")
def writer_chat(path: Path) -> None:
    import writerai

    def call(interaction: Interaction) -> None:
        client = writerai.Writer(
            api_key="writer-test", base_url=origin(interaction, "/v1/chat"), max_retries=0
        )
        chunks = list(client.chat.chat(**req_json(interaction)))
        want = parse_chat_stream(interaction)
        # n=2: both choices interleaved in one stream, which ends without "data: [DONE]".
        assert sorted(want.choices) == [0, 1]
        assert not any(e.is_done for e in interaction.response.events())
        assert len(chunks) == len(payloads(interaction))
        assert sdk_chat_stream(chunks) == want
        assert want.usage is not None and all(c.finish == "stop" and c.text for c in want.choices.values())

    replay_all(path, call)


# -- the tests ---------------------------------------------------------------------------------


def _manifest() -> list[str]:
    root = require_real_cassettes()
    rows = (root / "MANIFEST.tsv").read_text().splitlines()[1:]
    return [row.split("\t")[2] for row in rows if row.strip()]


@pytest.mark.parametrize("name", sorted(CASES), ids=lambda n: Path(n).stem[:60])
def test_conformance_replay_through_sdk(name: str) -> None:
    root = require_real_cassettes()
    path = root / name
    assert path.is_file(), f"{path} is missing from the real recordings"
    CASES[name](path)


def test_conformance_covers_every_real_cassette() -> None:
    root = require_real_cassettes()
    listed = {f"openllmetry/{p}" for p in _manifest()}
    on_disk = {str(p.relative_to(root)) for p in root.rglob("*.yaml")}
    assert listed == on_disk
    assert len(on_disk) == 23
    assert set(CASES) == on_disk


def _chat_rows() -> list[Any]:
    """(path, streaming) of every real OpenAI-compatible chat cassette, from MANIFEST.tsv."""
    root = require_real_cassettes()
    rows = [line.split("\t") for line in (root / "MANIFEST.tsv").read_text().splitlines()[1:] if line]
    out = []
    for row in rows:
        provider, endpoint, streaming = row[4], row[5], row[6] == "yes"
        if provider in ("Anthropic", "Cohere") or not endpoint.split("#")[0].endswith(
            ("/chat/completions", "/v1/chat")
        ):
            continue
        out.append(pytest.param(root / "openllmetry" / row[2], streaming, id=Path(row[2]).stem[:60]))
    return out


@pytest.mark.parametrize(("path", "streaming"), _chat_rows())
def test_conformance_chat_completion_assembles_real_recordings(path: Path, streaming: bool) -> None:
    """Response.chat_completion() on what the vcrpy importer made of each real chat cassette
    equals an independent parse of the recorded bytes: Azure's empty-choices first chunk,
    Mistral's padding field, Groq's x_groq usage, Writer's interleaved n=2 without [DONE],
    DeepSeek's usage on the finish chunk."""
    cassette = replay.load_cassette(path)
    checked = 0
    for interaction in cassette.interactions:
        response = interaction.response
        if response.status != 200:
            continue
        assert response.is_event_stream is streaming
        if not streaming and "error" in response.body_json():
            # Azure answered a filtered prompt with an error body and status 200.
            with pytest.raises(ChatCompletionError, match="is an error, not a completion"):
                response.chat_completion()
            continue
        expected = parse_chat_stream(interaction) if streaming else parse_chat_json(interaction)
        completion = response.chat_completion()
        assert sdk_chat_json(completion) == expected, f"{path.name}: {interaction.request.url}"
        checked += 1
    assert checked >= 1
