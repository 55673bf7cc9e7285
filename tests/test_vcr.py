"""vcrpy cassettes: import (auto-detected), synthetic timing, export that vcrpy itself replays,
and ``llm-replay convert``."""

from __future__ import annotations

import gzip
import json
import time
from pathlib import Path

import httpx2
import pytest
import requests
import yaml
from conftest import require_real_cassettes
from llm_server import LLMServer
from sdk_helpers import run_chat

import replay
from replay.cli import main as cli
from replay.vcr.export import dump_vcr
from replay.vcr.format import SyntheticTiming

URL = "https://api.example.com/v1/chat/completions"
SSE = b'data: {"n": 1}\n\ndata: {"n": 2}\n\n: keep-alive\n\ndata: [DONE]\n\n'
JSON = json.dumps({"choices": [{"index": 0, "message": {"content": "hi"}, "finish_reason": "stop"}]}).encode()


def write_vcr(path: Path, interactions: list[dict[str, object]]) -> Path:
    path.write_text(yaml.safe_dump({"interactions": interactions, "version": 1}, allow_unicode=True))
    return path


def vcr_item(
    body: object, *, status: int = 200, headers: dict[str, list[str]] | None = None, uri: str = URL
) -> dict[str, object]:
    return {
        "request": {
            "method": "POST",
            "uri": uri,
            "body": '{"model": "m"}',
            "headers": {"Authorization": ["Bearer sk-live"], "content-type": ["application/json"]},
        },
        "response": {
            "status": {"code": status, "message": "X"},
            "headers": headers or {"Content-Type": ["application/json"]},
            "body": {"string": body},
        },
    }


def test_vcrpy_file_loads_with_gzip_binary_repeats_statuses_and_sse(tmp_path: Path) -> None:
    path = write_vcr(
        tmp_path / "old.yaml",
        [
            vcr_item(gzip.compress(JSON), headers={"Content-Encoding": ["gzip"], "Content-Length": ["99"]}),
            vcr_item(JSON.decode()),
            vcr_item(JSON.decode()),
            vcr_item('{"error": {"message": "slow"}}', status=429),
            vcr_item(
                SSE.decode(),
                headers={"Content-Type": ["text/event-stream"], "Set-Cookie": ["__cf_bm=abc", "_cfuvid=def"]},
            ),
        ],
    )
    assert "!!binary" in path.read_text()
    cassette = replay.load_cassette(path, synthetic_timing=SyntheticTiming(ttfb=0.5, gap=0.1))
    first, _, _, limited, stream = (i.response for i in cassette.interactions)
    assert first.body == JSON and first.decoded_from == "gzip"
    assert first.header("content-encoding") is None and first.header("content-length") == str(len(JSON))
    assert limited.status == 429
    # A comment travels with the event that follows it.
    pieces = [b'data: {"n": 1}\n\n', b'data: {"n": 2}\n\n', b": keep-alive\n\ndata: [DONE]\n\n"]
    assert [c.data for c in stream.chunks] == pieces
    assert [c.t for c in stream.chunks] == [0.5, 0.6, 0.7] and stream.t == 0.5
    assert stream.synthetic_timing and [e.data for e in stream.events()][-1] == "[DONE]"
    assert stream.header("set-cookie") is None  # secrets never enter the model, so never reach disk
    assert cassette.interactions[0].request.header("authorization") == "Bearer REDACTED"  # the scheme stays


def test_vcrpy_file_replays_in_virtual_timing_at_the_synthetic_offsets(tmp_path: Path) -> None:
    path = write_vcr(
        tmp_path / "s.yaml", [vcr_item(SSE.decode(), headers={"Content-Type": ["text/event-stream"]})]
    )
    schedule = SyntheticTiming(ttfb=1.0, gap=0.25)
    with replay.use_cassette(path, synthetic_timing=schedule) as active, httpx2.Client() as client:
        t0 = time.monotonic()
        with client.stream("POST", URL, json={"model": "m"}) as response:
            offsets = [round(time.monotonic() - t0, 6) for _ in response.iter_raw()]
    assert offsets == [1.0, 1.25, 1.5]
    assert active.all_played


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("interactions: [&a {request: 1}, *a]\nversion: 1\n", "anchors/aliases"),
        ("interactions:\n- !!python/object/apply:os.system [echo hi]\nversion: 1\n", "invalid YAML"),
        (
            "interactions:\n- request: {method: GET}\n  response: {}\nversion: 1\n",
            "vcrpy interaction #0 is invalid",
        ),
        (
            "interactions:\n- request: {method: GET, uri: 'http://x'}\n"
            "  response: {status: {code: nope}}\nversion: 1\n",
            "status.code must be an HTTP status number",
        ),
    ],
)
def test_bad_vcrpy_files_fail_with_the_file_and_the_problem(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(replay.CassetteFormatError) as info:
        replay.load_cassette(path)
    assert str(path) in str(info.value) and message in str(info.value)


def test_native_to_vcrpy_to_native_keeps_bytes_and_timing_and_vcrpy_replays_it(
    llm_server: LLMServer, tmp_path: Path
) -> None:
    native = tmp_path / "native.yaml"
    with replay.use_cassette(native, record_mode="once"):
        live = run_chat("openai", llm_server.base_url, stream=True, is_async=False)
        json_body = {"model": "m", "messages": [{"role": "user", "content": "x"}]}
        live_json = httpx2.post(llm_server.base_url + "/v1/chat/completions", json=json_body).json()
    original = replay.load_cassette(native)

    vcr_path = tmp_path / "vcr.yaml"
    assert cli(["convert", str(native), str(vcr_path)]) == 0
    back = tmp_path / "back.yaml"
    assert cli(["convert", str(vcr_path), str(back)]) == 0
    again = replay.load_cassette(back)
    for a, b in zip(original.interactions, again.interactions, strict=True):
        assert a.request.body == b.request.body
        assert [(c.t, c.data) for c in a.response.chunks] == [(c.t, c.data) for c in b.response.chunks]
        assert a.response.t == b.response.t and not b.response.synthetic_timing
        assert a.recorded_at == b.recorded_at and a.response.status == b.response.status

    # vcrpy itself loads the exported file and replays it (its own httpx2 and requests stubs).
    import vcr

    base = llm_server.base_url
    llm_server.stop()
    use = vcr.use_cassette(str(vcr_path), record_mode="none", match_on=["method", "path"])
    with use as cassette, httpx2.Client() as client:
        streamed = client.post(base + "/v1/chat/completions", json={}).content
        via_requests = requests.post(base + "/v1/chat/completions", json={}, timeout=5)
    assert streamed == original.interactions[0].response.body
    assert b"Hello" in streamed and live.text == "Hello from the local test server."
    assert via_requests.json() == live_json
    assert cassette.all_played


def test_dump_vcr_without_timing_is_plain_vcrpy(tmp_path: Path) -> None:
    path = write_vcr(tmp_path / "in.yaml", [vcr_item(JSON.decode())])
    text = dump_vcr(replay.load_cassette(path), timing=False)
    data = yaml.safe_load(text)
    assert set(data["interactions"][0]["response"]) == {"status", "headers", "body"}
    assert data["interactions"][0]["response"]["body"]["string"] == JSON.decode()
    as_json = json.loads(dump_vcr(replay.load_cassette(path), serializer="json"))
    assert as_json["interactions"][0]["response"]["llm_replay"]["synthetic"] is True


def test_convert_folder_reports_bad_files_and_keeps_going(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = tmp_path / "src"
    (src / "deep").mkdir(parents=True)
    write_vcr(src / "a.yaml", [vcr_item(JSON.decode())])
    write_vcr(
        src / "deep" / "b.yaml", [vcr_item(SSE.decode(), headers={"Content-Type": ["text/event-stream"]})]
    )
    (src / "broken.yaml").write_text("interactions: [\n")
    assert cli(["convert", str(src), str(tmp_path / "out"), "--ttfb", "0.1", "--gap", "0.01"]) == 2
    out = capsys.readouterr()
    assert "broken.yaml: invalid YAML" in out.err and "converted 2 of 3 files" in out.out
    converted = replay.load_cassette(tmp_path / "out" / "deep" / "b.yaml")
    assert [c.t for c in converted.interactions[0].response.chunks] == [0.1, 0.11, 0.12]
    assert "format: llm-replay" in (tmp_path / "out" / "a.yaml").read_text()
    assert not (tmp_path / "out" / "broken.yaml").exists()
    assert cli(["inspect", "--json", str(tmp_path / "out" / "deep" / "b.yaml")]) == 0
    (rows,) = json.loads(capsys.readouterr().out).values()
    assert rows[0]["synthetic_timing"] is True and rows[0]["events"] == 3


def test_converting_the_real_recordings_writes_no_cookies(tmp_path: Path) -> None:
    root = require_real_cassettes()
    assert cli(["convert", str(root), str(tmp_path / "native")]) == 0
    assert cli(["convert", str(tmp_path / "native"), str(tmp_path / "vcr")]) == 0
    for path in (tmp_path / "native").rglob("*.yaml"):
        text = path.read_text().lower()
        assert "set-cookie" not in text and "__cf_bm" not in text, path
    for path in (tmp_path / "vcr").rglob("*.yaml"):
        original = replay.load_cassette(root / path.relative_to(tmp_path / "vcr"))
        again = replay.load_cassette(path)
        assert [i.response.body for i in again.interactions] == [
            i.response.body for i in original.interactions
        ]


def test_convert_scrubs_keys_and_refuses_what_it_cannot_scrub(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    key = "sk-proj-" + "A1b2C3d4E5" * 4
    item = vcr_item(JSON, uri=URL + "?api_key=" + key)
    item["request"]["headers"]["openai-organization"] = ["org-secret123"]  # type: ignore[index]
    item["request"]["body"] = json.dumps({"model": "m", "api_key": key})  # type: ignore[index]
    source = write_vcr(tmp_path / "in.yaml", [item])
    assert cli(["convert", str(source), str(tmp_path / "out.yaml"), "--to", "native"]) == 0
    written = (tmp_path / "out.yaml").read_text()
    assert key not in written and "org-secret123" not in written
    converted = replay.load_cassette(tmp_path / "out.yaml").interactions[0]
    assert converted.request.header("openai-organization") is not None  # kept, with a placeholder

    leaky = vcr_item(json.dumps({"echo": key}))  # a key in a response body is not rewritten
    source = write_vcr(tmp_path / "leaky.yaml", [leaky])
    assert cli(["convert", str(source), str(tmp_path / "leaky-out.yaml"), "--to", "native"]) == 1
    assert not (tmp_path / "leaky-out.yaml").exists()
    assert "Refusing to write" in capsys.readouterr().err
    assert cli(["convert", str(source), str(tmp_path / "leaky-out.yaml"), "--allow-secrets"]) == 0
