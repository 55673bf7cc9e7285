"""``llm-replay serve``: replay over real sockets, with the recorded chunk boundaries and timing,
faults with their network meaning, directory mode and the control API."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cassette_factory import BODY, stream_interaction, write_cassette
from serve_helpers import ThreadServer, Wire, raw_request

from replay.modes import Timing
from replay.serve import SessionSettings
from replay.serve.fault_spec import parse_faults

TIMES = [0.05, 0.10, 0.15, 0.20, 0.25]
PATH = "/v1/chat/completions"
LATE = 0.5  # seconds a chunk may be late on a machine busy with other jobs


@pytest.fixture
def cassette(tmp_path: Path) -> Path:
    return write_cassette(tmp_path / "chat.yaml", stream_interaction(TIMES))


def recorded_chunks(path: Path) -> list[bytes]:
    import replay

    return [c.data for c in replay.load_cassette(path).interactions[0].response.chunks]


def test_chunks_keep_their_boundaries_and_offsets(cassette: Path) -> None:
    with ThreadServer(cassette) as server:
        wire = raw_request(server.url + PATH, body=BODY)
    assert wire.status == 200 and wire.end == "complete"
    assert wire.headers["transfer-encoding"] == "chunked"
    assert wire.chunks == recorded_chunks(cassette)  # one HTTP chunk per recorded chunk
    for got, want in zip(wire.times, TIMES, strict=True):
        # Never early (the server's clock starts after the client sent). The upper bound leaves
        # room for a loaded CI machine; bench/serve.py measures the precision.
        assert want - 0.002 <= got <= want + LATE


def test_speed_divides_offsets_and_instant_does_not_wait(tmp_path: Path) -> None:
    slow = [1.0, 2.0, 3.0, 4.0, 5.0]
    cassette = write_cassette(tmp_path / "slow.yaml", stream_interaction(slow))
    with ThreadServer(cassette, settings=SessionSettings(speed=5.0)) as server:
        fast = raw_request(server.url + PATH, body=BODY)
    for got, want in zip(fast.times, slow, strict=True):
        assert want / 5 - 0.002 <= got <= want / 5 + LATE
    with ThreadServer(cassette, settings=SessionSettings(timing=Timing.INSTANT)) as server:
        instant = raw_request(server.url + PATH, body=BODY)
    assert instant.chunks == recorded_chunks(cassette)
    assert instant.times[-1] < slow[0] - LATE


def _faulted(cassette: Path, faults: list[dict[str, object]], timeout: float = 10.0) -> tuple[Wire, Wire]:
    settings = SessionSettings(faults=tuple(parse_faults(faults)))
    with ThreadServer(cassette, settings=settings) as server:
        wire = raw_request(server.url + PATH, body=BODY, timeout=timeout)
        # The server survives whatever the fault did to that connection.
        after = raw_request(server.url + PATH, body=BODY)
    return wire, after


def test_disconnect_closes_the_socket_mid_body(cassette: Path) -> None:
    wire, _ = _faulted(cassette, [{"type": "Disconnect", "after_events": 2}])
    assert wire.end == "closed"  # FIN with the chunked body unterminated
    assert wire.chunks == recorded_chunks(cassette)[:2]


def test_reset_is_an_rst(cassette: Path) -> None:
    wire, _ = _faulted(cassette, [{"type": "Disconnect", "after_events": 3, "reset": True}])
    assert wire.end == "reset"
    assert wire.chunks == recorded_chunks(cassette)[:3]


def test_http_error_is_a_real_status_with_a_provider_body(cassette: Path) -> None:
    wire, after = _faulted(cassette, [{"type": "HTTPError", "status": 429, "retry_after": 2, "times": 1}])
    assert wire.status == 429 and wire.end == "complete"
    assert wire.headers["retry-after"] == "2"
    assert wire.json()["error"]["code"] == "rate_limit_exceeded"  # OpenAI's own 429 body
    # HTTPError does not use up the recording: the next request replays it.
    assert after.status == 200 and after.chunks == recorded_chunks(cassette)


def test_stall_is_silence(cassette: Path) -> None:
    wire, _ = _faulted(cassette, [{"type": "Stall", "after_events": 1, "seconds": 0.3}])
    assert wire.end == "complete" and wire.chunks == recorded_chunks(cassette)
    gap = wire.times[1] - wire.times[0]
    assert 0.3 + 0.05 - LATE <= gap <= 0.3 + 0.05 + LATE
    assert wire.times[1] >= TIMES[1] + 0.3 - 0.002  # the rest comes 0.3 s late, never early


def test_endless_stall_lasts_until_the_client_gives_up(cassette: Path) -> None:
    wire, after = _faulted(cassette, [{"type": "Stall", "after_events": 1, "times": 1}], timeout=0.5)
    assert wire.end == "timeout" and len(wire.chunks) == 1
    assert after.end == "complete"


def test_a_miss_is_a_404_naming_the_closest_request(cassette: Path) -> None:
    with ThreadServer(cassette) as server:
        wire = raw_request(server.url + PATH, body={**BODY, "model": "gpt-5"})
    assert wire.status == 404
    message = wire.json()["error"]["message"]
    assert "body.model: 'gpt-5' != recorded 'gpt-4o-mini'" in message


def test_matching_ignores_the_recorded_host(tmp_path: Path) -> None:
    path = write_cassette(
        tmp_path / "c.yaml", stream_interaction(TIMES, url="https://example.invalid:8443" + PATH)
    )
    with ThreadServer(path) as server:
        assert raw_request(server.url + PATH, body=BODY).status == 200


# -- directory mode and the control API ----------------------------------------------------


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    root = tmp_path / "cassettes"
    write_cassette(root / "a.yaml", stream_interaction(TIMES))
    write_cassette(root / "sub" / "b.yaml", stream_interaction(TIMES), stream_interaction(TIMES))
    return root


def test_path_prefix_picks_the_cassette(folder: Path) -> None:
    with ThreadServer(folder) as server:
        assert raw_request(f"{server.url}/c/sub/b.yaml{PATH}", body=BODY).status == 200
        assert raw_request(f"{server.url}/c/a.yaml{PATH}", body=BODY).status == 200
        missing = raw_request(f"{server.url}/c/nope.yaml{PATH}", body=BODY)
        bare = raw_request(server.url + PATH, body=BODY)
    assert missing.status == 404 and "nope.yaml does not exist" in missing.json()["error"]["message"]
    assert bare.status == 404 and "/c/<cassette.yaml>" in bare.json()["error"]["message"]


def control(
    server: ThreadServer, method: str, path: str, body: object = None, token: str | None = None
) -> tuple[int, object]:
    headers = [("Authorization", f"Bearer {token}")] if token else []
    wire = raw_request(server.url + "/__replay" + path, method=method, body=body, headers=headers)
    return wire.status, wire.json()


def test_sessions_are_isolated_and_report_what_was_played(folder: Path) -> None:
    with ThreadServer(folder) as server:
        status, one = control(server, "POST", "/sessions", {"cassette": "sub/b.yaml"})
        assert status == 201
        _, two = control(
            server,
            "POST",
            "/sessions",
            {"cassette": "sub/b.yaml", "faults": [{"type": "HTTPError", "status": 503}]},
        )
        assert isinstance(one, dict) and isinstance(two, dict)
        assert raw_request(one["base_url"] + PATH, body=BODY).status == 200
        assert raw_request(two["base_url"] + PATH, body=BODY).status == 503
        _, report = control(server, "GET", f"/sessions/{one['id']}")
        assert isinstance(report, dict)
        assert report["played"] == [0] and [u["index"] for u in report["unused"]] == [1]
        status, added = control(
            server, "POST", f"/sessions/{one['id']}/faults", [{"type": "HTTPError", "status": 429}]
        )
        assert (
            status == 200
            and isinstance(added, dict)
            and added["faults"] == ["HTTPError(429): no replayed request selected it"]
        )
        assert raw_request(one["base_url"] + PATH, body=BODY).status == 429  # from now on
        status, final = control(server, "DELETE", f"/sessions/{two['id']}")
        assert status == 200 and isinstance(final, dict)
        assert final["faults"] == ["HTTPError(503): applied to 1 response(s)"]
        assert raw_request(two["base_url"] + PATH, body=BODY).status == 404  # closed


def test_control_api_token_and_bad_requests(folder: Path) -> None:
    with ThreadServer(folder, token="s3cret") as server:
        status, body = control(server, "POST", "/sessions", {"cassette": "a.yaml"})
        assert status == 401 and "token" in json.dumps(body)
        status, body = control(
            server, "POST", "/sessions", {"cassette": "a.yaml", "mode": "x"}, token="s3cret"
        )
        assert status == 400 and "mode: Extra inputs are not permitted" in json.dumps(body)
        status, body = control(
            server,
            "POST",
            "/sessions",
            {"cassette": "a.yaml", "faults": [{"type": "Disconect"}]},
            token="s3cret",
        )
        assert status == 400 and "Did you mean 'Disconnect'" in json.dumps(body)
        wire = raw_request(
            server.url + "/__replay/sessions", body=b"{not json", headers=[("Authorization", "Bearer s3cret")]
        )
        assert wire.status == 400 and "not JSON" in wire.json()["error"]["message"]
        assert control(server, "GET", "/sessions/nope", token="s3cret")[0] == 404
        # The replayed API itself needs no token.
        assert raw_request(f"{server.url}/c/a.yaml{PATH}", body=BODY).status == 200


@pytest.mark.parametrize(
    ("fault", "check"),
    [
        ({"type": "Truncate", "after_events": 2}, "two"),
        ({"type": "Rechunk", "size": 7}, "rechunked"),
        ({"type": "Latency", "ttfb": 0.3}, "late"),
        ({"type": "MalformedEvent", "at_event": 1}, "malformed"),
    ],
    ids=["truncate", "rechunk", "latency", "malformed"],
)
def test_every_kind_of_fault_reaches_the_wire(cassette: Path, fault: dict[str, object], check: str) -> None:
    wire, _ = _faulted(cassette, [fault])
    recorded = recorded_chunks(cassette)
    assert wire.end == "complete"
    chunks: list[bytes] = wire.chunks
    if check == "two":  # a clean end after two events: terminating chunk, no error
        assert chunks == recorded[:2]
    elif check == "rechunked":  # the framing of the fault is the framing on the wire
        assert b"".join(chunks) == b"".join(recorded) and max(map(len, chunks)) == 7
    elif check == "late":
        assert wire.times[0] >= 0.3 - 0.002 and chunks == recorded
    else:
        assert chunks[1] != recorded[1] and chunks[0] == recorded[0]
