"""The virtual timeline through the real SDKs (openai on httpx2, together on httpx), replaying
recordings made from tests/llm_server.py: three requests at once see exactly what each sees alone."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from llm_server import LLMServer, Script
from sdk_helpers import ChatRun, _run_async, run_chat

import replay
from replay.timing.clock import REAL

SDKS = ["openai", "together"]
MODELS = ["model-a", "model-b", "model-c"]


@pytest.fixture(scope="module")
def recordings(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, Path]]]:
    """One cassette per SDK holding three streamed chats (one per model), recorded live."""
    folder = tmp_path_factory.mktemp("timeline-sdks")
    paths = {sdk: folder / f"{sdk}.yaml" for sdk in SDKS}
    with LLMServer(Script(head_delay=0.03, first_delay=0.01, gaps=[0.012, 0.004, 0.02])) as server:
        for sdk, path in paths.items():
            with replay.use_cassette(path, record_mode="once"):
                for model in MODELS:
                    run_chat(sdk, server.base_url, stream=True, is_async=False, model=model)
        yield server.base_url, paths


def _alone(sdk: str, base: str, path: Path) -> tuple[dict[str, ChatRun], float]:
    """Each request replayed on its own; and the longest of them, start to end of body."""
    runs, longest = {}, 0.0
    for model in MODELS:
        with replay.use_cassette(path):
            start = time.monotonic()
            runs[model] = run_chat(sdk, base, stream=True, is_async=False, model=model)
            longest = max(longest, time.monotonic() - start)
    return runs, longest


def _together(sdk: str, base: str, mode: str) -> list[ChatRun]:
    if mode == "gather":

        async def main() -> list[ChatRun]:
            runs = [_run_async(sdk, base, stream=True, model=model) for model in MODELS]
            return list(await asyncio.gather(*runs))

        return asyncio.run(main())
    with ThreadPoolExecutor(len(MODELS)) as pool:
        return list(pool.map(lambda m: run_chat(sdk, base, stream=True, is_async=False, model=m), MODELS))


@pytest.mark.parametrize("mode", ["threads", "gather"])
@pytest.mark.parametrize("sdk", SDKS)
def test_three_sdk_streams_at_once_see_what_each_sees_alone(
    recordings: tuple[str, dict[str, Path]], sdk: str, mode: str, no_network: object
) -> None:
    base, paths = recordings
    alone, longest = _alone(sdk, base, paths[sdk])
    with replay.use_cassette(paths[sdk]):
        start, wall0 = time.monotonic(), REAL.perf_counter()
        runs = _together(sdk, base, mode)
        total, wall = time.monotonic() - start, REAL.perf_counter() - wall0
    for model, run in zip(MODELS, runs, strict=True):
        assert run.text == alone[model].text == "Hello from the local test server."
        assert run.offsets == pytest.approx(alone[model].offsets, abs=1e-6), model
    # Not serialised: together they took as long as the longest one, not the sum.
    assert total == pytest.approx(longest, abs=1e-6)
    assert wall < 5
