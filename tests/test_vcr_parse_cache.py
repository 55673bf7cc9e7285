"""The drop-in caches a vcrpy cassette file it loads a second time, until the file changes; a file
loaded once (most cassettes) is neither cached nor copied."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from replay.vcr import persister
from replay.vcr.persister import SafePersister

CASSETTE = """\
interactions:
- request:
    body: null
    headers: {}
    method: GET
    uri: https://api.example.com/v1/models
  response:
    body: {string: '{"data": []}'}
    headers: {Content-Type: [application/json]}
    status: {code: 200, message: OK}
version: 1
"""


def test_a_file_loaded_again_is_parsed_twice_at_most_until_it_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(CASSETTE)
    parsed: list[Path] = []
    real = persister._parse_pairs

    def counting(p: Path) -> object:
        parsed.append(p)
        return real(p)

    monkeypatch.setattr(persister, "_parse_pairs", counting)
    loads = [SafePersister().load_cassette(path, None) for _ in range(4)]
    assert len(parsed) == 2  # the first load is not kept; the second is cached for the rest
    assert {r.uri for load in loads for r in load[0]} == {"https://api.example.com/v1/models"}
    # fresh objects each time: a hook that edits one load never touches another, nor the cache
    assert len({id(load[0][0]) for load in loads}) == 4
    loads[2][0][0].uri = "https://edited.example.com/"
    assert SafePersister().load_cassette(path, None)[0][0].uri == "https://api.example.com/v1/models"
    path.write_text(CASSETTE.replace("/v1/models", "/v1/other"))
    os.utime(path, ns=(1, 1))  # a different mtime even on a coarse-clock file system
    changed = SafePersister().load_cassette(path, None)
    assert len(parsed) == 3
    assert changed[0][0].uri == "https://api.example.com/v1/other"
