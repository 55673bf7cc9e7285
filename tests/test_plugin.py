"""The pytest plugin, driven the way its users drive it (pytester)."""

from __future__ import annotations

import pytest
from llm_server import LLMServer
from pytester_chat import write_chat_test

pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestAssertRewriteWarning")


def test_marker_records_at_the_default_path_then_replays_offline(
    pytester: pytest.Pytester, llm_server: LLMServer
) -> None:
    write_chat_test(
        pytester,
        llm_server.base_url,
        "test_chat",
        """
            @pytest.mark.replay
            def test_stream(replay_cassette):
                chunks = chat(timed=True)
                assert len(chunks) == 10
                print("OFFSETS", [round(t, 6) for t, _ in chunks])
            """,
    )
    result = pytester.runpytest("--replay-record-mode=once", "-s")
    result.assert_outcomes(passed=1)
    cassette = pytester.path / "cassettes" / "test_chat" / "test_stream.yaml"
    assert cassette.exists()
    llm_server.stop()

    result = pytester.runpytest("-s")
    result.assert_outcomes(passed=1)
    import replay

    recorded = [c.t for c in replay.load_cassette(cassette).interactions[0].response.chunks]
    assert f"OFFSETS {recorded}" in result.stdout.str()  # virtual timing: exact offsets


def test_missing_cassette_fails_with_the_command_that_records_it(
    pytester: pytest.Pytester, llm_server: LLMServer
) -> None:
    write_chat_test(
        pytester,
        llm_server.base_url,
        "test_missing",
        """
            class TestGroup:
                @pytest.mark.replay
                def test_it(self):
                    chat()
            """,
    )
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*NoMatchingInteraction: Cassette *cassettes/test_missing/TestGroup.test_it.yaml does not exist*",
            "*Record it: pytest --replay-record-mode=once test_missing.py::TestGroup::test_it.",
        ]
    )
    assert llm_server.requests == []


def test_cassette_names_for_parametrized_tests_are_file_safe(
    pytester: pytest.Pytester, llm_server: LLMServer
) -> None:
    write_chat_test(
        pytester,
        llm_server.base_url,
        "test_params",
        """
            @pytest.mark.replay
            @pytest.mark.parametrize("model", ["a/b c", "d"])
            def test_p(model):
                chat(model=model)
            """,
    )
    pytester.runpytest("--replay-record-mode=once").assert_outcomes(passed=2)
    names = sorted(p.name for p in (pytester.path / "cassettes" / "test_params").iterdir())
    assert names == ["test_p[a_b_c].yaml", "test_p[d].yaml"]


def test_marker_path_and_settings_and_precedence(pytester: pytest.Pytester, llm_server: LLMServer) -> None:
    pytester.makeconftest(
        """
        import pytest

        @pytest.fixture
        def replay_config():
            return {"timing": "instant", "record_mode": "once"}
        """
    )
    write_chat_test(
        pytester,
        llm_server.base_url,
        "test_settings",
        """
            @pytest.mark.replay("recorded/shared.yaml", timing="virtual")
            def test_marker_wins_over_config(replay_cassette):
                chat()
                assert replay_cassette.path.name == "shared.yaml"
                print("MODE", replay_cassette.record_mode.value, replay_cassette.timing.name.value)

            def test_fixture_without_marker_uses_the_default_path(replay_cassette):
                chat()
                assert replay_cassette.path.parts[-3:] == (
                    "cassettes", "test_settings", "test_fixture_without_marker_uses_the_default_path.yaml"
                )
            """,
    )
    pytester.runpytest().assert_outcomes(passed=2)  # records (config says once)
    assert (pytester.path / "recorded" / "shared.yaml").exists()
    result = pytester.runpytest("-s", "-k", "marker_wins")
    result.stdout.fnmatch_lines(["*MODE once virtual"])
    # The command line beats marker and config.
    result = pytester.runpytest(
        "-s", "-k", "marker_wins", "--replay-timing=real", "--replay-record-mode=none"
    )
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*MODE none real"])


def test_a_failing_test_does_not_save_its_recording(pytester: pytest.Pytester, llm_server: LLMServer) -> None:
    write_chat_test(
        pytester,
        llm_server.base_url,
        "test_fail",
        """
            @pytest.mark.replay
            def test_records_then_fails():
                chat()
                assert False, "boom"

            @pytest.mark.replay(record_on_failure=True)
            def test_keeps_it():
                chat()
                assert False, "boom"
            """,
    )
    pytester.runpytest("--replay-record-mode=once").assert_outcomes(failed=2)
    folder = pytester.path / "cassettes" / "test_fail"
    assert sorted(p.name for p in folder.iterdir()) == ["test_keeps_it.yaml"]


def test_bad_marker_and_config_arguments_are_usage_errors(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_bad="""
        import pytest

        @pytest.mark.replay(recordmode="once")
        def test_typo():
            pass

        @pytest.mark.replay(timing="sometimes")
        def test_bad_value():
            pass
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(errors=2)
    out = result.stdout.str()
    assert "test_typo: unknown @pytest.mark.replay argument(s) ['recordmode']; known: path," in out
    assert "test_bad_value: Unknown timing 'sometimes'; expected one of: virtual, real, instant." in out


def test_options_are_listed_in_help(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--help")
    result.stdout.fnmatch_lines(
        ["*llm-replay*", "*--replay-record-mode=*", "*--replay-timing=*", "*--replay-speed=*"]
    )


def test_unknown_option_value_is_refused(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--replay-timing=fast")
    assert result.ret != 0
    result.stderr.fnmatch_lines(["*invalid choice: 'fast'*"])
