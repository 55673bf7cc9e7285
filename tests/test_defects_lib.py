"""Defects a new user found using the library from the README (issue 13)."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import httpx2
import openai
import pytest
from cassette_factory import chat_stream, write_cassette

import replay
from replay.faults import HTTPError, UsageOnlyChunk
from replay.hygiene.expiry import parse_max_age

LOCAL = "http://127.0.0.1:9"


def test_usage_only_chunk_moves_usage_so_a_summing_app_counts_it_once(tmp_path: Path) -> None:
    path = write_cassette(
        tmp_path / "usage.yaml", chat_stream(url=f"{LOCAL}/v1/chat/completions", completion_tokens=7)
    )
    with replay.use_cassette(path, faults=[UsageOnlyChunk()]):
        client = openai.OpenAI(base_url=f"{LOCAL}/v1", api_key="k", max_retries=0)
        chunks = list(
            client.chat.completions.create(
                model="m", messages=[{"role": "user", "content": "hi"}], stream=True
            )
        )
    carrying = [c for c in chunks if c.usage is not None]
    assert len(carrying) == 1 and carrying[0] is chunks[-1] and carrying[0].choices == []
    assert sum(c.usage.completion_tokens for c in carrying) == 7
    finish = next(c for c in chunks if c.choices and c.choices[0].finish_reason)
    assert json.loads(finish.model_dump_json())["usage"] is None  # null, as OpenAI's include_usage


@pytest.mark.parametrize(("text", "seconds"), [("60", 60.0), ("1.0", 1.0), (" 90 ", 90.0), (".5", 0.5)])
def test_max_age_takes_a_plain_number_of_seconds_as_text(text: str, seconds: float) -> None:
    assert parse_max_age(text) == timedelta(seconds=seconds)


def test_replay_max_age_option_takes_a_plain_number(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_nothing():\n    pass\n")
    pytester.runpytest("--replay-max-age=60").assert_outcomes(passed=1)


@pytest.mark.parametrize("text", ["0", "-5", "1e3", "sixty", "60x"])
def test_max_age_still_refuses_what_is_not_a_duration(text: str) -> None:
    with pytest.raises(ValueError, match="max_age"):
        parse_max_age(text)


def test_an_interaction_answered_by_a_replacement_fault_counts_as_used(tmp_path: Path) -> None:
    path = write_cassette(tmp_path / "err.yaml", chat_stream(url=f"{LOCAL}/v1/chat/completions"))
    body = {"model": "m", "messages": [{"role": "user", "content": "hi"}], "stream": True}
    with replay.use_cassette(path, strict=True, faults=[HTTPError(429)]) as cassette:
        assert httpx2.post(f"{LOCAL}/v1/chat/completions", json=body).status_code == 429
    assert cassette.unplayed == [] and cassette.all_played  # strict did not raise on exit
    assert cassette.play_counts == [0] and cassette.use_counts == [1]
