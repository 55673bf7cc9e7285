"""Request matching: normalisation, recorded order, repeats, and the miss explanation."""

from __future__ import annotations

import json
from pathlib import Path

import httpx2
import openai
import pytest
from cassette_factory import URL, stream_interaction, write_cassette

import replay
from replay import Interaction, Request, Response
from replay.engine.matching import Matcher, normalize_match_on


def _interaction(
    url: str = URL, body: object = None, method: str = "POST", status: int = 200, tag: str = ""
) -> Interaction:
    raw = json.dumps(body).encode() if body is not None else b""
    return Interaction(
        request=Request(method=method, url=url, body=raw),
        response=Response(status=status, headers=[("x-tag", tag)]),
    )


def _req(url: str = URL, body: object = None, method: str = "POST") -> Request:
    return Request(method=method, url=url, body=json.dumps(body).encode() if body is not None else b"")


def test_json_bodies_match_as_data() -> None:
    matcher = Matcher([_interaction(body={"model": "a", "messages": [{"role": "user", "content": "x"}]})])
    live = Request(
        method="post",
        url=URL,
        body=b'{ "messages" : [ {"content":"x", "role":"user"} ],\n "model":"a" }',
    )
    found = matcher.find(live)
    assert found is not None and found.index == 0


def test_query_order_host_case_and_default_port_do_not_matter() -> None:
    matcher = Matcher([_interaction(url="https://API.example.com:443/v1/x?b=2&a=1", method="GET")])
    assert matcher.find(_req(url="https://api.example.com/v1/x?a=1&b=2", method="GET")) is not None


def test_different_values_do_not_match() -> None:
    matcher = Matcher([_interaction(body={"model": "a"})])
    assert matcher.find(_req(body={"model": "b"})) is None
    assert matcher.find(_req(body={"model": "a"}, method="PUT")) is None
    assert matcher.find(_req(url=URL + "?x=1", body={"model": "a"})) is None
    assert matcher.find(_req(body={"model": "a"})) is not None


def test_identical_requests_replay_in_recorded_order_then_run_out() -> None:
    recorded = [_interaction(body={"q": 1}, tag=str(i)) for i in range(3)]
    recorded.insert(1, _interaction(body={"q": 2}, tag="other"))
    matcher = Matcher(recorded)
    tags = [matcher.find(_req(body={"q": 1})) for _ in range(3)]
    assert [m.interaction.response.header("x-tag") for m in tags if m] == ["0", "1", "2"]
    assert matcher.find(_req(body={"q": 1})) is None
    assert matcher.play_counts == [1, 0, 1, 1]
    assert "already played" in matcher.explain_miss(_req(body={"q": 1}))


def test_allow_playback_repeats_cycles_through_recordings() -> None:
    matcher = Matcher([_interaction(tag="a"), _interaction(tag="b")], allow_playback_repeats=True)
    tags = []
    for _ in range(5):
        found = matcher.find(_req())
        assert found is not None
        tags.append(found.interaction.response.header("x-tag"))
    assert tags == ["a", "b", "a", "b", "a"]


def test_lookup_cost_does_not_grow_with_the_cassette() -> None:
    interactions = [_interaction(body={"n": i}) for i in range(20_000)]
    matcher = Matcher(interactions)
    # Every request is found at its own position, in any order; a linear scan would be
    # 20,000 x 20,000 comparisons and take minutes.
    for i in reversed(range(0, 20_000, 7)):
        found = matcher.find(_req(body={"n": i}))
        assert found is not None and found.index == i


def test_per_interaction_match_on_overrides_the_default() -> None:
    loose = _interaction(body={"anything": True}, tag="loose")
    loose = loose.model_copy(update={"match_on": ("method", "path")})
    strict = _interaction(body={"model": "a"}, tag="strict")
    matcher = Matcher([strict, loose])
    found = matcher.find(_req(body={"model": "zzz"}))
    assert found is not None and found.interaction.response.header("x-tag") == "loose"
    found = matcher.find(_req(body={"model": "a"}))
    assert found is not None and found.interaction.response.header("x-tag") == "strict"


def test_match_on_names_are_validated() -> None:
    assert normalize_match_on(["uri", "method"]) == ("url", "method")
    with pytest.raises(ValueError, match="Unknown matcher 'bodyy'"):
        normalize_match_on(["method", "bodyy"])
    with pytest.raises(ValueError, match="match_on is empty"):
        normalize_match_on([])


def test_miss_names_the_closest_request_and_the_differences() -> None:
    matcher = Matcher(
        [
            _interaction(url="https://other.example.com/v1/embeddings", body={"model": "e"}),
            _interaction(body={"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}),
        ]
    )
    text = matcher.explain_miss(
        _req(body={"model": "gpt-4o", "messages": [{"role": "user", "content": "yo"}]})
    )
    assert "Closest recorded request: #1 POST https://api.openai.com/v1/chat/completions" in text
    assert "body.model: 'gpt-4o' != recorded 'gpt-4o-mini'" in text
    assert "body.messages[0].content: 'yo' != recorded 'hi'" in text


def test_unmatched_request_through_the_sdk_fails_loudly_without_retrying(tmp_path: Path) -> None:
    path = write_cassette(tmp_path / "chat.yaml", stream_interaction([0.1, 0.2, 0.3]))
    client = openai.OpenAI(base_url="https://api.openai.com/v1", api_key="sk-x", max_retries=5)
    with replay.use_cassette(path) as cassette, pytest.raises(replay.NoMatchingInteraction) as info:
        client.chat.completions.create(
            model="gpt-4o", messages=[{"role": "user", "content": "hi"}], stream=True
        )
    message = str(info.value)
    assert str(path) in message
    assert "body.model: 'gpt-4o' != recorded 'gpt-4o-mini'" in message
    assert "record_mode" in message  # how to fix it
    assert cassette.play_counts == [0]
    # Not a transport error: the SDKs would retry those with back-off.
    assert not isinstance(info.value, httpx2.TransportError)


def test_missing_cassette_in_none_mode_says_how_to_record(tmp_path: Path) -> None:
    path = tmp_path / "never-recorded.yaml"
    with replay.use_cassette(path), pytest.raises(replay.NoMatchingInteraction) as info:
        httpx2.post(URL, json={"a": 1})
    assert f"Cassette {path} does not exist" in str(info.value)
    assert "record_mode='once'" in str(info.value)
    assert not path.exists()


def test_a_cassette_that_makes_no_request_needs_no_file(tmp_path: Path) -> None:
    with replay.use_cassette(tmp_path / "absent.yaml") as cassette:
        pass
    assert cassette.interactions == []
    assert not (tmp_path / "absent.yaml").exists()


@pytest.mark.parametrize("sdk", ["groq", "together"])
def test_a_miss_is_not_swallowed_by_except_exception_or_sdk_retries(sdk: str, tmp_path: Path) -> None:
    """groq and together retry on any Exception; an app may have an `except Exception` fallback."""
    from sdk_helpers import make_client

    path = write_cassette(tmp_path / "chat.yaml", stream_interaction([0.1, 0.2, 0.3]))
    client = make_client(sdk, "https://api.example.com", is_async=False, max_retries=3)
    calls = []
    with replay.use_cassette(path, timing="instant"), pytest.raises(replay.NoMatchingInteraction) as info:
        try:
            calls.append(1)
            client.chat.completions.create(model="other", messages=[{"role": "user", "content": "x"}])
        except Exception:  # an application's fallback must not hide the stale cassette
            pytest.fail("the miss was swallowed by `except Exception`")
    assert calls == [1]
    assert "No interaction in" in str(info.value)
