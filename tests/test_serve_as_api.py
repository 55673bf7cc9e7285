"""``llm-replay serve --as-api``: one recording made with the openai SDK answers the anthropic
SDK over the wire, in Anthropic's format and with the recorded timing; through the CLI option,
the server's settings and a control API session; faults compose; bad names are refused."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anthropic
import openai
import pytest
from llm_server import LLMServer, Script
from sdk_helpers import MESSAGES, ChatRun, run_chat
from serve_helpers import ThreadServer, raw_request

import replay
from replay.modes import RecordMode
from replay.serve import SessionSettings

# Gaps of 0.1-0.2 s: offsets compare with a tolerance far above scheduling noise yet far below them.
SCRIPT = Script(head_delay=0.1, first_delay=0.1, gaps=[0.1, 0.2, 0.15])
AS_ANTHROPIC = SessionSettings(as_api=("anthropic-messages",))


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, ChatRun]:
    """openai.yaml: a stream and a whole answer recorded with the openai SDK through the proxy;
    and what the openai SDK observed replaying the stream."""
    root = tmp_path_factory.mktemp("as_api") / "cassettes"
    root.mkdir()
    with (
        LLMServer(SCRIPT) as upstream,
        ThreadServer(
            root, settings=SessionSettings(record_mode=RecordMode.ONCE), upstreams=(upstream.base_url,)
        ) as proxy,
    ):
        run_chat("openai", f"{proxy.url}/c/openai.yaml", stream=True, is_async=False)
        run_chat("openai", f"{proxy.url}/c/openai.yaml", stream=False, is_async=False)
    with ThreadServer(root) as server:
        replayed = run_chat("openai", f"{server.url}/c/openai.yaml", stream=True, is_async=False)
    return root, replayed


@pytest.fixture
def as_anthropic(recorded: tuple[Path, ChatRun]) -> Iterator[ThreadServer]:
    with ThreadServer(recorded[0], settings=AS_ANTHROPIC) as server:
        yield server


def _recorded_text_offsets(path: Path) -> list[float]:
    """When each text delta of the recorded stream arrived (seconds after the request)."""
    response = replay.load_cassette(path).interactions[0].response
    offsets = []
    for event in response.events():
        if event.data.startswith("{") and (json.loads(event.data).get("choices") or [{}])[0].get(
            "delta", {}
        ).get("content"):
            assert event.t is not None
            offsets.append(event.t)
    return offsets


def _text_marks(sdk: str, base_url: str) -> list[tuple[float, str]]:
    """(offset since the call, text) of each text delta the SDK yields from a stream."""
    marks: list[tuple[float, str]] = []
    if sdk == "anthropic":
        client: Any = anthropic.Anthropic(base_url=base_url, api_key="sk-ant-test", max_retries=0)
        t0 = time.monotonic()
        with client.messages.stream(model="m", max_tokens=64, messages=MESSAGES) as stream:
            for text in stream.text_stream:
                marks.append((time.monotonic() - t0, text))
        return marks
    client = openai.OpenAI(base_url=base_url + "/v1", api_key="sk-test", max_retries=0)
    t0 = time.monotonic()
    with client.chat.completions.create(
        model="m", messages=MESSAGES, stream=True, stream_options={"include_usage": True}
    ) as chunks:
        for chunk in chunks:
            if chunk.choices and chunk.choices[0].delta.content:
                marks.append((time.monotonic() - t0, chunk.choices[0].delta.content))
    return marks


def test_the_anthropic_sdk_reads_an_openai_recording_with_its_timing(
    recorded: tuple[Path, ChatRun], as_anthropic: ThreadServer
) -> None:
    source = _text_marks("openai", f"{as_anthropic.url}/c/openai.yaml")
    seen = _text_marks("anthropic", f"{as_anthropic.url}/c/openai.yaml")
    assert "".join(t for _, t in seen) == recorded[1].text == "Hello from the local test server."
    assert [t for _, t in seen] == [t for _, t in source]
    # Each text delta arrives at its recorded offset (real timing over the wire). The server waits
    # for absolute deadlines, so a delta is never early; a loaded machine can only make it late,
    # so the upper bound is wide (the precise figures are bench/serve.py's).
    wanted = _recorded_text_offsets(recorded[0] / "openai.yaml")
    assert len(wanted) == len(seen)
    for (got, _), want in zip(seen, wanted, strict=True):
        assert want - 0.02 <= got <= 2 * want + 0.5, (got, want)
    finish = run_chat("anthropic", f"{as_anthropic.url}/c/openai.yaml", stream=True, is_async=False)
    assert finish.finish_reason == "end_turn"  # OpenAI's "stop", mapped


def test_a_whole_call_is_answered_whole_from_the_recording(as_anthropic: ThreadServer) -> None:
    seen = run_chat("anthropic", f"{as_anthropic.url}/c/openai.yaml", stream=False, is_async=False)
    assert seen.text == "Hello from the local test server." and seen.finish_reason == "end_turn"


def test_without_as_api_the_other_providers_call_misses(recorded: tuple[Path, ChatRun]) -> None:
    with (
        ThreadServer(recorded[0]) as server,
        pytest.raises(anthropic.NotFoundError, match=r"No interaction in openai\.yaml matches"),
    ):
        run_chat("anthropic", f"{server.url}/c/openai.yaml", stream=True, is_async=False)


def test_a_session_opened_as_another_api_reports_the_files_interactions(
    recorded: tuple[Path, ChatRun],
) -> None:
    with ThreadServer(recorded[0]) as server:
        opened = raw_request(
            server.url + "/__replay/sessions",
            body={"cassette": "openai.yaml", "as_api": ["anthropic-messages"]},
        )
        assert opened.status == 201, opened.body
        base = opened.json()["base_url"]
        seen = run_chat("anthropic", base, stream=True, is_async=False)
        assert seen.text == "Hello from the local test server."
        report = raw_request(f"{server.url}/__replay/sessions/{opened.json()['id']}", method="GET").json()
        # The stream recording (#0) was played; the whole one (#1) was not: counts are the file's.
        assert report["as_api"] == ["anthropic-messages"]
        assert report["play_counts"] == [1, 0] and report["played"] == [0]


def test_faults_compose_with_translation(recorded: tuple[Path, ChatRun]) -> None:
    overloaded = SessionSettings(
        as_api=("anthropic-messages",), faults=(_fault({"type": "HTTPError", "status": 529}),)
    )
    with ThreadServer(recorded[0], settings=overloaded) as server:
        with pytest.raises(anthropic.APIStatusError) as caught:
            run_chat("anthropic", f"{server.url}/c/openai.yaml", stream=True, is_async=False)
        assert caught.value.status_code == 529
        assert caught.value.body["error"]["type"] == "overloaded_error"  # type: ignore[index]


def _fault(spec: dict[str, object]) -> object:
    from replay.serve.fault_spec import parse_faults

    return parse_faults([spec])[0]


def test_an_unknown_api_name_is_refused_with_the_known_ones(recorded: tuple[Path, ChatRun]) -> None:
    with ThreadServer(recorded[0]) as server:
        wire = raw_request(
            server.url + "/__replay/sessions", body={"cassette": "openai.yaml", "as_api": "anthropic"}
        )
        assert wire.status == 400
        message = wire.json()["error"]["message"]
        assert "unknown API 'anthropic'" in message and "anthropic-messages" in message
    done = subprocess.run(
        [sys.executable, "-m", "replay.cli", "serve", str(recorded[0]), "--as-api", "anthropic"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2 and done.stdout == ""
    assert "--as-api: invalid choice: 'anthropic'" in done.stderr and "anthropic-messages" in done.stderr
