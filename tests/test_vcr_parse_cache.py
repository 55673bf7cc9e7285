"""The drop-in parses a vcrpy cassette file once per session, again only when the file changes."""

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


def test_a_file_is_parsed_once_until_it_changes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(CASSETTE)
    parsed: list[Path] = []
    real = persister._parse_pairs

    def counting(p: Path) -> object:
        parsed.append(p)
        return real(p)

    monkeypatch.setattr(persister, "_parse_pairs", counting)
    first = SafePersister().load_cassette(path, None)
    second = SafePersister().load_cassette(path, None)
    assert len(parsed) == 1
    assert [r.uri for r in first[0]] == [r.uri for r in second[0]] == ["https://api.example.com/v1/models"]
    assert first[0] is not second[0]  # fresh lists: extending one never touches the cache
    path.write_text(CASSETTE.replace("/v1/models", "/v1/other"))
    os.utime(path, ns=(1, 1))  # a different mtime even on a coarse-clock file system
    third = SafePersister().load_cassette(path, None)
    assert len(parsed) == 2
    assert third[0][0].uri == "https://api.example.com/v1/other"
