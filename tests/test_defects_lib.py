"""Defects a new user found using the library from the README (issue 13)."""

from __future__ import annotations

import json
from pathlib import Path

import openai
from cassette_factory import chat_stream, write_cassette

import replay
from replay.faults import UsageOnlyChunk

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
