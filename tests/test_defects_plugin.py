"""Defects a new user found driving the plugin from the README (issue 13), checked with pytester."""

from __future__ import annotations

import re
import shlex

import pytest
from llm_server import LLMServer
from pytester_chat import chat_module, write_chat_test

pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestAssertRewriteWarning")


def _chat_test(base_url: str, model: str) -> str:
    return chat_module(base_url, f"\n@pytest.mark.replay\ndef test_chat():\n    chat(model={model!r})\n")


def _hint(output: str, label: str) -> list[str]:
    """The pytest arguments of the command a miss error names after ``label``."""
    found = re.search(rf"{label} pytest (.+?)(?:, or add| \(|;|\.$)", output, re.MULTILINE)
    assert found is not None, output
    return shlex.split(found.group(1))


@pytest.mark.parametrize(
    "label", ["re-record the cassette with", "add the missing request with"], ids=["rewrite", "new_episodes"]
)
def test_the_miss_hint_for_an_existing_cassette_names_a_command_that_records(
    pytester: pytest.Pytester, llm_server: LLMServer, label: str
) -> None:
    pytester.makepyfile(test_hint=_chat_test(llm_server.base_url, "m"))
    pytester.runpytest("--replay-record-mode=once").assert_outcomes(passed=1)
    pytester.makepyfile(test_hint=_chat_test(llm_server.base_url, "changed"))
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    args = _hint(result.stdout.str(), label)
    assert "--replay-record-mode=once" not in args  # once never records into an existing file
    pytester.runpytest(*args).assert_outcomes(passed=1)
    pytester.runpytest().assert_outcomes(passed=1)  # following the hint fixed it: no loop


def test_strict_usage_and_the_unused_summary_count_a_fault_answer_as_used(
    pytester: pytest.Pytester, llm_server: LLMServer
) -> None:
    pytester.makepyfile(test_err=_chat_test(llm_server.base_url, "m"))
    pytester.runpytest("--replay-record-mode=once").assert_outcomes(passed=1)
    write_chat_test(
        pytester,
        llm_server.base_url,
        "test_err",
        """
            from replay.faults import HTTPError

            @pytest.mark.replay(faults=[HTTPError(503)])
            def test_chat():
                with pytest.raises(httpx2.HTTPStatusError):
                    with httpx2.Client() as client:
                        body = {"model": "m", "messages": [], "stream": True}
                        client.post(URL, json=body).raise_for_status()
            """,
    )
    result = pytester.runpytest()
    result.assert_outcomes(passed=1)
    assert "never played" not in result.stdout.str()
    assert "llm-replay: unused interactions" not in result.stdout.str()
    result = pytester.runpytest("--replay-strict")
    result.assert_outcomes(passed=1)
    assert "never played" not in result.stdout.str()


def test_a_test_with_faults_records_its_cassette_and_says_they_apply_from_the_next_run(
    pytester: pytest.Pytester, llm_server: LLMServer
) -> None:
    write_chat_test(
        pytester,
        llm_server.base_url,
        "test_faulty",
        """
            from replay.faults import Truncate

            @pytest.mark.replay(faults=[Truncate(before_finish=True)])
            def test_chat():
                body = b"".join(chat())
                print("FINISHED" if b'"finish_reason":"stop"' in body else "TRUNCATED")
            """,
    )
    result = pytester.runpytest("--replay-record-mode=once", "-s")
    result.assert_outcomes(passed=1)
    assert (pytester.path / "cassettes" / "test_faulty" / "test_chat.yaml").exists()
    result.stdout.fnmatch_lines(
        [
            "*llm-replay: recorded; checked from the next (replayed) run*",
            "test_faulty.py::test_chat: recorded; faults apply from the next (replayed) run: Truncate(*",
        ],
        consecutive=True,
    )
    llm_server.stop()
    result = pytester.runpytest("-s")
    result.assert_outcomes(passed=1)
    assert "TRUNCATED" in result.stdout.str() and "checked from the next" not in result.stdout.str()


def test_a_strict_xfail_that_xpasses_while_recording_keeps_its_cassette(
    pytester: pytest.Pytester, llm_server: LLMServer
) -> None:
    write_chat_test(
        pytester,
        llm_server.base_url,
        "test_xp",
        """
            @pytest.mark.xfail(strict=True, reason="fails once the 429 fault is added")
            @pytest.mark.replay
            def test_chat():
                chat()
            """,
    )
    result = pytester.runpytest("--replay-record-mode=once")
    result.assert_outcomes(failed=1)  # the XPASS is still reported
    assert (pytester.path / "cassettes" / "test_xp" / "test_chat.yaml").exists()
    result.stdout.fnmatch_lines(
        ["test_xp.py::test_chat: XPASS(strict) while recording; *test_chat.yaml was saved"]
    )


def test_replay_cassette_interactions_hold_what_this_run_recorded(
    pytester: pytest.Pytester, llm_server: LLMServer
) -> None:
    write_chat_test(
        pytester,
        llm_server.base_url,
        "test_rec",
        """
            @pytest.mark.replay
            def test_chat(replay_cassette):
                chat()
                last = replay_cassette.interactions[-1]
                assert len(replay_cassette.interactions) == 1
                assert last.response.chunks and last.response.chunks[-1].t > last.response.t
                print("RECORDED", len(replay_cassette.recorded), len(replay_cassette.loaded))
            """,
    )
    result = pytester.runpytest("--replay-record-mode=once", "-s")
    result.assert_outcomes(passed=1)
    assert "RECORDED 1 0" in result.stdout.str()
    assert (pytester.path / "cassettes" / "test_rec" / "test_chat.yaml").exists()
    llm_server.stop()
    result = pytester.runpytest("-s")
    result.assert_outcomes(passed=1)
    assert "RECORDED 0 1" in result.stdout.str()


def test_usage_log_given_with_a_space_and_an_outside_file_is_refused_with_the_working_form(
    pytester: pytest.Pytester, tmp_path_factory: pytest.TempPathFactory
) -> None:
    # The project needs its ini file: `pythonpath = src` makes `helper` importable.
    pytester.makeini("[pytest]\npythonpath = src\n")
    pytester.mkdir("src")
    pytester.mkpydir("src/helper")
    pytester.makepyfile(test_uses_helper="import helper\n\ndef test_ok():\n    assert helper\n")
    log = tmp_path_factory.mktemp("outside") / "usage.jsonl"
    pytester.runpytest(f"--replay-usage-log={log}").assert_outcomes(passed=1)
    assert log.exists()  # the second run is the one that broke

    result = pytester.runpytest("--replay-usage-log", str(log))
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"*To fix: write --replay-usage-log={log} (one argument, with '=')."])
    assert "ModuleNotFoundError" not in result.stdout.str() + result.stderr.str()

    pytester.runpytest(f"--replay-usage-log={log}").assert_outcomes(passed=1)  # the form that works
    inside = pytester.path / "usage.jsonl"
    inside.write_text("")
    pytester.runpytest("--replay-usage-log", str(inside)).assert_outcomes(passed=1)  # harmless
