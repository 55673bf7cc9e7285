"""Every streaming format, recorded from the local server through the provider's real SDK,
replays byte-exact (raw client) and identically (SDK); each fault applies per framing and the
SDK surfaces it as it does live."""

from __future__ import annotations

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


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, Seen, str]]:
    """Each case recorded once from the live local server: (cassette, what the SDK saw, base)."""
    folder = tmp_path_factory.mktemp("formats")
    out: dict[str, tuple[Path, Seen, str]] = {}
    with LLMServer(Script(head_delay=0.02, first_delay=0.01, gaps=[0.01, 0.02], gzip_json=False)) as server:
        for case in CASES:
            path = folder / f"{case.name}.yaml"
            with replay.use_cassette(path, record_mode="once"):
                seen = run_case(case, server.base_url)
            out[case.name] = (path, seen, server.base_url)
    return out


def _case(name: str) -> Case:
    return next(c for c in CASES if c.name == name)


@pytest.mark.parametrize("name", IDS)
def test_recorded_live_and_replayed_by_the_sdk(
    name: str, recorded: dict[str, tuple[Path, Seen, str]], no_network: Any
) -> None:
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
def test_replay_is_byte_exact_through_a_raw_client(
    name: str, recorded: dict[str, tuple[Path, Seen, str]]
) -> None:
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
def test_disconnect_surfaces_as_a_live_drop_does(
    name: str, recorded: dict[str, tuple[Path, Seen, str]]
) -> None:
    case = _case(name)
    path, _, base = recorded[name]
    with replay.use_cassette(path, faults=[Disconnect(after_events=2)]):
        seen = run_case(case, base)
    live = _live_disconnect(case)
    assert seen.error is not None and seen.error == live.error


@pytest.mark.parametrize("name", IDS)
def test_stall_past_the_read_timeout_times_out(
    name: str, recorded: dict[str, tuple[Path, Seen, str]]
) -> None:
    case = _case(name)
    path, _, base = recorded[name]
    with replay.use_cassette(path, faults=[Stall(after_events=2, seconds=60)]):
        seen = run_case(case, base, timeout=5.0)
    expected = {
        "gemini-sse": "httpx2.ReadTimeout",
        "bedrock-converse-stream": "urllib3.exceptions.ReadTimeoutError",  # as urllib3 raises it
        "bedrock-invoke-stream": "urllib3.exceptions.ReadTimeoutError",
        "openai-responses": "openai.APITimeoutError",
    }
    assert seen.error == expected.get(name, "httpx.ReadTimeout"), seen


@pytest.mark.parametrize("name", IDS)
def test_truncate_delivers_n_events_then_ends_cleanly(
    name: str, recorded: dict[str, tuple[Path, Seen, str]]
) -> None:
    case = _case(name)
    path, live, base = recorded[name]
    n = 3
    with replay.use_cassette(path, faults=[Truncate(after_events=n)]):
        seen = run_case(case, base)
    assert seen.error is None and seen.items == n, seen
    assert seen.finish is None and live.text.startswith(seen.text) and seen.text != live.text


@pytest.mark.parametrize("name", IDS)
def test_rechunk_to_single_bytes_changes_nothing_the_sdk_sees(
    name: str, recorded: dict[str, tuple[Path, Seen, str]]
) -> None:
    case = _case(name)
    path, live, base = recorded[name]
    with replay.use_cassette(path, faults=[Rechunk(1)]):
        assert run_case(case, base) == live


FINISH = {
    "ollama-chat": "length",
    "ollama-generate": "length",
    "gemini-sse": "MAX_TOKENS",
    "gemini-json-array": "MAX_TOKENS",
    "bedrock-converse-stream": "max_tokens",
    "bedrock-invoke-stream": "max_tokens",
    "openai-responses": "max_output_tokens",
}


@pytest.mark.parametrize("name", IDS)
def test_finish_reason_is_written_in_each_apis_field(
    name: str, recorded: dict[str, tuple[Path, Seen, str]]
) -> None:
    case = _case(name)
    path, live, base = recorded[name]
    with replay.use_cassette(path, faults=[FinishReason("length")]):
        seen = run_case(case, base)
    assert seen.error is None and seen.text == live.text and seen.usage == live.usage
    assert seen.finish == FINISH[name], seen
    if name == "openai-responses":
        assert seen.events[-1] == "response.incomplete"


ERRORS = {
    "ollama-chat": "ollama._types.ResponseError",
    "ollama-generate": "ollama._types.ResponseError",
    "gemini-sse": "google.genai.errors.ServerError",
    "gemini-json-array": "gemini-error-element",
    "bedrock-converse-stream": "botocore.exceptions.EventStreamError",
    "bedrock-invoke-stream": "botocore.exceptions.EventStreamError",
    "openai-responses": "responses-error-event",
}


@pytest.mark.parametrize("name", IDS)
def test_error_event_is_the_apis_own_mid_stream_error(
    name: str, recorded: dict[str, tuple[Path, Seen, str]]
) -> None:
    case = _case(name)
    path, _, base = recorded[name]
    with replay.use_cassette(path, faults=[ErrorEvent(at_event=2)]):
        seen = run_case(case, base)
    assert seen.error == ERRORS[name], seen


@pytest.mark.parametrize("name", IDS)
def test_malformed_event_breaks_the_sdks_parsing(
    name: str, recorded: dict[str, tuple[Path, Seen, str]]
) -> None:
    case = _case(name)
    path, _, base = recorded[name]
    with replay.use_cassette(path, faults=[MalformedEvent(at_event=2)]):
        seen = run_case(case, base)
    assert seen.error == MALFORMED[name], seen


MALFORMED = {  # what each SDK (or the app reading it) raises on a payload cut in half
    "ollama-chat": "json.decoder.JSONDecodeError",
    "ollama-generate": "json.decoder.JSONDecodeError",
    "gemini-sse": "google.genai.errors.UnknownApiResponseError",
    "gemini-json-array": "json.decoder.JSONDecodeError",
    # botocore hands the event over without the fields it could not parse.
    "bedrock-converse-stream": "builtins.KeyError",
    "bedrock-invoke-stream": "builtins.KeyError",
    "openai-responses": "json.decoder.JSONDecodeError",
}


API = {
    "ollama-chat": ("ollama", "stop"),
    "ollama-generate": ("ollama", "stop"),
    "gemini-sse": ("gemini", "STOP"),
    "gemini-json-array": ("gemini", "STOP"),
    "bedrock-converse-stream": ("bedrock", "end_turn"),
    "bedrock-invoke-stream": ("anthropic", "end_turn"),
    "openai-responses": ("responses", "completed"),
}


@pytest.mark.parametrize("name", IDS)
def test_assembled_from_each_format(name: str, recorded: dict[str, tuple[Path, Seen, str]]) -> None:
    path, live, _ = recorded[name]
    result = replay.load_cassette(path).interactions[0].response.assembled()
    assert (result.api, result.finish_reason) == API[name]
    assert result.text == live.text == "".join(TOKENS)
    assert (result.input_tokens, result.output_tokens) == live.usage


EVENTS = {  # events each recording holds, in its framing
    "ollama-chat": 8,
    "ollama-generate": 8,
    "gemini-sse": 7,
    "gemini-json-array": 7,
    "bedrock-converse-stream": 11,
    "bedrock-invoke-stream": 12,
    "openai-responses": 15,
}


@pytest.mark.parametrize("name", IDS)
def test_inspect_and_plot_show_the_events_of_every_framing(
    name: str, recorded: dict[str, tuple[Path, Seen, str]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import json
    import xml.etree.ElementTree as ET

    from replay.cli import main as cli

    case = _case(name)
    path, live, _ = recorded[name]
    assert cli(["inspect", str(path), "--json"]) == 0
    (row,) = json.loads(capsys.readouterr().out)[str(path)]
    assert (row["framing"], row["events"]) == (case.framing, EVENTS[name])
    assert row["finish_reasons"] == [API[name][1]]
    assert (row["prompt_tokens"], row["completion_tokens"]) == live.usage
    assert cli(["inspect", str(path)]) == 0
    assert f"{EVENTS[name]} {case.framing}" in capsys.readouterr().out
    svg = tmp_path / "plot.svg"
    assert cli(["plot", str(path), "-o", str(svg)]) == 0
    assert f"{EVENTS[name]} events" in capsys.readouterr().out
    ns = "{http://www.w3.org/2000/svg}"
    marks = {g.get("id"): len(g.findall(f".//{ns}use")) for g in ET.parse(svg).iter(f"{ns}g")}
    assert marks["events-0"] + marks["finish-0"] == EVENTS[name] and marks["finish-0"] == 1
    assert f"{EVENTS[name]} {case.framing} events" in svg.read_text()


@pytest.mark.parametrize("name", IDS)
def test_diff_compares_events_in_the_framing(
    name: str, recorded: dict[str, tuple[Path, Seen, str]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
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
    assert "response.events" in out and f"{EVENTS[name]} events" in out, out


API_NAMES = {
    "ollama": "ollama-chat",
    "gemini": "gemini",
    "bedrock": "bedrock-converse",
    "anthropic": "anthropic-messages",
    "responses": "openai-responses",
}


@pytest.mark.parametrize("name", IDS)
def test_edge_cases_fan_out_per_framing(name: str, recorded: dict[str, tuple[Path, Seen, str]]) -> None:
    """Every variant of the recording's API applies to it, in its framing, and its SDK either
    answers differently or raises: none changes nothing, none hangs."""
    path, live, base = recorded[name]
    response = replay.load_cassette(path).interactions[0].response
    cases = replay.edge_cases_for(response)
    assert cases is replay.EDGE_CASES_BY_API[API_NAMES[API[name][0]]]
    outcomes = {}
    for variant in cases:
        with replay.use_cassette(path, faults=list(variant.faults)):  # FaultNotApplied if unused
            outcomes[variant.id] = run_case(_case(name), base, timeout=5.0)
    for variant_id, seen in outcomes.items():
        if variant_id.startswith("rechunk"):
            assert seen == live
        else:
            assert seen != live, variant_id
