"""Replay isolation: unmatched requests fail before any socket opens (httpx2/httpx, requests,
urllib3, aiohttp), and network blocking stops clients llm-replay does not intercept
(http.client, raw sockets, datagrams)."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path
from typing import Any

import aiohttp  # imported before a cassette opens, as an application does
import pytest
import requests
import urllib3
from conftest import NetworkGuard
from llm_server import LLMServer
from sdk_helpers import MESSAGES

import replay

# These tests open cassettes only for their network guard: that no request reaches them is the
# point, not a mistake (replay.hygiene.silence is tested in test_clients_silence.py).
pytestmark = pytest.mark.filterwarnings("ignore::replay.hygiene.silence.CassetteUnusedWarning")

SYNC_ASYNC = pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])


def post(library: str, url: str, is_async: bool, **kwargs: Any) -> Any:
    import importlib

    lib = importlib.import_module(library)
    if is_async:

        async def go() -> Any:
            async with lib.AsyncClient() as client:
                return await client.post(url, **kwargs)

        return asyncio.run(go())
    with lib.Client() as client:
        return client.post(url, **kwargs)


@pytest.fixture
def recorded(llm_server: LLMServer, tmp_path: Path) -> tuple[Path, str]:
    """A cassette holding one chat completion; the server is stopped afterwards."""
    path = tmp_path / "one.yaml"
    base = llm_server.base_url
    with replay.use_cassette(path, record_mode="once"):
        post("httpx2", base + "/v1/chat/completions", False, json={"model": "m", "messages": MESSAGES})
    llm_server.stop()
    return path, base


@SYNC_ASYNC
@pytest.mark.parametrize("library", ["httpx2", "httpx"])
@pytest.mark.parametrize("where", ["other path", "other host", "other port"])
def test_an_unrecorded_request_fails_before_any_socket_is_opened(
    where: str, library: str, is_async: bool, recorded: tuple[Path, str], no_network: NetworkGuard
) -> None:
    path, base = recorded
    url = {
        "other path": base + "/v1/embeddings",
        "other host": "https://api.openai.com/v1/chat/completions",
        "other port": base.rsplit(":", 1)[0] + ":1/v1/chat/completions",
    }[where]
    with replay.use_cassette(path), pytest.raises(replay.NoMatchingInteraction) as err:
        post(library, url, is_async, json={"model": "m", "messages": MESSAGES})
    assert no_network.attempts == []
    assert f"No interaction in {path} matches POST {url}" in str(err.value)
    # The recorded one still replays, with the socket guard in place.
    with replay.use_cassette(path):
        response = post(
            library, base + "/v1/chat/completions", is_async, json={"model": "m", "messages": MESSAGES}
        )
    assert response.status_code == 200 and no_network.attempts == []


@SYNC_ASYNC
def test_a_missing_cassette_in_none_mode_fails_before_any_socket(
    is_async: bool, tmp_path: Path, no_network: NetworkGuard
) -> None:
    # A miss (what the application asked for is not recorded), raised at the request: the
    # message says the cassette does not exist and how to record it.
    path = tmp_path / "absent.yaml"
    url = "https://api.openai.com/v1/chat/completions"
    with replay.use_cassette(path), pytest.raises(replay.NoMatchingInteraction) as err:
        post("httpx2", url, is_async, json={})
    assert type(err.value) is replay.NoMatchingInteraction
    assert str(err.value).startswith(
        f"Cassette {path} does not exist (record mode 'none'), so POST {url} cannot be replayed.\n"
        f"Record it: use_cassette('{path}', record_mode='once')"
    )
    assert no_network.attempts == [] and not path.exists()


# -- blocking other clients -----------------------------------------------------------------


CHAT = {"model": "m", "messages": MESSAGES}


def requests_post(url: str) -> Any:
    return requests.post(url, json=CHAT, timeout=5)


def urllib3_post(url: str) -> Any:
    with urllib3.PoolManager(retries=False) as pool:
        return pool.request("POST", url, json=CHAT, timeout=5)


def aiohttp_post(url: str) -> Any:
    async def go() -> int:
        async with aiohttp.ClientSession() as session, session.post(url, json=CHAT) as response:
            return response.status

    return asyncio.run(go())


def http_client_post(url: str) -> Any:
    """The standard library's client: not intercepted, so only the network guard stops it."""
    import http.client
    import json
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname or "", parts.port or 80, timeout=5)
    try:
        conn.request("POST", parts.path, body=json.dumps(CHAT), headers={"content-type": "application/json"})
        return conn.getresponse().read()
    finally:
        conn.close()


def raw_socket(url: str) -> Any:
    host, port = url.removeprefix("http://").split("/")[0].split(":")
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        return sock.getpeername()


def udp_datagram(url: str) -> Any:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        return sock.sendto(b"ping", ("127.0.0.1", 9))


CLIENTS = {
    "http.client": http_client_post,
    "raw socket": raw_socket,
    "udp": udp_datagram,
}
INTERCEPTED = {"requests": requests_post, "urllib3": urllib3_post, "aiohttp": aiohttp_post}


@pytest.mark.parametrize("client", list(INTERCEPTED))
def test_intercepted_clients_fail_unmatched_before_any_socket(
    client: str, llm_server: LLMServer, tmp_path: Path, no_network: NetworkGuard
) -> None:
    url = llm_server.base_url + "/v1/chat/completions"
    with replay.use_cassette(tmp_path / "c.yaml"), pytest.raises(replay.NoMatchingInteraction):
        INTERCEPTED[client](url)
    assert no_network.attempts == [] and len(llm_server.requests) == 0


@pytest.mark.parametrize("client", list(CLIENTS))
def test_block_network_stops_other_clients_even_on_loopback(
    client: str, llm_server: LLMServer, tmp_path: Path
) -> None:
    url = llm_server.base_url + "/v1/chat/completions"
    call = CLIENTS[client]
    with (
        replay.use_cassette(tmp_path / "c.yaml", block_network=True),
        pytest.raises(replay.NetworkBlockedError) as err,
    ):
        call(url)
    message = str(err.value)
    assert "llm-replay blocked" in message and "127.0.0.1:" in message
    assert f"cassette {tmp_path / 'c.yaml'} is active" in message
    assert "allowed_hosts" in message and "--replay-block-network" in message
    assert not isinstance(err.value, OSError)  # clients would wrap and retry an OSError
    assert not isinstance(err.value, Exception)  # nor can an app's `except Exception` swallow it
    assert len(llm_server.requests) == 0
    assert "connect" not in socket.socket.__dict__  # the guard is gone after the cassette
    if client != "udp":
        call(url)  # and the same call works again


@pytest.mark.parametrize("allowed", [["localhost"], ["127.0.0.1"], "loopback", ["127.0.0.*"]])
@pytest.mark.parametrize("client", ["http.client", "raw socket"])
def test_loopback_only_when_allowed(client: str, allowed: Any, llm_server: LLMServer, tmp_path: Path) -> None:
    url = llm_server.base_url + "/v1/chat/completions"
    with replay.use_cassette(tmp_path / "c.yaml", block_network=True, allowed_hosts=allowed):
        CLIENTS[client](url)
    if client != "raw socket":
        assert len(llm_server.requests) == 1


def test_dns_lookups_of_other_hosts_are_blocked_before_they_leave(tmp_path: Path) -> None:
    with (
        replay.use_cassette(tmp_path / "c.yaml", block_network=True),
        pytest.raises(replay.NetworkBlockedError) as err,
    ):
        http_client_post("http://api.example.invalid/v1/models")
    assert "a DNS lookup for api.example.invalid:80" in str(err.value)
    with (
        replay.use_cassette(tmp_path / "c.yaml", block_network=True, allowed_hosts=["*.internal"]),
        pytest.raises(replay.NetworkBlockedError),
    ):
        socket.getaddrinfo("api.openai.com", 443)


def test_unix_sockets_are_local_and_stay_allowed(tmp_path: Path) -> None:
    address = str(tmp_path / "s.sock")
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as server:
        server.bind(address)
        server.listen(1)
        with (
            replay.use_cassette(tmp_path / "c.yaml", block_network=True),
            socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client,
        ):
            client.connect(address)


@SYNC_ASYNC
@pytest.mark.parametrize("library", ["httpx2", "httpx"])
def test_recording_through_httpx_still_works_while_everything_else_is_blocked(
    library: str, is_async: bool, llm_server: LLMServer, tmp_path: Path
) -> None:
    path = tmp_path / "rec.yaml"
    url = llm_server.base_url + "/v1/chat/completions"
    with replay.use_cassette(path, record_mode="once", block_network=True):
        response = post(library, url, is_async, json={"model": "m", "messages": MESSAGES})
        assert response.status_code == 200
        with pytest.raises(replay.NetworkBlockedError):
            http_client_post(url)
    assert len(replay.load_cassette(path).interactions) == 1
    assert len(llm_server.requests) == 1  # the one the recorder sent


def test_nested_cassettes_keep_the_guard_until_the_last_closes(tmp_path: Path, llm_server: LLMServer) -> None:
    url = llm_server.base_url + "/v1/chat/completions"
    outer = replay.use_cassette(tmp_path / "a.yaml", block_network=True)
    inner = replay.use_cassette(tmp_path / "b.yaml", block_network=True, allowed_hosts=["localhost"])
    with outer:
        with inner:
            http_client_post(url)  # the innermost cassette's policy applies
        with pytest.raises(replay.NetworkBlockedError, match=r"a\.yaml is active"):
            http_client_post(url)
    http_client_post(url)
    assert "connect" not in socket.socket.__dict__


# -- pytest plugin --------------------------------------------------------------------------


def test_plugin_option_marker_and_allowed_hosts(pytester: pytest.Pytester, llm_server: LLMServer) -> None:
    pytester.makepyfile(
        test_net=f"""
        import http.client, pytest

        pytestmark = pytest.mark.filterwarnings("ignore::replay.hygiene.silence.CassetteUnusedWarning")

        def post():
            conn = http.client.HTTPConnection("127.0.0.1", {llm_server.base_url.rsplit(":", 1)[1]}, timeout=5)
            conn.request("POST", "/v1/chat/completions", body=b"{{}}")
            conn.getresponse().read()
            conn.close()

        @pytest.mark.replay
        def test_uses_http_client():
            post()

        @pytest.mark.replay(block_network=True)
        def test_marked():
            post()

        def test_without_a_cassette():
            post()
        """
    )
    result = pytester.runpytest("--replay-record-mode=once", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(
        ["FAILED test_net.py::test_marked - replay.transport.netguard.NetworkBlocked*"]
    )
    result = pytester.runpytest(
        "--replay-record-mode=once", "--replay-block-network", "-p", "no:cacheprovider"
    )
    result.assert_outcomes(passed=1, failed=2)
    result = pytester.runpytest(
        "--replay-record-mode=once",
        "--replay-block-network",
        "--replay-allowed-hosts=example.test,localhost",
        "-p",
        "no:cacheprovider",
    )
    result.assert_outcomes(passed=3)
