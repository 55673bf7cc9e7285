"""Nothing silent: traffic that went around the adapters, or a cassette nothing reached, is said."""

from __future__ import annotations

import http.client
import warnings
from pathlib import Path

import pytest
import requests
from llm_server import LLMServer

import replay
from replay.hygiene.silence import CassetteUnusedError, CassetteUnusedWarning

WHOLE = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}


def _http_client_call(server: LLMServer) -> None:
    """A client llm-replay does not intercept (the standard library's http.client)."""
    host, port = server.base_url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port))
    try:
        conn.request("POST", "/v1/chat/completions", body=b"{}", headers={"content-type": "application/json"})
        conn.getresponse().read()
    finally:
        conn.close()


def test_recording_that_records_nothing_names_host_and_client(llm_server: LLMServer, tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    port = llm_server.base_url.rsplit(":", 1)[1]
    expected = rf"recorded nothing.*127\.0\.0\.1:{port} \(from http\)"
    with pytest.warns(CassetteUnusedWarning, match=expected), replay.use_cassette(path, record_mode="once"):
        _http_client_call(llm_server)
    assert not path.exists()
    strict = replay.use_cassette(path, record_mode="once", strict=True)
    with pytest.raises(CassetteUnusedError, match=r"127\.0\.0\.1"), strict:
        _http_client_call(llm_server)


def test_unused_cassettes_say_so_and_used_ones_do_not(llm_server: LLMServer, tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    with (
        pytest.warns(CassetteUnusedWarning, match="no HTTP request was made"),
        replay.use_cassette(path, record_mode="once"),
    ):
        pass
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with replay.use_cassette(path, record_mode="once"):
            requests.post(llm_server.base_url + "/v1/chat/completions", json=WHOLE).close()
        with replay.use_cassette(path):
            requests.post(llm_server.base_url + "/v1/chat/completions", json=WHOLE).close()
    with pytest.warns(CassetteUnusedWarning, match="none of its 1 interaction"), replay.use_cassette(path):
        pass


def test_plugin_reports_an_unused_cassette(pytester: pytest.Pytester, llm_server: LLMServer) -> None:
    pytester.makepyfile(
        f"""
        import http.client, pytest

        @pytest.mark.replay(record_mode="once")
        def test_around(replay_cassette):
            conn = http.client.HTTPConnection("127.0.0.1", {llm_server.base_url.rsplit(":", 1)[1]})
            conn.request("GET", "/")
            conn.getresponse().read()
            conn.close()
        """
    )
    result = pytester.runpytest("--replay-strict")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*CassetteUnusedError*recorded nothing*(from http)*"])
