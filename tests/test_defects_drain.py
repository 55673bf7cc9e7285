"""Error bodies the SDK closed before reading, while recording (issue 13, items 6 and 10)."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx2
import openai
import pytest
import together
from error_server import ErrorServer

import replay
from replay.cli import main
from replay.transport import streams

MESSAGE = "Rate limit reached for requests"


@pytest.fixture
def server() -> Iterator[ErrorServer]:
    s = ErrorServer()
    s.start()
    try:
        yield s
    finally:
        s.stop()


def _call(base: str, *, retries: int, is_async: bool, sdk: str = "openai") -> Exception:
    """A streamed chat call that gets a 429: the SDKs close a streamed error unread to retry."""
    kwargs = {"base_url": f"{base}/v1", "api_key": "sk-test", "max_retries": retries}
    messages = [{"role": "user", "content": "hi"}]
    errors = (openai.RateLimitError, together.RateLimitError)
    with pytest.raises(errors) as info:
        if is_async:

            async def go() -> None:
                async with openai.AsyncOpenAI(**kwargs) as client:  # type: ignore[arg-type]
                    await client.chat.completions.create(model="m", messages=messages, stream=True)  # type: ignore[arg-type]

            asyncio.run(go())
        else:
            factory = openai.OpenAI if sdk == "openai" else together.Together
            with factory(**kwargs) as client:  # type: ignore[arg-type]
                list(client.chat.completions.create(model="m", messages=messages, stream=True))  # type: ignore[arg-type]
    return info.value


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
@pytest.mark.parametrize(
    ("sdk", "is_async"),
    [("openai", False), ("openai", True), ("together", False)],
    ids=["openai-sync", "openai-async", "together"],
)
def test_an_error_body_the_sdk_closed_unread_is_recorded_and_replays_to_an_sdk_that_reads_it(
    server: ErrorServer, tmp_path: Path, sdk: str, is_async: bool, chunked: bool
) -> None:
    server.chunked = chunked
    path = tmp_path / "429.yaml"
    with replay.use_cassette(path, record_mode="once"):
        # max_retries=1: the SDK closes the first 429 unread and retries; the second it reads.
        _call(server.base_url, retries=1, is_async=is_async, sdk=sdk)
    first = replay.load_cassette(path).interactions[0].response
    assert first.status == 429 and first.end is None and MESSAGE.encode() in first.body
    base = server.base_url
    server.stop()
    with replay.use_cassette(path, allow_playback_repeats=True):
        error = _call(base, retries=0, is_async=is_async, sdk=sdk)
    assert MESSAGE in str(error)


def test_the_drain_does_not_delay_the_app(server: ErrorServer, tmp_path: Path) -> None:
    server.body_delay = 1.0
    path = tmp_path / "slow.yaml"
    # The client outlives the cassette: closing it would close the connection being drained.
    with httpx2.Client() as client, replay.use_cassette(path, record_mode="once"):
        response = client.send(client.build_request("POST", f"{server.base_url}/v1/x", json={}), stream=True)
        started = time.perf_counter()
        response.close()
        closed_in = time.perf_counter() - started
    assert closed_in < 0.5  # the body arrives 1 s after the head: close did not wait for it
    recorded = replay.load_cassette(path).interactions[0].response
    assert recorded.end is None and MESSAGE.encode() in recorded.body
    assert recorded.chunks[-1].t >= 1.0  # its real arrival time


def test_a_large_or_successful_body_closed_early_is_not_drained(tmp_path: Path) -> None:
    server = ErrorServer(status=200, chunked=True, payload={"x": "y" * 100})
    server.start()
    try:
        path = tmp_path / "ok.yaml"
        with replay.use_cassette(path, record_mode="once"), httpx2.Client() as client:
            request = client.build_request("POST", f"{server.base_url}/v1/x", json={})
            client.send(request, stream=True).close()
    finally:
        server.stop()
    recorded = replay.load_cassette(path).interactions[0].response
    assert recorded.end is not None and recorded.end.kind == "closed_early" and recorded.chunks == []


def test_inspect_shows_a_recorded_429_with_its_body(
    server: ErrorServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "429.yaml"
    with replay.use_cassette(path, record_mode="once"):
        _call(server.base_url, retries=1, is_async=False)
    capsys.readouterr()
    assert main(["inspect", str(path)]) == 0
    out = capsys.readouterr().out
    assert "closed_early" not in out
    rows = [line for line in out.splitlines() if "POST /v1/chat/completions" in line]
    assert len(rows) == 2 and all(re.search(r"\b429 \S\s+1 \S", row) for row in rows), out


class _LateBody:
    """The body a drain reads, reached only after a pause: a drain thread or task that starts late,
    as on a loaded machine, while the application goes on to close its client."""

    def __init__(self, inner: Any, pause: float) -> None:
        self.inner, self.pause = inner, pause

    def __iter__(self) -> Iterator[bytes]:
        time.sleep(self.pause)
        yield from self.inner

    async def __aiter__(self) -> AsyncIterator[bytes]:
        await asyncio.sleep(self.pause)
        async for chunk in self.inner:
            yield chunk

    def close(self) -> None:
        self.inner.close()

    async def aclose(self) -> None:
        await self.inner.aclose()


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
def test_closing_the_client_waits_for_a_drain_that_started_late(
    server: ErrorServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, is_async: bool
) -> None:
    # Without the wait, the client's pool closes the connection under the drain, and the 429 is
    # recorded with no body, ``closed_early`` (seen under -n 2 on a loaded 2-core machine).
    real_sync, real_async = streams.drain_sync, streams.drain_async
    monkeypatch.setattr(streams, "drain_sync", lambda inner, *a: real_sync(_LateBody(inner, 0.3), *a))
    monkeypatch.setattr(streams, "drain_async", lambda inner, *a: real_async(_LateBody(inner, 0.3), *a))
    path = tmp_path / "429.yaml"
    with replay.use_cassette(path, record_mode="once"):
        # max_retries=1: the first 429 is closed unread (drained), the second is read.
        _call(server.base_url, retries=1, is_async=is_async)
    first = replay.load_cassette(path).interactions[0].response
    assert first.status == 429 and first.end is None and MESSAGE.encode() in first.body
