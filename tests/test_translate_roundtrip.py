"""Round trips A -> B -> A through every pair of API codecs keep the neutral content equal.

Exchanges are generated in the neutral model (hypothesis), encoded in API A, decoded, encoded in
API B, decoded, encoded in A again and decoded: the content must survive, event times included.
"Content" leaves out what an API cannot carry, as documented in each codec (Ollama has no
tool-call ids; the Responses API has no stop sequences; a tool result's name is only carried by
Gemini and Ollama; adjacent text parts may be joined).
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from replay.chat.codecs import get_codec
from replay.chat.neutral.model import (
    ChatRequest,
    ChatResponse,
    Finish,
    Image,
    Message,
    Part,
    ReasoningDelta,
    Start,
    StreamDone,
    Text,
    TextDelta,
    Timed,
    Tool,
    ToolArgsDelta,
    ToolCall,
    ToolCallEnd,
    ToolCallStart,
    ToolResult,
    UsageReport,
)

APIS = ["openai-chat", "openai-responses", "anthropic-messages", "gemini", "bedrock-converse", "ollama-chat"]
PAIRS = [(a, b) for a in APIS for b in APIS if a != b]
NO_IDS = {"ollama-chat"}

words = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1, max_size=12)
names = st.from_regex(r"[a-z][a-z_]{0,10}", fullmatch=True)
json_values = st.one_of(st.integers(-1000, 1000), st.booleans(), words)
arguments = st.dictionaries(names, json_values, max_size=3)


# -- responses ------------------------------------------------------------------------------


@st.composite
def responses(draw: st.DrawFn) -> ChatResponse:
    t = draw(st.floats(0.0, 2.0))
    events: list[Timed] = []

    def at(event: Any) -> None:
        nonlocal t
        t = round(t + draw(st.sampled_from([0.0, 0.001, 0.0173, 0.25])), 6)
        events.append(Timed(t, event))

    at(Start())
    for text in draw(st.lists(words, max_size=3)):
        at(ReasoningDelta(text))
    for text in draw(st.lists(words, max_size=4)):
        at(TextDelta(text))
    calls = draw(st.lists(st.tuples(names, arguments), max_size=2))
    for index, (name, args) in enumerate(calls):
        at(ToolCallStart(index, f"call_{draw(names)}{index}", name))
        text = json.dumps(args)
        cuts = sorted(draw(st.sets(st.integers(1, max(1, len(text) - 1)), max_size=3)))
        for a, b in zip([0, *cuts], [*cuts, len(text)], strict=True):
            if text[a:b]:
                at(ToolArgsDelta(index, text[a:b]))
        at(ToolCallEnd(index))
    at(Finish("tool_calls" if calls else draw(st.sampled_from(["stop", "length"]))))
    at(UsageReport(draw(st.integers(0, 10**6)), draw(st.integers(0, 10**6))))
    at(StreamDone())
    return ChatResponse(tuple(events), id="resp1", model="m", created=1700000000, stream=True, head_t=0.0)


def _response_content(r: ChatResponse, ids: bool) -> Any:
    deltas = [
        (e.t, type(e.event).__name__, e.event.text)
        for e in r.events
        if isinstance(e.event, TextDelta | ReasoningDelta)
    ]
    calls = [(cid if ids else "", name, json.loads(args)) for cid, name, args in r.tool_calls()]
    finish = r.finish.reason if r.finish else None
    usage = (r.usage.input_tokens or 0, r.usage.output_tokens or 0)
    return deltas, calls, finish, usage


def _through(resp: ChatResponse, api: str, stream: bool) -> ChatResponse:
    codec = get_codec(api)
    return codec.decode_response(codec.encode_response(resp, stream))


@settings(max_examples=300, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(responses(), st.sampled_from(PAIRS), st.booleans())
def test_response_round_trip_keeps_content_and_times(
    resp: ChatResponse, pair: tuple[str, str], stream: bool
) -> None:
    a, b = pair
    ids = not ({a, b} & NO_IDS)
    in_a = _through(resp, a, stream)
    back = _through(_through(in_a, b, stream), a, stream)
    assert _response_content(back, ids) == _response_content(in_a, ids)
    assert _response_content(in_a, a not in NO_IDS)[1:] == _response_content(resp, a not in NO_IDS)[1:]
    if stream:
        assert _response_content(in_a, True)[0] == _response_content(resp, True)[0]


# -- requests -------------------------------------------------------------------------------


@st.composite
def requests(draw: st.DrawFn) -> ChatRequest:
    messages: list[Message] = []
    pending: list[ToolCall] = []
    for turn in range(draw(st.integers(1, 4))):
        results: list[Part] = [ToolResult(c.id, draw(words)) for c in pending]
        extra: list[Part] = [Text(draw(words))]
        if draw(st.booleans()):
            extra.append(Image(media_type="image/png", data="aGVsbG8="))
        messages.append(Message("user", (*results, *extra)))
        pending = [
            ToolCall(f"call_{turn}_{i}", draw(names), draw(arguments)) for i in range(draw(st.integers(0, 2)))
        ]
        text: list[Part] = [Text(draw(words))] if draw(st.booleans()) or not pending else []
        messages.append(Message("assistant", (*text, *pending)))
    tools = tuple(
        Tool(n, draw(words), {"type": "object", "properties": {"x": {"type": "string"}}})
        for n in draw(st.lists(names, max_size=2, unique=True))
    )
    return ChatRequest(
        model="model-1",
        system=draw(st.none() | words),
        messages=tuple(messages),
        tools=tools,
        temperature=draw(st.sampled_from([None, 0.0, 0.5, 1.0])),
        top_p=draw(st.sampled_from([None, 0.9])),
        stop=tuple(draw(st.lists(words, max_size=2))),
        max_tokens=draw(st.integers(1, 4096)),
        stream=draw(st.booleans()),
    )


def _request_content(r: ChatRequest, ids: bool, stop: bool) -> Any:
    def part(p: Part) -> Any:
        if isinstance(p, ToolCall):
            return ("call", p.id if ids else "", p.name, p.arguments)
        if isinstance(p, ToolResult):
            return ("result", p.tool_call_id if ids else "", p.content)
        return p

    messages = []
    for m in r.messages:
        parts: list[Any] = []
        for p in m.parts:
            if isinstance(p, Text) and parts and isinstance(parts[-1], Text):
                parts[-1] = Text(parts[-1].text + p.text)  # adjacent text may be joined (Ollama)
            else:
                parts.append(p)
        messages.append((m.role, [part(p) for p in parts]))
    params = (r.temperature, r.top_p, r.max_tokens, r.stream, r.stop if stop else ())
    return r.model, r.system, messages, r.tools, params


def _request_through(req: ChatRequest, api: str) -> ChatRequest:
    codec = get_codec(api)
    return codec.decode_request(codec.encode_request(req))


@settings(max_examples=300, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(requests(), st.sampled_from(PAIRS))
def test_request_round_trip_keeps_conversation_and_tools(req: ChatRequest, pair: tuple[str, str]) -> None:
    a, b = pair
    ids = not ({a, b} & NO_IDS)
    stop = "openai-responses" not in (a, b)
    in_a = _request_through(req, a)
    back = _request_through(_request_through(in_a, b), a)
    assert _request_content(back, ids, stop) == _request_content(in_a, ids, stop)
    assert _request_content(in_a, ids, stop) == _request_content(req, ids, stop)
    assert back.conversation_key() == in_a.conversation_key() or not ids
