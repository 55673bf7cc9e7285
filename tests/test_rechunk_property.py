"""Property: Rechunk at any size, with any line endings, never changes what the stream means:
the same SSE events, the same assembled completion. And the timed-body edits that all faults
build on keep bytes and arrival times consistent."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fault_helpers import record_chat
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from llm_server import LLMServer, Script

import replay
from replay import synth
from replay.faults import FinishReason, Rechunk
from replay.faults.draft import FaultContext
from replay.faults.injector import FaultInjector
from replay.faults.timed_body import TimedBody

STREAMS = {
    "openai-tools-n2": synth.chat(
        ["First answer, with words.", "Second"],
        tool_calls=[
            {"name": "lookup", "arguments": {"q": "sse \u00e9v\u00e9nements \U0001f600", "n": [1, 2]}}
        ],
        logprobs=True,
    ),
    "together": synth.chat("Together streams text and eos.", provider="together", seed=5),
    "anthropic-tools": synth.chat(
        "Let me check that.",
        provider="anthropic",
        tool_calls=[{"name": "get_weather", "arguments": {"city": "Z\u00fcrich"}}],
    ),
}


@pytest.fixture(scope="module")
def recorded_stream(tmp_path_factory: pytest.TempPathFactory) -> replay.Interaction:
    """A real recording from the local server (one chunk per event, chunked transfer)."""
    path = tmp_path_factory.mktemp("prop") / "live.yaml"
    server = LLMServer(Script(head_delay=0.01, first_delay=0.0, gaps=[0.002]))
    base = server.start()
    try:
        record_chat("openai", base, path, stream=True, usage_chunk=True)
    finally:
        server.stop()
    return replay.load_cassette(path).interactions[0]


def _replayed(interaction: replay.Interaction, *faults: Any) -> replay.Response:
    injector = FaultInjector(faults)
    ctx = FaultContext(
        request=interaction.request, interaction=interaction, index=0, source="prop", read_timeout=600.0
    )
    plan, _ = injector.build(interaction.response, ctx)
    assert [s.applied for s in injector.report()] == [1] * len(faults)
    chunks = [replay.Chunk(t=c.t, data=c.data) for c in plan.chunks]
    return replay.Response(status=plan.status, t=plan.head_t, headers=list(plan.headers), chunks=chunks)


def _meaning(response: replay.Response) -> tuple[Any, Any]:
    return [(e.event, e.data) for e in response.events()], response.chat_completion().model_dump()


sizes = st.integers(min_value=1, max_value=600)
eols = st.sampled_from([None, "\n", "\r\n", "\r"])


@pytest.mark.parametrize("name", sorted(STREAMS))
@settings(max_examples=200, deadline=None)
@given(size=sizes, eol=eols)
def test_rechunk_never_changes_the_assembled_completion(name: str, size: int, eol: Any) -> None:
    interaction = STREAMS[name]
    replayed = _replayed(interaction, Rechunk(size, eol=eol))
    assert _meaning(replayed) == _meaning(interaction.response)
    assert all(len(c.data) <= size for c in replayed.chunks)
    times = [c.t for c in replayed.chunks]
    assert times == sorted(times) and times[-1] == interaction.response.chunks[-1].t


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(size=sizes, eol=eols)
def test_rechunk_on_a_real_recording(recorded_stream: replay.Interaction, size: int, eol: Any) -> None:
    replayed = _replayed(recorded_stream, Rechunk(size, eol=eol))
    assert _meaning(replayed) == _meaning(recorded_stream.response)


@settings(max_examples=40, deadline=None)
@given(size=sizes, eol=eols)
def test_rechunk_composes_with_a_rewrite(size: int, eol: Any) -> None:
    interaction = STREAMS["openai-tools-n2"]
    alone = _replayed(interaction, FinishReason("length", choice=1)).chat_completion()
    both = _replayed(interaction, Rechunk(size, eol=eol), FinishReason("length", choice=1)).chat_completion()
    assert both == alone
    assert both.finish_reasons == ["tool_calls", "length"]  # type: ignore[union-attr]


@st.composite
def bodies_and_edits(draw: Any) -> tuple[TimedBody, list[tuple[int, int, bytes]]]:
    data = draw(st.binary(min_size=1, max_size=60))
    cuts = sorted(draw(st.sets(st.integers(1, len(data) - 1), max_size=8))) if len(data) > 1 else []
    ends = [*cuts, len(data)]
    gaps = draw(st.lists(st.floats(0, 5), min_size=len(ends), max_size=len(ends)))
    times, t = [], 0.0
    for gap in gaps:
        t += gap
        times.append(t)
    points = sorted(draw(st.lists(st.integers(0, len(data)), max_size=6)))
    edits = []
    for start, end in zip(points[::2], points[1::2], strict=False):
        edits.append((start, end, draw(st.binary(max_size=5))))
    return TimedBody(data, tuple(ends), tuple(times)), edits


@settings(max_examples=300, deadline=None)
@given(case=bodies_and_edits())
def test_timed_body_edits_keep_bytes_and_times_consistent(case: Any) -> None:
    body, edits = case
    edited = body.edit(edits)
    expected = bytearray()
    pos = 0
    for start, end, new in edits:
        expected += body.data[pos:start] + new
        pos = end
    expected += body.data[pos:]
    assert edited.data == bytes(expected)
    assert list(edited.times) == sorted(edited.times)
    assert all(b > a for a, b in zip((0, *edited.ends), edited.ends, strict=False))
    # Bytes before the first edit arrive exactly when they did.
    first = edits[0][0] if edits else len(body.data)
    for i in range(first):
        assert edited.time_of_byte(i) == body.time_of_byte(i)
    # Rechunking and cutting keep the bytes.
    assert b"".join(c.data for c in edited.rechunk(3).to_chunks()) == edited.data
    assert edited.cut(len(edited.data) // 2).data == edited.data[: len(edited.data) // 2]


def test_save_and_reload_of_synth_streams_keeps_their_meaning(tmp_path: Path) -> None:
    path = tmp_path / "synth.yaml"
    synth.cassette(*STREAMS.values()).save(path)
    for original, loaded in zip(STREAMS.values(), replay.load_cassette(path).interactions, strict=True):
        assert _meaning(loaded.response) == _meaning(original.response)
