"""The drop-in's native engine: vcr-marked tests that only replay are served by llm-replay with
vcrpy's rules, without vcrpy; the same suite gives the same results under vcrpy's engine and
under pytest-recording itself.

Inner suites run with pytester against vcrpy cassettes written here (and the local LLM server
for the hosts a test tells vcrpy to ignore).
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from llm_server import LLMServer

import replay_pytest.recording_compat  # noqa: F401  # one copy of the drop-in's classes (see test_recording_compat)
from replay.errors import CassetteFormatError
from replay.vcr.native_load import VcrRules, load_entries, native_rules

NO_RECORDING = ("-p", "no:recording", "-p", "no:cacheprovider")
API = "https://api.example.com"


def _interaction(
    method: str,
    uri: str,
    body: bytes | str,
    *,
    headers: dict[str, list[str]] | None = None,
    status: int = 200,
) -> dict[str, Any]:
    return {
        "request": {"method": method, "uri": uri, "body": None, "headers": {}},
        "response": {
            "status": {"code": 200, "message": "OK"},
            "headers": headers or {"Content-Type": ["application/json"]},
            "body": {"string": body},
        },
    }


SHARED = [
    _interaction("GET", f"{API}/v1/models?b=2&a=1", '{"n": 1}'),
    _interaction("GET", f"{API}/v1/models?b=2&a=1", '{"n": 2}'),
    _interaction(
        "POST",
        f"{API}/v1/chat",
        gzip.compress(b'{"zipped": true}', mtime=0),
        headers={"Content-Type": ["application/json"], "Content-Encoding": ["gzip"]},
    ),
    _interaction("GET", f"{API}/v1/search?q=x", '{"found": 1}'),
    _interaction(
        "POST",
        f"{API}/v1/stream",
        'data: {"a": 1}\n\ndata: {"a": 2}\n\ndata: [DONE]\n\n',
        headers={"Content-Type": ["text/event-stream"]},
    ),
]


def _write(path: Path, interactions: list[dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump({"version": 1, "interactions": interactions}))


# Engine-agnostic: the same expectations hold under the native engine, vcrpy's engine and
# pytest-recording itself.
SUITE = """
import asyncio, json, os, urllib.request
import aiohttp, httpx2, pytest, requests

API = "https://api.example.com"
LOCAL = os.environ["LLM_BASE"]
pytestmark = pytest.mark.vcr("shared.yaml")


def test_first_unplayed_match_in_file_order_any_query_order(vcr):
    with httpx2.Client() as c:
        first = c.get(API + "/v1/models?a=1&b=2").json()
        second = c.get(API + "/v1/models?b=2&a=1").json()
    assert (first, second) == ({"n": 1}, {"n": 2})
    assert vcr.play_count == 2 and not vcr.all_played and len(vcr) == 5
    assert vcr.play_counts[0] == 1 and vcr.play_counts[1] == 1


def test_requests_and_aiohttp_share_the_cassette(vcr):
    assert requests.get(API + "/v1/models?a=1&b=2", timeout=5).json() == {"n": 1}

    async def go():
        async with aiohttp.ClientSession() as session:
            async with session.get(API + "/v1/models?a=1&b=2") as r:
                return await r.json()

    assert asyncio.run(go()) == {"n": 2}
    assert vcr.play_count == 2


def test_a_played_interaction_is_not_played_again():
    from vcr.errors import CannotOverwriteExistingCassetteException

    with httpx2.Client() as c:
        c.get(API + "/v1/search?q=x")
        with pytest.raises(CannotOverwriteExistingCassetteException) as info:
            c.get(API + "/v1/search?q=x")
    assert "/v1/search" in str(info.value)


@pytest.mark.vcr(allow_playback_repeats=True)
def test_repeats_when_allowed():
    with httpx2.Client() as c:
        assert [c.get(API + "/v1/search?q=x").json() for _ in range(3)] == [{"found": 1}] * 3


@pytest.mark.vcr(filter_query_parameters=["token"])
def test_filtered_query_parameters_are_not_compared():
    with httpx2.Client() as c:
        assert c.get(API + "/v1/search?q=x&token=secret").json() == {"found": 1}


def test_gzip_replayed_as_stored():
    with httpx2.Client() as c, c.stream("POST", API + "/v1/chat") as r:
        raw = b"".join(r.iter_raw())
        assert r.headers["content-encoding"] == "gzip" and raw[:2] == b"\\x1f\\x8b"


@pytest.mark.vcr(decode_compressed_response=True)
def test_gzip_decoded_when_asked():
    with httpx2.Client() as c:
        r = c.post(API + "/v1/chat")
    assert "content-encoding" not in r.headers and r.json() == {"zipped": True}
    assert r.headers["content-length"] == str(len(r.content))


def test_sse_streams_event_by_event(request):
    with httpx2.Client() as c, c.stream("POST", API + "/v1/stream") as r:
        reads = list(r.iter_raw())
    assert b"".join(reads) == b'data: {"a": 1}\\n\\ndata: {"a": 2}\\n\\ndata: [DONE]\\n\\n'
    # vcrpy hands the body over in one piece; llm-replay streams it event by event.
    assert len(reads) == (1 if request.config.pluginmanager.has_plugin("recording") else 3)


@pytest.mark.vcr(match_on=["method", "uri"])
def test_uri_matching_is_exact():
    from vcr.errors import CannotOverwriteExistingCassetteException

    with httpx2.Client() as c:
        assert c.get(API + "/v1/models?b=2&a=1").json() == {"n": 1}
        with pytest.raises(CannotOverwriteExistingCassetteException):
            c.get(API + "/v1/models?a=1&b=2")


@pytest.mark.vcr(ignore_localhost=True)
def test_ignored_hosts_reach_the_network():
    body = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
    r = requests.post(LOCAL + "/v1/chat/completions", json=body, timeout=10)
    assert r.json()["choices"][0]["message"]["content"] == "Hello from the local test server."
    headers = {"Content-Type": "application/json"}
    direct = urllib.request.Request(LOCAL + "/v1/chat/completions", json.dumps(body).encode(), headers)
    with urllib.request.urlopen(direct, timeout=10) as answer:
        assert answer.status == 200


def test_a_miss_names_the_closest_recorded_request():
    from vcr.errors import CannotOverwriteExistingCassetteException

    with httpx2.Client() as c, pytest.raises(CannotOverwriteExistingCassetteException) as info:
        c.get(API + "/v1/modelz")
    assert "path" in str(info.value) and "/v1/models" in str(info.value)
"""


@pytest.fixture
def suite(
    pytester: pytest.Pytester, llm_server: LLMServer, monkeypatch: pytest.MonkeyPatch
) -> pytest.Pytester:
    monkeypatch.setenv("LLM_BASE", llm_server.base_url)
    shared = pytester.path / "cassettes" / "test_suite" / "shared.yaml"
    monkeypatch.setenv("SHARED", str(shared))
    _write(shared, SHARED)
    pytester.makepyfile(test_suite=SUITE)
    return pytester


@pytest.mark.parametrize(
    "args",
    [NO_RECORDING, (*NO_RECORDING, "--replay-vcr-engine=vcrpy"), ("-p", "no:cacheprovider")],
    ids=["native", "vcrpy-engine", "pytest-recording"],
)
def test_one_suite_same_results_on_every_engine(suite: pytest.Pytester, args: tuple[str, ...]) -> None:
    result = suite.runpytest(*args)
    result.assert_outcomes(passed=11)


def test_the_native_engine_never_imports_vcrpy_for_a_replaying_suite(suite: pytest.Pytester) -> None:
    suite.makepyfile(
        test_clean="""
        import os, sys, httpx2, pytest

        @pytest.mark.vcr(os.environ["SHARED"])
        def test_replays_without_vcrpy(vcr):
            with httpx2.Client() as c:
                assert c.get("https://api.example.com/v1/models?a=1&b=2").json() == {"n": 1}
            assert "vcr" not in sys.modules
            assert type(vcr).__name__ == "PlaybackCassette" and vcr.play_count == 1
            # Any other Cassette attribute comes from vcrpy's own Cassette, counting the same plays.
            assert vcr.requests[0].uri.endswith("?b=2&a=1") and vcr.play_counts[0] == 1
            assert "vcr" in sys.modules
        """
    )
    result = suite.runpytest_subprocess(*NO_RECORDING, "test_clean.py")
    result.assert_outcomes(passed=1)


def test_http_client_direct_is_replayed_by_vcrpy_and_refused_natively_with_the_fix(
    suite: pytest.Pytester,
) -> None:
    suite.makepyfile(
        test_direct="""
        import json, os, urllib.request, pytest

        @pytest.mark.vcr(os.environ["SHARED"])
        def test_urllib():
            with urllib.request.urlopen("https://api.example.com/v1/search?q=x") as r:
                assert json.loads(r.read()) == {"found": 1}
        """
    )
    native = suite.runpytest(*NO_RECORDING, "test_direct.py")
    native.assert_outcomes(failed=1)
    native.stdout.fnmatch_lines(
        [
            "*CannotOverwriteExistingCassetteException: GET https://api.example.com:443/v1/search?q=x "
            "was sent through http.client directly*the cassette holds a matching interaction*"
            "--replay-vcr-engine=vcrpy*"
        ]
    )
    suite.makeini("[pytest]\nreplay_vcr_engine = vcrpy\n")
    suite.runpytest(*NO_RECORDING, "test_direct.py").assert_outcomes(passed=1)


def test_settings_only_vcrpy_honours_go_to_vcrpy(suite: pytest.Pytester) -> None:
    suite.makeconftest(
        """
        import pytest

        def pytest_recording_configure(config, vcr):
            vcr.register_matcher("always", lambda r1, r2: True)
        """
    )
    suite.makepyfile(
        test_hooks="""
        import os, httpx2, pytest

        @pytest.mark.vcr(os.environ["SHARED"], match_on=["always"])
        def test_custom_matcher(vcr):
            with httpx2.Client() as c:
                assert c.get("https://api.example.com/anything").json() == {"n": 1}
            assert type(vcr).__module__ == "vcr.cassette"

        @pytest.mark.vcr(os.environ["SHARED"], before_record_request=lambda r: r)
        def test_request_hook(vcr):
            assert type(vcr).__module__ == "vcr.cassette"
        """
    )
    suite.runpytest(*NO_RECORDING, "test_hooks.py").assert_outcomes(passed=2)


def test_a_native_llm_replay_cassette_and_a_corrupt_one(suite: pytest.Pytester) -> None:
    from replay import synth

    synth.cassette(synth.chat("Native answer.")).save(
        suite.path / "cassettes" / "test_mixed" / "test_native.yaml"
    )
    bad = suite.path / "cassettes" / "test_mixed" / "test_corrupt.yaml"
    _write(bad, [{"request": {"method": "GET"}, "response": {"status": {"code": 200}}}])
    suite.makepyfile(
        test_mixed="""
        import openai, pytest

        @pytest.mark.vcr
        def test_native():
            client = openai.OpenAI(api_key="sk-test", max_retries=0)
            stream = client.chat.completions.create(
                model="m", messages=[{"role": "user", "content": "hi"}], stream=True
            )
            assert "".join(c.choices[0].delta.content or "" for c in stream if c.choices) == "Native answer."

        @pytest.mark.vcr
        def test_corrupt():
            pass
        """
    )
    result = suite.runpytest(*NO_RECORDING, "test_mixed.py")
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(
        ["*test_corrupt.yaml: vcrpy interaction #0 is invalid: request.uri is missing*"]
    )


def test_a_bad_engine_setting_is_a_usage_error(suite: pytest.Pytester) -> None:
    suite.makeini("[pytest]\nreplay_vcr_engine = fast\n")
    result = suite.runpytest(*NO_RECORDING, "test_suite.py", "-k", "sse")
    result.stderr.fnmatch_lines(["*replay_vcr_engine = 'fast'*use one of auto, vcrpy*"])


# -- the rules, directly ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("config", "native"),
    [
        ({}, True),
        ({"match_on": ["method", "uri", "raw_body"], "allow_playback_repeats": True}, True),
        ({"filter_headers": ["authorization"], "decode_compressed_response": True}, True),
        ({"ignore_hosts": ["internal"], "ignore_localhost": True, "serializer": "json"}, True),
        ({"match_on": ["method", "body"]}, False),  # vcrpy's body transformers
        ({"match_on": ["headers"]}, False),
        ({"before_record_request": lambda r: r}, False),
        ({"before_record_response": lambda r: r}, False),
        ({"filter_query_parameters": [("token", lambda key, value, request: "x")]}, False),
        ({"filter_query_parameters": ["token"], "match_on": ["uri"]}, False),
        ({"filter_post_data_parameters": ["key"], "match_on": ["raw_body"]}, False),
        ({"custom_patches": ()}, False),
        ({"drop_unused_requests": True}, False),  # vcrpy rewrites the file at exit
        ({"drop_unused_requests": False, "record_on_exception": False}, True),
        ({"serializer": "pickle"}, False),
    ],
)
def test_which_settings_the_native_engine_honours(config: dict[str, Any], native: bool) -> None:
    assert (native_rules(config) is not None) is native


def test_rules_ignore_hosts_and_filter_queries() -> None:
    import re

    rules = native_rules(
        {
            "ignore_hosts": ["api.internal", re.compile(r".*\.corp")],
            "filter_query_parameters": [("k", "X"), "t"],
        }
    )
    assert isinstance(rules, VcrRules)
    assert rules.ignores("api.internal") and rules.ignores("a.corp") and not rules.ignores("corp")
    parts = {"query": (("k", "secret"), ("q", "1"), ("t", "tok"))}
    assert rules._filtered_query(parts) == (("k", "X"), ("q", "1"))


def test_entries_are_parsed_once_per_file_version(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    _write(path, SHARED)
    first = load_entries(path, decode=False)
    second = load_entries(path, decode=False)
    third = load_entries(path, decode=False)
    assert first is not None and second is not None and len(first) == 5
    assert third is second and first is not second  # cached from the second load
    decoded = load_entries(path, decode=True)
    assert decoded is not None and decoded[2].interaction.response.body == b'{"zipped": true}'
    _write(path, SHARED[:1])
    assert len(load_entries(path, decode=False) or []) == 1  # a changed file is read again
    path.write_text("  \n")
    assert load_entries(path, decode=False) is None  # vcrpy records an empty file
    path.write_text(json.dumps({"version": 1, "interactions": [{"request": {}}]}))
    with pytest.raises(CassetteFormatError, match=r"c\.yaml: vcrpy interaction #0 is invalid"):
        load_entries(path, decode=False)


def test_vcrpy_imported_during_a_cassette_keeps_the_real_client_methods(tmp_path: Path) -> None:
    """vcrpy keeps what it finds at import as the methods its stubs call: imported while a
    cassette is active (a miss, a ``vcr.requests`` read), it must find httpx's own."""
    import subprocess
    import sys

    _write(tmp_path / "c.yaml", SHARED)
    script = f"""
import sys, httpx
import replay
from replay.transport.patch import import_unpatched
own = httpx.HTTPTransport.handle_request
with replay.use_cassette({str(tmp_path / "c.yaml")!r}, match_on=["method", "url"]):
    assert httpx.HTTPTransport.handle_request is not own  # patched while the cassette is open
    assert "vcr" not in sys.modules
    import_unpatched("vcr")
    import vcr.patch
    assert httpx.HTTPTransport.handle_request is not own  # patched again after the import
with replay.use_cassette({str(tmp_path / "c.yaml")!r}, match_on=["method", "url"]):
    pass
assert vcr.patch._HttpxHttpTransport_handle_request is own
assert httpx.HTTPTransport.handle_request is own
print("ok")
"""
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr[-3000:]


@pytest.mark.parametrize("engine", ["auto", "vcrpy"])
def test_vcrpy_4_httpx_cassettes_replay_decoded_on_both_engines(
    pytester: pytest.Pytester, engine: str
) -> None:
    """vcrpy < 5 stored httpx responses as ``status_code``/``content``, the content already decoded
    beside the original ``content-encoding``: replayed as vcrpy replays them, decoded, the
    encoding dropped and ``content-length`` set (both engines read them through one function)."""
    folder = pytester.path / "cassettes" / "test_old"
    folder.mkdir(parents=True)
    (folder / "test_it.yaml").write_text(
        yaml.safe_dump(
            {
                "version": 1,
                "interactions": [
                    {
                        "request": {"method": "GET", "uri": f"{API}/v1/models", "body": None, "headers": {}},
                        "response": {
                            "status_code": 200,
                            "http_version": "HTTP/1.1",
                            "headers": {"content-encoding": ["gzip"], "content-type": ["application/json"]},
                            "content": '{"data": []}',
                        },
                    }
                ],
            }
        )
    )
    pytester.makepyfile(
        test_old=f"""
        import httpx2, pytest

        @pytest.mark.vcr
        def test_it():
            r = httpx2.get("{API}/v1/models")
            assert r.json() == {{"data": []}} and "content-encoding" not in r.headers
            assert r.headers["content-length"] == str(len(r.content))
        """
    )
    pytester.runpytest(*NO_RECORDING, f"--replay-vcr-engine={engine}").assert_outcomes(passed=1)
