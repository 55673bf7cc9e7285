"""The llm-replay command: inspect and demo."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from cassette_factory import stream_interaction, write_cassette

import replay
from replay.cli import main
from replay.cli.cmd_demo import demo_cassette_path


def test_inspect_lists_each_interaction(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_cassette(tmp_path / "c.yaml", stream_interaction([0.3, 0.4, 0.5, 0.9], ttfb=0.25))
    assert main(["inspect", str(path)]) == 0
    out = capsys.readouterr().out
    assert "1 interaction on https://api.openai.com" in out
    assert "POST /v1/chat/completions" in out
    for cell in ("200", "0.250s", "0.900s", "stop"):
        assert cell in out


def test_inspect_json_reports_timing_finish_and_usage(capsys: pytest.CaptureFixture[str]) -> None:
    path = demo_cassette_path()
    assert main(["inspect", "--json", str(path)]) == 0
    rows = json.loads(capsys.readouterr().out)[str(path)]
    recorded = replay.load_cassette(path).interactions[0].response
    assert rows[0]["chunks"] == len(recorded.chunks) == rows[0]["events"]
    assert rows[0]["ttfb"] == recorded.t
    assert rows[0]["duration"] == recorded.chunks[-1].t
    assert rows[0]["finish_reasons"] == ["stop"]
    assert (rows[0]["prompt_tokens"], rows[0]["completion_tokens"]) == (6, 29)


def test_inspect_reports_a_bad_file_clearly(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("format: llm-replay\nversion: 1\ninteractions: [{}]\n")
    assert main(["inspect", str(bad)]) == 2  # a file it cannot read: status 2
    err = capsys.readouterr().err
    assert f"llm-replay inspect: {bad}: invalid cassette" in err
    assert "interactions[0].request: Field required" in err


def test_demo_replays_through_the_openai_sdk() -> None:
    # speed=20: the real-time part takes ~0.15 s instead of ~2.8 s.
    proc = subprocess.run(
        [sys.executable, "-m", "replay.cli", "demo", "--speed", "20"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "Record once, replay forever: every chunk of this answer" in out
    recorded = [c.t for c in replay.load_cassette(demo_cassette_path()).interactions[0].response.chunks]
    rows = re.findall(r"^\s+\d+\s+(\d+\.\d+)\s+(\d+\.\d+)\s", out, flags=re.MULTILINE)
    observed = [(float(rec), float(obs)) for rec, obs in rows]
    assert len(observed) == len(recorded) - 1  # every chunk but [DONE] becomes an SDK chunk
    for rec, obs in observed:
        assert obs == pytest.approx(rec, abs=1e-6)
