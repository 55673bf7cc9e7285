"""Pin the public names this area adds: a change here is a deliberate change to the contract."""

from __future__ import annotations

import replay
import replay.chat
import replay.faults
import replay.synth

FAULTS = [
    "Disconnect",
    "EmptyChoices",
    "ErrorEvent",
    "Fault",
    "FaultNotApplied",
    "FinishReason",
    "HTTPError",
    "Latency",
    "MalformedEvent",
    "NullDeltaContent",
    "Rechunk",
    "Stall",
    "Truncate",
    "UsageOnlyChunk",
]


def test_fault_and_variant_names_are_public() -> None:
    assert replay.__all__ == sorted(replay.__all__)
    assert {"ANTHROPIC_EDGE_CASES", "EDGE_CASES", "Variant", "faults", "synth", "variants"} <= set(
        replay.__all__
    )
    assert replay.faults.__all__ == FAULTS
    assert replay.synth.__all__ == ["cassette", "chat", "error"]
    assert {"ChatCompletion", "ChatCompletionChunk", "AnthropicMessage", "completion_of"} <= set(
        replay.chat.__all__
    )
    for module in (replay, replay.faults, replay.synth, replay.chat):
        for name in module.__all__:
            assert hasattr(module, name), f"{module.__name__}.{name}"


def test_edge_case_ids_are_unique_and_readable() -> None:
    for cases in (replay.EDGE_CASES, replay.ANTHROPIC_EDGE_CASES):
        ids = [v.id for v in cases]
        assert len(ids) == len(set(ids))
        assert all(v.description and v.faults for v in cases)
    assert [v.id for v in replay.EDGE_CASES] == [
        "finish=length",
        "finish=eos",
        "finish=tool_calls",
        "finish=content_filter",
        "finish=error",
        "null-content",
        "usage-chunk",
        "empty-choices",
        "truncate@finish",
        "disconnect",
        "http=429",
        "http=500",
        "stall",
        "rechunk=1",
    ]
