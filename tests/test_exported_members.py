"""Pin the public API: a change here is a deliberate change to the contract."""

from __future__ import annotations

import replay

EXPECTED = [
    "API_NAMES",
    "ActiveCassette",
    "Cassette",
    "CassetteContext",
    "CassetteError",
    "CassetteFormatError",
    "CassetteNotFoundError",
    "CassetteWriteError",
    "Chunk",
    "Interaction",
    "NoMatchingInteraction",
    "RecordMode",
    "ReplayError",
    "Request",
    "Response",
    "SSEEvent",
    "StreamEnd",
    "Timing",
    "TranslationError",
    "api_of",
    "load_cassette",
    "real_monotonic",
    "real_perf_counter",
    "real_time",
    "save_cassette",
    "translate",
    "use_cassette",
]


def test_all_is_sorted_and_complete() -> None:
    assert replay.__all__ == sorted(replay.__all__)
    assert set(EXPECTED) <= set(replay.__all__)
    for name in replay.__all__:
        assert hasattr(replay, name), name
