"""Every streaming format, recorded from the local server through the provider's real SDK,
replays byte-exact (raw client) and identically (SDK); each fault applies per framing and the
SDK surfaces it as it does live."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from format_clients import CASES, Case, Seen, run_case
from llm_server import LLMServer, Script

import replay
from replay.faults import Disconnect, ErrorEvent, FinishReason, MalformedEvent, Rechunk, Stall, Truncate

IDS = [c.name for c in CASES]
TOKENS = ["Hello", " from", " the", " local", " test", " server", "."]
Recorded = dict[str, tuple[Path, Seen, str]]  # case name -> (cassette, what the SDK saw, base)


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Recorded:
    """Each case recorded once from the live local server: (cassette, what the SDK saw, base)."""
    folder = tmp_path_factory.mktemp("formats")
    out: Recorded = {}
    with LLMServer(Script(head_delay=0.02, first_delay=0.01, gaps=[0.01, 0.02], gzip_json=False)) as server:
        for case in CASES:
            path = folder / f"{case.name}.yaml"
            with replay.use_cassette(path, record_mode="once"):
                seen = run_case(case, server.base_url)
            out[case.name] = (path, seen, server.base_url)
    return out


@dataclass(frozen=True)
class Expected:
    """What each format's recording holds and what its SDK shows under each fault."""

    finish: str  # FinishReason("length"), written in the API's own field
    error_event: str  # ErrorEvent(at_event=2): the API's own mid-stream error
    # MalformedEvent(at_event=2): what the SDK (or the app reading it) raises on a payload cut in
    # half; botocore hands the event over without the fields it could not parse (a KeyError).
    malformed: str
    api: tuple[str, str]  # the assembled result's (api, finish_reason)
    events: int  # events the recording holds, in its framing


_OLLAMA = "ollama._types.ResponseError"
_GENAI = "google.genai.errors."
_BOTO = "botocore.exceptions.EventStreamError"
_JSON = "json.decoder.JSONDecodeError"
_KEY = "builtins.KeyError"
EXPECTED = {  # name: Expected(finish, error_event, malformed, api, events)
    "ollama-chat": Expected("length", _OLLAMA, _JSON, ("ollama", "stop"), 8),
    "ollama-generate": Expected("length", _OLLAMA, _JSON, ("ollama", "stop"), 8),
    "gemini-sse": Expected(
        "MAX_TOKENS", _GENAI + "ServerError", _GENAI + "UnknownApiResponseError", ("gemini", "STOP"), 7
    ),
    "gemini-json-array": Expected("MAX_TOKENS", "gemini-error-element", _JSON, ("gemini", "STOP"), 7),
    "bedrock-converse-stream": Expected("max_tokens", _BOTO, _KEY, ("bedrock", "end_turn"), 11),
    "bedrock-invoke-stream": Expected("max_tokens", _BOTO, _KEY, ("anthropic", "end_turn"), 12),
    "openai-responses": Expected(
        "max_output_tokens", "responses-error-event", _JSON, ("responses", "completed"), 15
    ),
}


def _case(name: str) -> Case:
    return next(c for c in CASES if c.name == name)


def _replayed(recorded: Recorded, name: str, *faults: Any, timeout: float = 30.0) -> Seen:
    """What the case's SDK sees replaying its recording with these faults."""
    path, _, base = recorded[name]
    with replay.use_cassette(path, faults=list(faults)):
        return run_case(_case(name), base, timeout=timeout)


@pytest.mark.parametrize("name", IDS)
def test_recorded_live_and_replayed_by_the_sdk(name: str, recorded: Recorded, no_network: Any) -> None:
    case = _case(name)
    path, live, base = recorded[name]
    assert live.error is None and live.text == "".join(TOKENS), live
    response = replay.load_cassette(path).interactions[0].response
    assert response.framing == case.framing
    events = response.events()
    assert len(events) >= len(TOKENS) and all(e.framing == case.framing for e in events)
    assert [e.t for e in events] == sorted(e.t for e in events if e.t is not None)
    with replay.use_cassette(path):
        again = run_case(case, base)
    assert again == live
    assert no_network.attempts == []


@pytest.mark.parametrize("name", IDS)
def test_replay_is_byte_exact_through_a_raw_client(name: str, recorded: Recorded) -> None:
    path, _, _ = recorded[name]
    recording = replay.load_cassette(path).interactions[0]
    sent, response = recording.request, recording.response
    with replay.use_cassette(path), httpx.Client() as client:
        r = client.send(client.build_request(sent.method, sent.url, content=sent.body), stream=True)
        try:
            reads = list(r.iter_raw())
        finally:
            r.close()
    assert r.headers["content-type"] == response.header("content-type")
    assert reads == [c.data for c in response.chunks]  # read for read, byte for byte


def _live_disconnect(case: Case) -> Seen:
    with LLMServer(Script(head_delay=0.0, first_delay=0.0, gaps=[0.0], disconnect_after=2)) as server:
        return run_case(case, server.base_url)


@pytest.mark.parametrize("name", IDS)
def test_disconnect_surfaces_as_a_live_drop_does(name: str, recorded: Recorded) -> None:
    seen = _replayed(recorded, name, Disconnect(after_events=2))
    live = _live_disconnect(_case(name))
    assert seen.error is not None and seen.error == live.error


@pytest.mark.parametrize("name", IDS)
def test_stall_past_the_read_timeout_times_out(name: str, recorded: Recorded) -> None:
    seen = _replayed(recorded, name, Stall(after_events=2, seconds=60), timeout=5.0)
    expected = {
        "gemini-sse": "httpx2.ReadTimeout",
        "bedrock-converse-stream": "urllib3.exceptions.ReadTimeoutError",  # as urllib3 raises it
        "bedrock-invoke-stream": "urllib3.exceptions.ReadTimeoutError",
        "openai-responses": "openai.APITimeoutError",
    }
    assert seen.error == expected.get(name, "httpx.ReadTimeout"), seen


@pytest.mark.parametrize("name", IDS)
def test_truncate_delivers_n_events_then_ends_cleanly(name: str, recorded: Recorded) -> None:
    live = recorded[name][1]
    n = 3
    seen = _replayed(recorded, name, Truncate(after_events=n))
    assert seen.error is None and seen.items == n, seen
    assert seen.finish is None and live.text.startswith(seen.text) and seen.text != live.text


@pytest.mark.parametrize("name", IDS)
def test_rechunk_to_single_bytes_changes_nothing_the_sdk_sees(name: str, recorded: Recorded) -> None:
    assert _replayed(recorded, name, Rechunk(1)) == recorded[name][1]


@pytest.mark.parametrize("name", IDS)
def test_finish_reason_is_written_in_each_apis_field(name: str, recorded: Recorded) -> None:
    live = recorded[name][1]
    seen = _replayed(recorded, name, FinishReason("length"))
    assert seen.error is None and seen.text == live.text and seen.usage == live.usage
    assert seen.finish == EXPECTED[name].finish, seen
    if name == "openai-responses":
        assert seen.events[-1] == "response.incomplete"


@pytest.mark.parametrize("name", IDS)
def test_error_event_is_the_apis_own_mid_stream_error(name: str, recorded: Recorded) -> None:
    seen = _replayed(recorded, name, ErrorEvent(at_event=2))
    assert seen.error == EXPECTED[name].error_event, seen


@pytest.mark.parametrize("name", IDS)
def test_malformed_event_breaks_the_sdks_parsing(name: str, recorded: Recorded) -> None:
    seen = _replayed(recorded, name, MalformedEvent(at_event=2))
    assert seen.error == EXPECTED[name].malformed, seen


@pytest.mark.parametrize("name", IDS)
def test_assembled_from_each_format(name: str, recorded: Recorded) -> None:
    path, live, _ = recorded[name]
    result = replay.load_cassette(path).interactions[0].response.assembled()
    assert (result.api, result.finish_reason) == EXPECTED[name].api
    assert result.text == live.text == "".join(TOKENS)
    assert (result.input_tokens, result.output_tokens) == live.usage


@pytest.mark.parametrize("name", IDS)
def test_inspect_and_plot_show_the_events_of_every_framing(
    name: str, recorded: Recorded, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import json
    import xml.etree.ElementTree as ET

    from replay.cli import main as cli

    case = _case(name)
    path, live, _ = recorded[name]
    assert cli(["inspect", str(path), "--json"]) == 0
    (row,) = json.loads(capsys.readouterr().out)[str(path)]
    assert (row["framing"], row["events"]) == (case.framing, EXPECTED[name].events)
    assert row["finish_reasons"] == [EXPECTED[name].api[1]]
    assert (row["prompt_tokens"], row["completion_tokens"]) == live.usage
    assert cli(["inspect", str(path)]) == 0
    assert f"{EXPECTED[name].events} {case.framing}" in capsys.readouterr().out
    svg = tmp_path / "plot.svg"
    assert cli(["plot", str(path), "-o", str(svg)]) == 0
    assert f"{EXPECTED[name].events} events" in capsys.readouterr().out
    ns = "{http://www.w3.org/2000/svg}"
    marks = {g.get("id"): len(g.findall(f".//{ns}use")) for g in ET.parse(svg).iter(f"{ns}g")}
    assert marks["events-0"] + marks["finish-0"] == EXPECTED[name].events and marks["finish-0"] == 1
    assert f"{EXPECTED[name].events} {case.framing} events" in svg.read_text()


@pytest.mark.parametrize("name", IDS)
def test_diff_compares_events_in_the_framing(
    name: str, recorded: Recorded, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from replay.cli import main as cli

    path, _, _ = recorded[name]
    other = tmp_path / "other.yaml"
    # The same call recorded again, with a shorter answer from the server.
    script = Script(tokens=TOKENS[:-1], head_delay=0.0, first_delay=0.0, gaps=[0.0])
    with LLMServer(script) as server, replay.use_cassette(other, record_mode="once"):
        run_case(_case(name), server.base_url)
    cli(["diff", str(path), str(other)])
    out = capsys.readouterr().out
    assert "response.events" in out and f"{EXPECTED[name].events} events" in out, out


API_NAMES = {
    "ollama": "ollama-chat",
    "gemini": "gemini",
    "bedrock": "bedrock-converse",
    "anthropic": "anthropic-messages",
    "responses": "openai-responses",
}


@pytest.mark.parametrize("name", IDS)
def test_edge_cases_fan_out_per_framing(name: str, recorded: Recorded) -> None:
    """Every variant of the recording's API applies to it, in its framing, and its SDK either
    answers differently or raises: none changes nothing, none hangs."""
    path, live, _ = recorded[name]
    response = replay.load_cassette(path).interactions[0].response
    cases = replay.edge_cases_for(response)
    assert cases is replay.EDGE_CASES_BY_API[API_NAMES[EXPECTED[name].api[0]]]
    outcomes = {}
    for variant in cases:  # FaultNotApplied if one is unused
        outcomes[variant.id] = _replayed(recorded, name, *variant.faults, timeout=5.0)
    for variant_id, seen in outcomes.items():
        if variant_id.startswith("rechunk"):
            assert seen == live
        else:
            assert seen != live, variant_id
