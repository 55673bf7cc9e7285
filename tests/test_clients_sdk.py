"""The SDKs whose requests never reached httpx's default transport, through the real packages
against the local server: litellm (sync and async; the async path runs on litellm's aiohttp
transport), openai with ``DefaultAioHttpClient`` (httpx-aiohttp), boto3 ``bedrock-runtime``
(urllib3). Each records, replays without the server, delivers every event at its recorded offset
on the virtual clock, and meets each fault as the SDK's own exception."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from client_helpers import Arrivals
from llm_server import LLMServer

# litellm fetches its model price map at import; the network is closed here.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

import boto3
import botocore.exceptions
import litellm
import litellm.exceptions
import openai
import urllib3
from botocore.config import Config

import replay
from replay.faults import Disconnect, HTTPError, Stall

# litellm's own pydantic models and event loop handling warn on import and use; not ours to fix.
pytestmark = [
    pytest.mark.filterwarnings("ignore:.*the `ReadOnly` qualifier:UserWarning"),
    # litellm keeps a private event loop and its aiohttp sessions open for reuse (its cache, not
    # replay's: test_clients_raw.py checks the adapters close everything under warnings=error).
    pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning"),
]

MESSAGES = [{"role": "user", "content": "hi"}]
Run = Callable[[str, Arrivals | None], Any]


def _note(arrivals: Arrivals | None, item: Any) -> None:
    if arrivals is not None:
        arrivals.note(b"")


def litellm_sync(stream: bool) -> Run:
    def run(base: str, arrivals: Arrivals | None) -> Any:
        kw: dict[str, Any] = {"api_base": base + "/v1", "api_key": "sk-test", "timeout": 5, "num_retries": 0}
        if not stream:
            done = litellm.completion(model="openai/gpt-4o", messages=MESSAGES, **kw)
            _note(arrivals, done)
            return done.choices[0].message.content
        out = []
        for chunk in litellm.completion(model="openai/gpt-4o", messages=MESSAGES, stream=True, **kw):
            _note(arrivals, chunk)
            out.append(chunk.choices[0].delta.content)
        return out

    return run


def litellm_async(stream: bool) -> Run:
    async def main(base: str, arrivals: Arrivals | None) -> Any:
        kw: dict[str, Any] = {"api_base": base + "/v1", "api_key": "sk-test", "timeout": 5, "num_retries": 0}
        if not stream:
            done = await litellm.acompletion(model="openai/gpt-4o", messages=MESSAGES, **kw)
            _note(arrivals, done)
            return done.choices[0].message.content
        out = []
        async for chunk in await litellm.acompletion(
            model="openai/gpt-4o", messages=MESSAGES, stream=True, **kw
        ):
            _note(arrivals, chunk)
            out.append(chunk.choices[0].delta.content)
        return out

    return lambda base, arrivals: asyncio.run(main(base, arrivals))


def openai_aiohttp(base: str, arrivals: Arrivals | None) -> Any:
    async def main() -> Any:
        http_client = openai.DefaultAioHttpClient()
        async with openai.AsyncOpenAI(
            base_url=base + "/v1", api_key="sk-test", http_client=http_client, max_retries=0, timeout=5
        ) as client:
            out = []
            async for chunk in await client.chat.completions.create(
                model="m", messages=MESSAGES, stream=True
            ):
                _note(arrivals, chunk)
                out.append(chunk.choices[0].delta.content if chunk.choices else None)
            return out

    return asyncio.run(main())


def _bedrock(base: str) -> Any:
    """A bedrock-runtime client for the local server: one attempt, a 5 s read timeout."""
    return boto3.client(
        "bedrock-runtime",
        endpoint_url=base,
        region_name="us-east-1",
        config=Config(retries={"total_max_attempts": 1}, read_timeout=5),
    )


BEDROCK_CALL = {
    "modelId": "anthropic.claude-test",
    "messages": [{"role": "user", "content": [{"text": "hi"}]}],
}


def bedrock_converse(base: str, arrivals: Arrivals | None) -> Any:
    answer = _bedrock(base).converse(**BEDROCK_CALL)
    _note(arrivals, answer)
    return answer["output"], answer["stopReason"]


def bedrock_converse_stream(base: str, arrivals: Arrivals | None) -> Any:
    answer = _bedrock(base).converse_stream(**BEDROCK_CALL)
    out = []
    for event in answer["stream"]:
        _note(arrivals, event)
        out.append(event)
    return out


CLIENTS: dict[str, tuple[Run, bool]] = {
    "litellm.completion": (litellm_sync(False), False),
    "litellm.completion-stream": (litellm_sync(True), True),
    "litellm.acompletion": (litellm_async(False), False),
    "litellm.acompletion-stream": (litellm_async(True), True),
    "openai-DefaultAioHttpClient-stream": (openai_aiohttp, True),
    "boto3-bedrock-converse": (bedrock_converse, False),
    "boto3-bedrock-converse_stream": (bedrock_converse_stream, True),
}


@pytest.fixture(autouse=True)
def _aws_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAEXAMPLEEXAMPLE00")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "dummy-secret-for-tests")


def _event_times(path: Path) -> list[float]:
    """When each SSE event of the recording is complete: the offset of the chunk ending it."""
    response = replay.load_cassette(path).interactions[0].response
    if response.content_type == "application/vnd.amazon.eventstream":
        return [chunk.t for chunk in response.chunks]  # one event-stream message per chunk
    times = []
    for chunk in response.chunks:
        times += [chunk.t] * chunk.data.count(b"\n\n")
    return times


@pytest.mark.parametrize("name", list(CLIENTS))
def test_sdk_records_replays_and_keeps_offsets(name: str, llm_server: LLMServer, tmp_path: Path) -> None:
    run, stream = CLIENTS[name]
    path = tmp_path / "sdk.yaml"
    base = llm_server.base_url
    with replay.use_cassette(path, record_mode="once"):
        live = run(base, None)
    served = len(llm_server.requests)
    recorded = replay.load_cassette(path).interactions
    assert served == len(recorded) == 1
    if stream:
        # The body was recorded as it arrived: the server's events, bytes unchanged.
        body = b"".join(c.data for c in recorded[0].response.chunks)
        assert body == b"".join(event for _, event in llm_server.sent)
    with replay.use_cassette(path) as cassette:
        arrivals = Arrivals(cassette)
        arrivals.start()
        again = run(base, arrivals)
    assert len(llm_server.requests) == served and cassette.all_played
    assert again == live
    if stream:
        # Every event reaches the application at its recorded offset (the last, [DONE], ends it).
        assert arrivals.times == pytest.approx(_event_times(path)[: len(arrivals.times)], abs=1e-6)
        assert len(arrivals.times) >= len(_event_times(path)) - 1
    else:
        assert arrivals.times == pytest.approx([recorded[0].response.chunks[-1].t], abs=1e-6)


FAULTS = {
    "litellm.completion-stream": (
        litellm.exceptions.MidStreamFallbackError,
        litellm.Timeout,
        litellm.RateLimitError,
    ),
    "litellm.acompletion-stream": (
        litellm.exceptions.MidStreamFallbackError,
        litellm.Timeout,
        litellm.RateLimitError,
    ),
    "openai-DefaultAioHttpClient-stream": (
        openai.APIConnectionError,
        openai.APITimeoutError,
        openai.RateLimitError,
    ),
    "boto3-bedrock-converse": (
        botocore.exceptions.ConnectionClosedError,
        botocore.exceptions.ReadTimeoutError,
        botocore.exceptions.ClientError,
    ),
    "boto3-bedrock-converse_stream": (
        urllib3.exceptions.ProtocolError,
        urllib3.exceptions.ReadTimeoutError,
        botocore.exceptions.ClientError,
    ),
}


@pytest.mark.parametrize("name", list(FAULTS))
def test_sdk_faults_are_the_sdks_exceptions(name: str, llm_server: LLMServer, tmp_path: Path) -> None:
    run, _ = CLIENTS[name]
    path = tmp_path / "sdk.yaml"
    with replay.use_cassette(path, record_mode="once"):
        run(llm_server.base_url, None)
    served = len(llm_server.requests)
    disconnect, timeout, rate_limit = FAULTS[name]
    for fault, expected in (
        (Disconnect(after_bytes=100), disconnect),
        (Stall(after_bytes=100), timeout),
        (HTTPError(429), rate_limit),
    ):
        with replay.use_cassette(path, faults=[fault]), pytest.raises(expected) as err:
            run(llm_server.base_url, None)
        if expected is botocore.exceptions.ClientError:
            assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 429
    assert len(llm_server.requests) == served
