"""The hygiene commands through `replay.cli.main`: prune, unused, diff, inspect (sparkline), plot."""

from __future__ import annotations

import json
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import httpx2
import pytest
from cassette_factory import LOCAL_URL as URL
from cassette_factory import chat_body, chat_stream, write_cassette

import replay
from replay.cli import main as cli
from replay.hygiene.usage import CassetteUse, UsageLog, use_from_active
from replay.tools.timeline import sparkline, timeline


def _play(path: Path, *models: str, record_mode: str = "none") -> replay.ActiveCassette:
    with replay.use_cassette(path, record_mode=record_mode) as active, httpx2.Client() as client:
        for model in models:
            client.post(URL, json=chat_body(model))
    return active


def _log(tmp_path: Path, *uses: CassetteUse) -> Path:
    path = tmp_path / "usage.jsonl"
    UsageLog(tmp_path, uses).write(path)
    return path


def _use(active: replay.ActiveCassette, tmp_path: Path, outcome: str = "passed") -> CassetteUse:
    return use_from_active(active, rootdir=tmp_path, test="t.py::test_x", outcome=outcome)  # type: ignore[arg-type]


# -- prune -------------------------------------------------------------------------------------


def test_prune_removes_only_unplayed_and_keeps_the_rest_byte_identical(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_cassette(tmp_path / "c" / "chat.yaml", chat_stream("a"), chat_stream("b"), chat_stream("c"))
    original = replay.load_cassette(path).interactions
    log = _log(tmp_path, _use(_play(path, "a", "c"), tmp_path))
    before = path.read_text()

    assert cli(["prune", "--dry-run", "--usage-log", str(log), str(tmp_path / "c")]) == 0
    out = capsys.readouterr().out
    assert f"{path}: would remove 1 of 3 interactions" in out
    assert "  #1 POST http://127.0.0.1:9/v1/chat/completions (model 'b', recorded " in out
    assert "Would prune 1 interaction from 1 of 1 logged cassette." in out
    assert path.read_text() == before

    assert cli(["prune", "-l", str(log), str(path)]) == 0
    assert "removed 1 of 3 interactions" in capsys.readouterr().out
    kept = replay.load_cassette(path).interactions
    assert [json.loads(i.request.body)["model"] for i in kept] == ["a", "c"]
    assert [i._to_disk() for i in kept] == [original[0]._to_disk(), original[2]._to_disk()]
    assert not list(path.parent.glob(".*.tmp"))  # the atomic write left no temporary file

    # A second prune with the same log now refuses: the file is not what the log saw.
    assert cli(["prune", "-l", str(log), str(path)]) == 0
    assert (
        "left alone: changed since the usage log was written (interaction #1 differs)"
        in capsys.readouterr().out
    )


# A cassette left unused is what this test logs; its warning is tested in test_clients_silence.py.
@pytest.mark.filterwarnings("ignore::replay.hygiene.silence.CassetteUnusedWarning")
@pytest.mark.parametrize(
    ("outcome", "record_mode", "reason"),
    [
        ("failed", "none", "used by a test that did not pass (t.py::test_x failed)"),
        ("skipped", "none", "used by a test that did not pass (t.py::test_x skipped)"),
        ("passed", "all", "never replayed in the logged run (record mode all)"),
    ],
)
def test_prune_leaves_files_alone_when_the_log_proves_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], outcome: str, record_mode: str, reason: str
) -> None:
    path = write_cassette(tmp_path / "chat.yaml", chat_stream("a"), chat_stream("b"))
    with replay.use_cassette(path, record_mode=record_mode) as active:
        if record_mode == "none":
            with httpx2.Client() as client:
                client.post(URL, json=chat_body("a"))
    before = path.read_bytes()
    log = _log(tmp_path, _use(active, tmp_path, outcome))
    assert cli(["prune", "-l", str(log), str(path)]) == 0
    assert f"{path}: left alone: {reason}" in capsys.readouterr().out
    assert path.read_bytes() == before


def test_prune_lists_cassettes_the_log_does_not_know_and_prints_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    used = write_cassette(tmp_path / "cassettes" / "used.yaml", chat_stream("a"), chat_stream("b"))
    write_cassette(tmp_path / "cassettes" / "other.yaml", chat_stream("a"))
    log = _log(tmp_path, _use(_play(used, "a"), tmp_path))
    assert cli(["prune", "-l", str(log), "--json", str(tmp_path / "cassettes")]) == 0
    data = {Path(r["path"]).name: r for r in json.loads(capsys.readouterr().out)}
    assert data["used.yaml"]["removed"] == [1] and data["used.yaml"]["in_log"]
    assert data["other.yaml"] == {**data["other.yaml"], "in_log": False, "removed": []}
    assert len(replay.load_cassette(used).interactions) == 1


def test_prune_rejects_a_file_that_is_not_a_usage_log(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bogus = tmp_path / "log.jsonl"
    bogus.write_text('{"hello": 1}\n')
    assert cli(["prune", "-l", str(bogus), str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert f"{bogus}: not an llm-replay usage log (line 1 is not its header)" in err
    assert "pytest --replay-usage-log=FILE" in err
    assert cli(["prune", "-l", str(tmp_path / "missing.jsonl"), str(tmp_path)]) == 1
    assert "does not exist; write one with `pytest --replay-usage-log" in capsys.readouterr().err


# -- unused ------------------------------------------------------------------------------------


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    tests = tmp_path / "tests"
    (tests / "cassettes").mkdir(parents=True)
    (tests / "test_m.py").write_text(
        "import pytest\n\n"
        "def test_a():\n    pass\n\n"
        "@pytest.mark.parametrize('x', [1, 2])\ndef test_p(x):\n    pass\n\n"
        "@pytest.mark.replay('cassettes/shared/s.yaml')\ndef test_marked():\n    pass\n\n"
        "def test_direct():\n    path = 'cassettes/direct.yaml'\n"
    )
    for name in [
        "test_m/test_a",
        "test_m/test_p[1]",
        "test_m/test_p[3]",
        "test_m/test_gone",
        "shared/s",
        "direct",
        "old_module/test_x",
    ]:
        write_cassette(tests / "cassettes" / f"{name}.yaml", chat_stream("a"))
    monkeypatch.chdir(tmp_path)
    return tests


def test_unused_lists_files_no_test_maps_to(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli(["unused", "--tests", "tests"]) == 0
    captured = capsys.readouterr()
    assert captured.out.splitlines() == [
        "tests/cassettes/old_module/test_x.yaml",
        "tests/cassettes/test_m/test_gone.yaml",
        "tests/cassettes/test_m/test_p[3].yaml",
    ]
    assert (
        "kept tests/cassettes/direct.yaml: no test's cassette path, but tests/test_m.py names it"
        in captured.err
    )
    assert "3 cassette files unused." in captured.err

    assert cli(["unused", "--tests", "tests", "--json", "--delete"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert len(data["unused"]) == 3 and data["deleted"] is True
    assert not (project / "cassettes" / "old_module").exists()  # emptied folder removed too
    assert not (project / "cassettes" / "test_m" / "test_gone.yaml").exists()
    assert (project / "cassettes" / "test_m" / "test_a.yaml").exists()
    assert (project / "cassettes" / "shared" / "s.yaml").exists()


def test_unused_refuses_to_judge_when_collection_fails(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (project / "test_broken.py").write_text("def test_x(:\n")
    assert cli(["unused", "--tests", "tests"]) == 1
    err = capsys.readouterr().err
    assert "pytest could not collect tests (exit code 2); fix the collection errors first" in err
    assert "test_broken.py" in err


# -- diff --------------------------------------------------------------------------------------


def test_diff_shows_request_response_and_timing_changes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a = write_cassette(
        tmp_path / "a.yaml",
        chat_stream("a", tokens=("Hel", "lo", "!")),
        chat_stream("b"),
        chat_stream("gone"),
    )
    b = write_cassette(
        tmp_path / "b.yaml",
        chat_stream("a", tokens=("Hel", "lo", "!", "!"), head=0.1, gap=0.02),
        chat_stream("b"),
        chat_stream("c", url="http://127.0.0.1:9/v1/other"),
    )
    assert cli(["diff", str(a), str(b)]) == 1
    out = capsys.readouterr().out
    assert "~ #0 POST /v1/chat/completions: changed\n    response.events: 6 events -> 7 events\n" in out
    assert '    response.events[4]: added event with text "!"' in out
    assert "    text: 'Hello!' -> 'Hello!!'" in out
    assert "time to first byte    0.200s    0.100s    -0.100s (-50%)" in out
    assert "gap p50               0.050s    0.020s    -0.030s (-60%)" in out
    assert (
        "= #1 POST /v1/chat/completions: unchanged\n"
        "    timing identical (ttfb 0.200s, duration 0.460s, 6 chunks)" in out
    )
    assert "- #2 POST /v1/chat/completions: only in A" in out
    assert "+ #2 POST /v1/other: only in B" in out
    assert out.rstrip().endswith("1 changed, 1 unchanged, 1 only in B, 1 only in A.")

    assert cli(["diff", "--json", str(a), str(a)]) == 0
    same = json.loads(capsys.readouterr().out)
    assert same["same"] is True and same["unchanged"] == 3


def test_diff_ignores_volatile_keys_unless_asked(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    one = chat_stream("a")
    other = chat_stream("a")
    events = [
        replay.Chunk(t=c.t, data=c.data.replace(b"chatcmpl-a", b"chatcmpl-zz")) for c in other.response.chunks
    ]
    other = other.model_copy(update={"response": other.response.model_copy(update={"chunks": events})})
    a, b = write_cassette(tmp_path / "a.yaml", one), write_cassette(tmp_path / "b.yaml", other)
    assert cli(["diff", str(a), str(b)]) == 0
    capsys.readouterr()
    assert cli(["diff", "--no-ignore", "--json", str(a), str(b)]) == 1
    changes = json.loads(capsys.readouterr().out)["interactions"][0]["response"]
    assert changes[0] == {"where": "response.events[0].data.id", "a": '"chatcmpl-a"', "b": '"chatcmpl-zz"'}
    assert len(changes) == 5  # every event but [DONE]


def test_diff_of_an_unreadable_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = write_cassette(tmp_path / "a.yaml", chat_stream("a"))
    assert cli(["diff", str(good), str(tmp_path / "nope.yaml")]) == 2
    assert f"llm-replay diff: Cassette {tmp_path / 'nope.yaml'} does not exist." in capsys.readouterr().err


# -- inspect -----------------------------------------------------------------------------------


def test_sparkline_bins_chunk_arrivals_from_the_request() -> None:
    interaction = chat_stream("a", tokens=(), head=0.49, gap=0.5)  # 3 chunks: 0.5, 1.0, 1.5 s
    line = timeline(interaction.response)
    # Bins of 0.25 s from the request: 0.5 -> bin 2, 1.0 -> bin 4, 1.5 (the end) -> the last bin.
    assert sparkline(line, width=6) == "··█·██"
    busy = chat_stream("a", tokens=("x",) * 4, head=0.0, gap=0.0)  # 7 chunks at 0.01 s
    assert sparkline(timeline(busy.response), width=3, end=0.04) == "█··"


def test_inspect_shows_a_sparkline_and_json_timing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_cassette(tmp_path / "c.yaml", chat_stream("a", head=0.2, gap=0.05))
    assert cli(["inspect", str(path)]) == 0
    out = capsys.readouterr().out
    assert "chunk arrival (0 -> end)" in out
    assert sparkline(timeline(replay.load_cassette(path).interactions[0].response)) in out
    assert cli(["inspect", "--json", str(path)]) == 0
    row = json.loads(capsys.readouterr().out)[str(path)][0]
    assert row["chunk_times"] == [0.21, 0.26, 0.31, 0.36, 0.41, 0.46]
    assert row["gap_p50"] == pytest.approx(0.05) and row["gap_p95"] == pytest.approx(0.05)
    assert row["tokens_per_second"] == pytest.approx(20.0)  # 3 content events over 0.1 s: 2 gaps
    assert row["sparkline"].startswith("··········")


# -- plot --------------------------------------------------------------------------------------


def _svg_marks(path: Path) -> dict[str, int]:
    ns = "{http://www.w3.org/2000/svg}"
    out = {}
    for group in ET.parse(path).iter(f"{ns}g"):
        gid = group.get("id", "")
        if gid.split("-")[0] in ("headers", "chunks", "events", "finish"):
            out[gid] = len(group.findall(f".//{ns}use"))
    return out


def test_plot_svg_has_one_mark_per_chunk_event_and_finish(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_cassette(
        tmp_path / "c.yaml", chat_stream("a", tokens=("x",) * 7), chat_stream("b", finish="length")
    )
    out = tmp_path / "plot.svg"
    assert cli(["plot", str(path), "-o", str(out)]) == 0
    assert "#0: 10 chunks, 10 events, 1 finish mark(s), 20.0 tok/s" in capsys.readouterr().out
    marks = _svg_marks(out)
    assert marks == {
        "headers-0": 1,
        "chunks-0": 10,
        "events-0": 9,  # 10 events, one of them drawn as the finish star
        "finish-0": 1,
        "headers-1": 1,
        "chunks-1": 6,
        "events-1": 5,
        "finish-1": 1,
    }
    assert "finish: length" in out.read_text()


def test_plot_png_and_errors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_cassette(tmp_path / "c.yaml", chat_stream("a"))
    png = tmp_path / "out" / "plot.png"
    assert cli(["plot", str(path), "-o", str(png), "-i", "0"]) == 0
    assert png.read_bytes().startswith(b"\x89PNG\r\n\x1a\n") and png.stat().st_size > 10_000
    capsys.readouterr()
    assert cli(["plot", str(path), "-o", str(tmp_path / "x.gif")]) == 1
    assert "unknown image format '.gif'; use one of .png, .svg, .pdf" in capsys.readouterr().err
    assert cli(["plot", str(path), "-o", str(png), "-i", "3"]) == 1
    assert "interaction #3 does not exist (the cassette has 1: #0 to #0)" in capsys.readouterr().err
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # as if the extra were not installed
    assert cli(["plot", str(path), "-o", str(png)]) == 1
    assert "pip install 'llm-replay[plot]'" in capsys.readouterr().err
