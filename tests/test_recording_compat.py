"""The pytest-recording drop-in: suites written for pytest-recording run unchanged on llm-replay.

Each test writes a test module the way pytest-recording's users write them and runs it with
pytester against the real local LLM server. pytest-recording is installed in this environment
(to prove coexistence), so the inner runs pass ``-p no:recording``: the same state as a project
that replaced pytest-recording by llm-replay.
"""

from __future__ import annotations

import gzip
import json
import textwrap
from pathlib import Path

import pytest
import yaml
from llm_server import LLMServer

# The drop-in is imported lazily (only when pytest-recording is absent or disabled). In-process
# pytester runs restore sys.modules after each run, which would leave one run's error classes
# behind in objects the next run reuses; importing it here keeps one copy for the whole session.
import replay_pytest.recording_compat  # noqa: F401

NO_RECORDING = ("-p", "no:recording", "-p", "no:cacheprovider")

USER_TESTS = """
import asyncio, os, time
import groq, openai, pytest, requests

BASE = os.environ["LLM_BASE"]
MESSAGES = [{"role": "user", "content": "hi"}]
HELLO = "Hello from the local test server."
KEY = "sk-secret-key"


@pytest.mark.vcr
def test_openai_stream():
    client = openai.OpenAI(base_url=BASE + "/v1", api_key="sk-secret-key", max_retries=0)
    stream = client.chat.completions.create(model="m", messages=MESSAGES, stream=True)
    assert "".join(c.choices[0].delta.content or "" for c in stream if c.choices) == HELLO


@pytest.mark.vcr
def test_openai_async_stream():
    async def main():
        async with openai.AsyncOpenAI(base_url=BASE + "/v1", api_key=KEY, max_retries=0) as client:
            stream = await client.chat.completions.create(model="m", messages=MESSAGES, stream=True)
            return "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])
    assert asyncio.run(main()) == "Hello from the local test server."


@pytest.mark.vcr
def test_groq_abandons_stream():
    client = groq.Groq(base_url=BASE, api_key="gsk_secret", max_retries=0)
    stream = client.chat.completions.create(model="m", messages=MESSAGES, stream=True)
    first = [next(iter(stream)) for _ in range(2)]
    stream.close()
    assert first[1].choices[0].delta.content == "Hello"


@pytest.mark.vcr
def test_requests_json():
    r = requests.post(BASE + "/v1/chat/completions", json={"model": "m", "messages": MESSAGES}, timeout=10)
    assert r.json()["choices"][0]["message"]["content"] == "Hello from the local test server."


class TestNames:
    @pytest.mark.vcr
    @pytest.mark.parametrize("who", ["a/b"])
    def test_param(self, who, vcr, request):
        client = openai.OpenAI(base_url=BASE + "/v1", api_key="sk-x", max_retries=0)
        t0 = time.monotonic()
        r = client.chat.completions.create(model=who, messages=MESSAGES)
        assert r.choices[0].message.content == "Hello from the local test server."
        # Recording: nothing played, the new interaction is in the cassette; replaying: played.
        recording = request.config.getoption("--record-mode") == "once"
        assert (vcr.play_count, len(vcr)) == ((0, 1) if recording else (1, 1))
        assert time.monotonic() - t0 < 5
"""


@pytest.fixture
def user_suite(pytester: pytest.Pytester, llm_server: LLMServer, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("LLM_BASE", llm_server.base_url)
    return pytester.makepyfile(test_llm=USER_TESTS)


def _load(path: Path) -> dict:  # type: ignore[type-arg]
    data = yaml.safe_load(path.read_text())
    assert isinstance(data, dict)
    return data


def test_record_then_replay_offline_with_network_blocked(
    pytester: pytest.Pytester, user_suite: Path, llm_server: LLMServer
) -> None:
    missing = pytester.runpytest(*NO_RECORDING)
    missing.assert_outcomes(failed=5)
    missing.stdout.fnmatch_lines(["*CannotOverwriteExistingCassetteException*", "*--record-mode=*"])

    recorded = pytester.runpytest(*NO_RECORDING, "--record-mode=once")
    recorded.assert_outcomes(passed=5)
    folder = pytester.path / "cassettes" / "test_llm"
    names = sorted(p.name for p in folder.iterdir())
    assert names == [
        "TestNames.test_param[a-b].yaml",
        "test_groq_abandons_stream.yaml",
        "test_openai_async_stream.yaml",
        "test_openai_stream.yaml",
        "test_requests_json.yaml",
    ]
    for path in folder.iterdir():
        text = path.read_text()
        assert "secret" not in text, f"{path.name} holds a key"
        data = _load(path)
        assert data["version"] == 1 and len(data["interactions"]) == 1  # vcrpy's format
    # The abandoned stream was recorded whole, as vcrpy would have.
    groq_body = _load(folder / "test_groq_abandons_stream.yaml")["interactions"][0]["response"]["body"][
        "string"
    ]
    assert groq_body.rstrip().endswith("data: [DONE]")
    stream = _load(folder / "test_openai_stream.yaml")["interactions"][0]["response"]
    assert len(stream["llm_replay"]["chunks"].split()) == 10  # one timed read per SSE event

    llm_server.stop()
    replayed = pytester.runpytest(*NO_RECORDING, "--block-network")
    replayed.assert_outcomes(passed=5)


def test_vcr_config_nearest_wins_and_vcrpy_keys_apply(pytester: pytest.Pytester, user_suite: Path) -> None:
    pytester.makeconftest(
        """
        import pytest

        @pytest.fixture(scope="session")
        def vcr_config():
            return {"filter_headers": ["x-stainless-os"], "record_mode": "none"}
        """
    )
    sub = pytester.mkpydir("sub")
    (sub / "conftest.py").write_text(
        textwrap.dedent(
            """
            import pytest

            @pytest.fixture(scope="module")
            def vcr_config():
                def drop_id(response):
                    response["headers"].pop("x-request-id", None)
                    return response
                return {
                    "filter_headers": ["user-agent", ("x-stainless-lang", "LANG")],
                    "filter_query_parameters": ["token"],
                    "before_record_response": drop_id,
                    "record_mode": "once",
                }
            """
        )
    )
    (sub / "test_sub.py").write_text(
        textwrap.dedent(
            """
            import os, openai, pytest

            @pytest.mark.vcr
            def test_one():
                client = openai.OpenAI(base_url=os.environ["LLM_BASE"] + "/v1", api_key="k", max_retries=0)
                client.chat.completions.create(model="m", messages=[], extra_query={"token": "abc"})
            """
        )
    )
    # The top-level conftest says record_mode "none": the suite's own tests cannot record.
    result = pytester.runpytest(*NO_RECORDING)
    result.assert_outcomes(passed=1, failed=5)
    cassette = _load(sub / "cassettes" / "test_sub" / "test_one.yaml")["interactions"][0]
    headers = cassette["request"]["headers"]
    assert "user-agent" not in headers and headers["x-stainless-lang"] == ["LANG"]
    assert "x-stainless-os" in headers  # the nearer vcr_config replaced the outer one
    assert "token" not in cassette["request"]["uri"]
    assert "x-request-id" not in cassette["response"]["headers"]
    again = pytester.runpytest(*NO_RECORDING, "sub")
    again.assert_outcomes(passed=1)


GZIP_BODY = json.dumps(
    {
        "id": "x",
        "object": "chat.completion",
        "created": 1,
        "model": "m",
        "usage": None,
        "choices": [
            {"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": "zipped"}}
        ],
    }
).encode()


def _vcr_cassette(path: Path, interactions: list[tuple[str, str, int, dict[str, list[str]], bytes]]) -> None:
    data = {
        "version": 1,
        "interactions": [
            {
                "request": {"method": m, "uri": uri, "body": None, "headers": {}},
                "response": {
                    "status": {"code": code, "message": "OK"},
                    "headers": headers,
                    "body": {"string": body},
                },
            }
            for m, uri, code, headers, body in interactions
        ],
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data))


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
def test_vcrpy_cassette_replays_gzip_as_stored_order_and_misses(
    pytester: pytest.Pytester, is_async: bool
) -> None:
    uri = "https://api.example.com/v1/chat/completions"
    gz = gzip.compress(GZIP_BODY, mtime=0)
    sse = b'data: {"a": 1}\n\ndata: {"a": 2}\n\ndata: [DONE]\n\n'
    _vcr_cassette(
        pytester.path / "cassettes" / "test_user" / "test_it.yaml",
        [
            ("POST", uri, 200, {"Content-Encoding": ["gzip"], "Content-Type": ["application/json"]}, gz),
            ("POST", uri, 429, {"Content-Type": ["application/json"]}, b'{"error": "slow down"}'),
            (
                "GET",
                "https://api.example.com/v1/models?b=2&a=1",
                200,
                {"Content-Type": ["text/event-stream"]},
                sse,
            ),
            ("GET", "https://api.example.com/unused", 200, {}, b"never requested"),
        ],
    )
    pytester.makepyfile(
        test_user=f"""
        import asyncio, httpx2, pytest

        IS_ASYNC = {is_async}
        sent = []

        @pytest.fixture(autouse=True)
        def spy(monkeypatch):
            for cls in (httpx2.Client, httpx2.AsyncClient):
                original = cls.send
                def send(self, request, *a, _original=original, **k):
                    sent.append(request.url.path)
                    return _original(self, request, *a, **k)
                monkeypatch.setattr(cls, "send", send)

        def calls():
            if not IS_ASYNC:
                with httpx2.Client() as c:
                    first = c.post("{uri}", json={{}})
                    second = c.post("{uri}", json={{}})
                    with c.stream("GET", "https://api.example.com/v1/models?a=1&b=2") as r:
                        reads = list(r.iter_raw())
                return first, second, reads
            async def go():
                async with httpx2.AsyncClient() as c:
                    first = await c.post("{uri}", json={{}})
                    second = await c.post("{uri}", json={{}})
                    async with c.stream("GET", "https://api.example.com/v1/models?a=1&b=2") as r:
                        reads = [b async for b in r.aiter_raw()]
                return first, second, reads
            return asyncio.run(go())

        @pytest.mark.vcr
        def test_it(vcr):
            first, second, reads = calls()
            assert first.headers["content-encoding"] == "gzip"
            assert first.json()["choices"][0]["message"]["content"] == "zipped"
            assert second.status_code == 429
            assert reads == [b'data: {{"a": 1}}\\n\\n', b'data: {{"a": 2}}\\n\\n', b"data: [DONE]\\n\\n"]
            assert sent == ["/v1/chat/completions", "/v1/chat/completions", "/v1/models"]
            assert vcr.play_count == 3 and not vcr.all_played

        @pytest.mark.vcr("test_it.yaml")
        def test_unmatched_fails():
            from vcr.errors import CannotOverwriteExistingCassetteException
            with httpx2.Client() as c, pytest.raises(CannotOverwriteExistingCassetteException) as info:
                c.get("https://api.example.com/v1/other")
            assert "path differs: /v1/other != /unused" in str(info.value)

        @pytest.mark.vcr("test_it.yaml")
        def test_unmatched_is_an_error():
            with httpx2.Client() as c:
                c.get("https://api.example.com/v1/other")
        """
    )
    result = pytester.runpytest(*NO_RECORDING)
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(["*test_unmatched_is_an_error*", "*Can't play back this request*"])


def test_rewrite_replaces_and_extra_cassettes_are_read_only(
    pytester: pytest.Pytester, user_suite: Path, llm_server: LLMServer
) -> None:
    folder = pytester.path / "cassettes" / "test_llm"
    pytester.runpytest(*NO_RECORDING, "--record-mode=once", "-k", "test_requests_json").assert_outcomes(
        passed=1
    )
    path = folder / "test_requests_json.yaml"
    first = path.read_text()
    llm_server.script.tokens = ["Hello from the local test server."]
    pytester.runpytest(*NO_RECORDING, "--record-mode=rewrite", "-k", "test_requests_json").assert_outcomes(
        passed=1
    )
    rewritten = _load(path)
    assert len(rewritten["interactions"]) == 1 and path.read_text() != first

    shared = folder / "shared.yaml"
    shared.write_text(path.read_text())
    pytester.makepyfile(
        test_extra=f"""
        import os, pytest, requests

        @pytest.mark.vcr("{shared}", record_mode="none")
        def test_uses_extra():
            r = requests.post(os.environ["LLM_BASE"] + "/v1/chat/completions",
                              json={{"model": "m", "messages": [{{"role": "user", "content": "hi"}}]}})
            assert r.status_code == 200
        """
    )
    llm_server.stop()
    pytester.runpytest(*NO_RECORDING, "test_extra.py").assert_outcomes(passed=1)
    assert not (pytester.path / "cassettes" / "test_extra").exists()  # nothing recorded, nothing written


def test_only_loaded_without_pytest_recording(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        def test_plugins(request):
            pm = request.config.pluginmanager
            print("RECORDING", pm.has_plugin("recording"), "COMPAT", pm.has_plugin("replay-recording-compat"))
        """
    )
    both = pytester.runpytest("-s", "-p", "no:cacheprovider")
    both.stdout.fnmatch_lines(["*RECORDING True COMPAT False*"])
    both.assert_outcomes(passed=1)
    help_text = pytester.runpytest("--help").stdout.str()
    assert "--record-mode" in help_text and "--replay-record-mode" in help_text
    alone = pytester.runpytest("-s", *NO_RECORDING)
    alone.stdout.fnmatch_lines(["*RECORDING False COMPAT True*"])


def test_is_needed_when_pytest_recording_is_not_installed(
    pytestconfig: pytest.Config, monkeypatch: pytest.MonkeyPatch
) -> None:
    import importlib.util

    from replay_pytest import recording_detect

    pm = pytestconfig.pluginmanager
    assert recording_detect.is_needed(pm) is False  # installed and active here
    monkeypatch.setattr(pm, "has_plugin", lambda name: False)
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name == "pytest_recording" else real_find_spec(name, *a),
    )
    assert recording_detect.is_needed(pm) is True


def test_coexists_with_pytest_recording_under_filterwarnings_error(
    pytester: pytest.Pytester, llm_server: LLMServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both plugins installed, warnings as errors: the session starts and both markers work.

    A subprocess, so vcrpy is not already imported by this test process: pytest-recording 0.15
    registers ``vcr.matchers`` for assertion rewriting at import and warns if it is loaded already.
    """
    monkeypatch.setenv("LLM_BASE", llm_server.base_url)
    pytester.makeini("[pytest]\nfilterwarnings =\n    error\n")
    pytester.makepyfile(
        test_both="""
        import os, httpx, pytest

        URL = os.environ["LLM_BASE"] + "/v1/chat/completions"
        BODY = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}

        @pytest.mark.vcr
        def test_pytest_recording_marker(vcr):
            assert httpx.post(URL, json=BODY).status_code == 200
            assert type(vcr).__module__ == "vcr.cassette"   # pytest-recording's own fixture

        @pytest.mark.replay
        def test_llm_replay_marker(replay_cassette):
            assert httpx.post(URL, json=BODY).status_code == 200
            recording = os.environ["PHASE"] == "record"
            assert len(replay_cassette.recorded) == (1 if recording else 0)
            assert len(replay_cassette.loaded) == (0 if recording else 1)
            assert len(replay_cassette.interactions) == 1  # loaded + recorded in this run
        """
    )
    args = ("-p", "no:cacheprovider", "-W", "error")
    monkeypatch.setenv("PHASE", "record")
    recorded = pytester.runpytest_subprocess(*args, "--record-mode=once", "--replay-record-mode=once")
    recorded.assert_outcomes(passed=2)
    assert (pytester.path / "cassettes" / "test_both" / "test_pytest_recording_marker.yaml").is_file()
    assert (pytester.path / "cassettes" / "test_both" / "test_llm_replay_marker.yaml").is_file()
    llm_server.stop()
    monkeypatch.setenv("PHASE", "replay")
    replayed = pytester.runpytest_subprocess(*args, "--block-network")
    replayed.assert_outcomes(passed=2)
