"""requests, urllib3 and aiohttp as first-class clients: record chunk by chunk against the local
server, replay byte-exact with the recorded boundaries on the virtual clock, and each fault as the
library's own exception. Also: an httpx MockTransport the test sets stays the test's."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import aiohttp
import httpx
import pytest
import requests
import urllib3
from client_helpers import Arrivals, recorded_chunks, recorded_times
from llm_server import LLMServer

import replay
from replay.faults import Disconnect, HTTPError, Latency, Stall
from replay.hygiene.silence import CassetteUnusedWarning

STREAM = {"model": "m", "messages": [{"role": "user", "content": "hi"}], "stream": True}
WHOLE = {**STREAM, "stream": False}


# -- requests ---------------------------------------------------------------------------------


def _requests_stream(url: str, arrivals: Arrivals | None = None, **kw: Any) -> list[bytes]:
    chunks = []
    with requests.post(url, json=STREAM, stream=True, **kw) as r:
        if arrivals is not None:
            arrivals.start()
        for chunk in r.iter_content(chunk_size=None):
            chunks.append(chunk)
            if arrivals is not None:
                arrivals.note(chunk)
    return chunks


def test_requests_records_and_replays_chunks_and_offsets(llm_server: LLMServer, tmp_path: Path) -> None:
    url = llm_server.base_url + "/v1/chat/completions"
    path = tmp_path / "requests.yaml"
    with replay.use_cassette(path, record_mode="once"):
        live = _requests_stream(url)
        live_json = requests.post(url, json=WHOLE).json()
    served = len(llm_server.requests)
    # One HTTP chunk per SSE event on the wire, one recorded chunk each.
    assert live == [event for _, event in llm_server.sent] == recorded_chunks(path)
    with replay.use_cassette(path) as cassette:
        arrivals = Arrivals(cassette)
        again = _requests_stream(url, arrivals)
        assert requests.post(url, json=WHOLE).json() == live_json
    assert len(llm_server.requests) == served
    assert again == live
    head = replay.load_cassette(path).interactions[0].response.t
    assert arrivals.times == pytest.approx([t - head for t in recorded_times(path)], abs=1e-6)


def test_requests_iter_lines_and_faults(llm_server: LLMServer, tmp_path: Path) -> None:
    url = llm_server.base_url + "/v1/chat/completions"
    path = tmp_path / "requests.yaml"

    def lines() -> list[bytes]:
        with requests.post(url, json=STREAM, stream=True) as r:
            return [line for line in r.iter_lines() if line]

    with replay.use_cassette(path, record_mode="once"):
        live = lines()
    with replay.use_cassette(path, allow_playback_repeats=True) as cassette:
        assert lines() == live
        cassette.inject(Disconnect(after_events=3, times=1))
        with pytest.raises(requests.exceptions.ChunkedEncodingError):
            _requests_stream(url)
        cassette.inject(Stall(after_events=2, times=1))
        with pytest.raises(requests.exceptions.ConnectionError, match="Read timed out"):
            _requests_stream(url, timeout=(5, 7))
        cassette.inject(Latency(ttfb=30, times=1))  # the head itself comes after the read timeout
        with pytest.raises(requests.exceptions.ReadTimeout):
            _requests_stream(url, timeout=(5, 7))
        cassette.inject(HTTPError(429, retry_after=3, times=1))
        with requests.post(url, json=STREAM) as response:
            assert response.status_code == 429 and response.headers["retry-after"] == "3"
            with pytest.raises(requests.HTTPError):
                response.raise_for_status()


# -- urllib3 directly (what botocore does) ----------------------------------------------------


def test_urllib3_preload_false_stream_and_read(llm_server: LLMServer, tmp_path: Path) -> None:
    url = llm_server.base_url + "/v1/chat/completions"
    path = tmp_path / "urllib3.yaml"
    body = requests.models.complexjson.dumps(STREAM).encode()
    pool = urllib3.PoolManager()

    def stream() -> list[bytes]:
        r = pool.urlopen("POST", url, body=body, preload_content=False, headers={"content-type": "json"})
        return list(r.stream(None))

    with replay.use_cassette(path, record_mode="once"):
        live = stream()
        whole = pool.request("POST", url, body=body).data
    with replay.use_cassette(path, allow_playback_repeats=True) as cassette:
        assert stream() == live == recorded_chunks(path)
        assert pool.request("POST", url, body=body).data == whole == b"".join(live)
        raw = pool.urlopen("POST", url, body=body, preload_content=False)
        assert raw.read(10) == whole[:10] and raw.read() == whole[10:]  # urllib3's read(amt) rule
        cassette.inject(Disconnect(after_events=2, times=1))
        with pytest.raises(urllib3.exceptions.ProtocolError):
            stream()
        cassette.inject(Stall(after_events=2, times=1))
        with pytest.raises(urllib3.exceptions.ReadTimeoutError):
            pool.urlopen(
                "POST", url, body=body, preload_content=False, timeout=urllib3.Timeout(read=4)
            ).read()
    pool.clear()


# -- aiohttp ------------------------------------------------------------------------------------


async def _aiohttp_run(url: str, how: str, arrivals: Arrivals | None = None, **kw: Any) -> Any:
    async with (
        aiohttp.ClientSession(**kw) as session,
        session.post(url, json=STREAM if how != "json" else WHOLE) as r,
    ):
        r.raise_for_status()
        if arrivals is not None:
            arrivals.start()
        if how == "iter_any":
            out = []
            async for chunk in r.content.iter_any():
                out.append(chunk)
                if arrivals is not None:
                    arrivals.note(chunk)
            return out
        if how == "iter_chunked":
            return [c async for c in r.content.iter_chunked(16)]
        if how == "readline":
            return [line async for line in r.content]
        if how == "text":
            return await r.text()
        return await r.json()


def test_aiohttp_records_and_replays(llm_server: LLMServer, tmp_path: Path) -> None:
    url = llm_server.base_url + "/v1/chat/completions"
    path = tmp_path / "aiohttp.yaml"
    ways = ["iter_any", "iter_chunked", "readline", "text", "json"]
    with replay.use_cassette(path, record_mode="once"):
        live = {how: asyncio.run(_aiohttp_run(url, how)) for how in ways}
    served = len(llm_server.requests)
    assert b"".join(live["iter_any"]) == b"".join(e for _, e in llm_server.sent)
    with replay.use_cassette(path) as cassette:
        arrivals = Arrivals(cassette)
        first = asyncio.run(_aiohttp_run(url, "iter_any", arrivals))
        rest = {how: asyncio.run(_aiohttp_run(url, how)) for how in ways[1:]}
    assert len(llm_server.requests) == served
    assert first == live["iter_any"] == recorded_chunks(path)
    assert rest == {how: live[how] for how in ways[1:]}
    assert all(len(c) <= 16 for c in rest["iter_chunked"])
    head = replay.load_cassette(path).interactions[0].response.t
    assert arrivals.times == pytest.approx([t - head for t in recorded_times(path)], abs=1e-6)


def test_aiohttp_faults_are_aiohttp_exceptions(llm_server: LLMServer, tmp_path: Path) -> None:
    url = llm_server.base_url + "/v1/chat/completions"
    path = tmp_path / "aiohttp.yaml"
    with replay.use_cassette(path, record_mode="once"):
        asyncio.run(_aiohttp_run(url, "iter_any"))
    with replay.use_cassette(path, allow_playback_repeats=True) as cassette:
        cassette.inject(Disconnect(after_events=3, times=1))
        with pytest.raises(aiohttp.ClientPayloadError):
            asyncio.run(_aiohttp_run(url, "iter_any"))
        cassette.inject(Stall(after_events=2, times=1))
        with pytest.raises(aiohttp.SocketTimeoutError):
            asyncio.run(_aiohttp_run(url, "iter_any", timeout=aiohttp.ClientTimeout(sock_read=3)))
        cassette.inject(Latency(ttfb=30, times=1))
        with pytest.raises(aiohttp.SocketTimeoutError):
            asyncio.run(_aiohttp_run(url, "iter_any", timeout=aiohttp.ClientTimeout(sock_read=3)))
        cassette.inject(HTTPError(429, times=1))
        with pytest.raises(aiohttp.ClientResponseError) as err:
            asyncio.run(_aiohttp_run(url, "iter_any"))
        assert err.value.status == 429


# -- httpx: any transport, except the test's own in-process ones ---------------------------------


class _Wrapper(httpx.BaseTransport):
    """A custom transport (a retry or proxy wrapper) around the default one."""

    def __init__(self) -> None:
        self.inner = httpx.HTTPTransport()
        self.calls = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.calls += 1
        return self.inner.handle_request(request)

    def close(self) -> None:
        self.inner.close()


def test_custom_transport_is_recorded_and_mock_transport_left_alone(
    llm_server: LLMServer, tmp_path: Path
) -> None:
    url = llm_server.base_url + "/v1/chat/completions"
    path = tmp_path / "custom.yaml"
    wrapper = _Wrapper()
    with replay.use_cassette(path, record_mode="once"), httpx.Client(transport=wrapper) as client:
        live = client.post(url, json=WHOLE).json()
    assert wrapper.calls == 1 and len(replay.load_cassette(path).interactions) == 1
    served = len(llm_server.requests)
    with replay.use_cassette(path), httpx.Client(transport=_Wrapper()) as client:
        assert client.post(url, json=WHOLE).json() == live
    assert len(llm_server.requests) == served

    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"mocked": True})

    # The cassette replays only (record_mode none) and holds no match for this URL: if replay
    # intercepted the mock transport, the request would fail with NoMatchingInteraction. The
    # cassette then closes unused, and says so.
    with (
        pytest.warns(CassetteUnusedWarning, match="none of its 1 interaction"),
        replay.use_cassette(path) as cassette,
        httpx.Client(transport=httpx.MockTransport(handler)) as client,
    ):
        assert client.post("http://mocked.test/x", json={}).json() == {"mocked": True}
    assert len(seen) == 1 and cassette.play_counts == [0]


def test_one_cassette_holds_several_clients(llm_server: LLMServer, tmp_path: Path) -> None:
    url = llm_server.base_url + "/v1/chat/completions"
    path = tmp_path / "mixed.yaml"

    def all_three() -> list[Any]:
        with httpx.Client() as client:
            first = client.post(url, json=WHOLE).json()
        return [first, requests.post(url, json=WHOLE).json(), asyncio.run(_aiohttp_run(url, "json"))]

    with replay.use_cassette(path, record_mode="once"):
        live = all_three()
    assert len(replay.load_cassette(path).interactions) == 3
    served = len(llm_server.requests)
    with replay.use_cassette(path) as cassette:
        assert all_three() == live
    assert cassette.play_counts == [1, 1, 1] and len(llm_server.requests) == served
