"""The pytest side of faults: ``faults=`` in the marker, ``replay_cassette.inject``,
``@pytest.mark.replay_variants`` / ``replay.variants`` with readable ids, one shared recording
for all variants, skips for variants that do not fit, failures for faults that change nothing,
and the README's example that catches code indexing ``choices[0]`` on every chunk."""

from __future__ import annotations

from pathlib import Path

import pytest

from replay import synth

APP = """
import openai

def ask(stream=True):
    client = openai.OpenAI(api_key="k", base_url="http://127.0.0.1:9/v1", max_retries=0)
    if not stream:
        result = client.chat.completions.create(model="m", messages=[])
        return result.choices[0].message.content or "", result.choices[0].finish_reason
    text, finish = "", None
    for chunk in client.chat.completions.create(model="m", messages=[], stream=True):
        {body}
    return text, finish
"""
BUGGY = """choice = chunk.choices[0]
        text += choice.delta.content or ""
        finish = choice.finish_reason or finish"""
SAFE = """for choice in chunk.choices:
            text += choice.delta.content or ""
            finish = choice.finish_reason or finish"""


def _cassette(pytester: pytest.Pytester, module: str, test: str, *interactions: object) -> Path:
    path = pytester.path / "cassettes" / module / f"{test}.yaml"
    synth.cassette(*(interactions or (synth.chat("Hello there, friend."),))).save(path)  # type: ignore[arg-type]
    return path


def _app(pytester: pytest.Pytester, body: str = SAFE) -> None:
    pytester.makepyfile(app=APP.format(body=body))


def test_marker_faults_and_inject(pytester: pytest.Pytester) -> None:
    _app(pytester)
    _cassette(pytester, "test_marker", "test_cut_short")
    _cassette(pytester, "test_marker", "test_injected", synth.chat("a"), synth.chat("b"))
    pytester.makepyfile(
        test_marker="""
        import pytest
        from app import ask
        from replay.faults import FinishReason, Truncate

        @pytest.mark.replay(faults=[FinishReason("length")])
        def test_cut_short():
            assert ask() == ("Hello there, friend.", "length")

        def test_injected(replay_cassette):
            assert ask() == ("a", "stop")
            replay_cassette.inject(FinishReason("content_filter"))
            assert ask() == ("b", "content_filter")
            assert [s.applied for s in replay_cassette.fault_report] == [1]
        """
    )
    result = pytester.runpytest("-v")
    result.assert_outcomes(passed=2)


def test_variants_get_readable_ids_and_share_one_recording(pytester: pytest.Pytester) -> None:
    _app(pytester)
    path = _cassette(pytester, "test_variants", "test_chat")
    before = path.read_bytes()
    pytester.makepyfile(
        test_variants="""
        import openai, pytest
        from app import ask
        from replay.faults import FinishReason, HTTPError, Rechunk, Truncate

        @pytest.mark.replay_variants(
            FinishReason("length"), HTTPError(429), Truncate(after_events=3), Rechunk(1)
        )
        def test_chat(replay_variant):
            try:
                text, finish = ask()
            except openai.RateLimitError:
                assert replay_variant.id == "http=429"
                return
            expected = {"recorded": "stop", "finish=length": "length", "rechunk=1": "stop"}
            assert finish == expected.get(replay_variant.id)
            assert text == ("Hello there," if replay_variant.id == "truncate@3" else "Hello there, friend.")
        """
    )
    result = pytester.runpytest("-v")
    result.stdout.fnmatch_lines(
        [
            "*test_chat?recorded? PASSED*",
            "*test_chat?finish=length? PASSED*",
            "*test_chat?http=429? PASSED*",
            "*test_chat?truncate@3? PASSED*",
            "*test_chat?rechunk=1? PASSED*",
        ],
        consecutive=True,
    )
    result.assert_outcomes(passed=5)
    assert path.read_bytes() == before
    assert sorted(p.name for p in path.parent.iterdir()) == ["test_chat.yaml"]


def test_variant_that_does_not_fit_is_skipped_with_the_reason(pytester: pytest.Pytester) -> None:
    _app(pytester)
    _cassette(pytester, "test_fit", "test_whole", synth.chat("Whole answer.", stream=False))
    pytester.makepyfile(
        test_fit="""
        import pytest
        from app import ask
        from replay.faults import UsageOnlyChunk, FinishReason

        @pytest.mark.replay_variants(UsageOnlyChunk(), FinishReason("length"), baseline=False)
        def test_whole(replay_variant):
            ask(stream=False)
        """
    )
    result = pytester.runpytest("-rs")
    result.assert_outcomes(passed=1, skipped=1)
    result.stdout.fnmatch_lines(
        ["*SKIPPED*variant 'usage-chunk' does not fit this test's responses*only in streams*"]
    )


def test_a_marker_fault_that_changes_nothing_fails_the_test(pytester: pytest.Pytester) -> None:
    _app(pytester)
    _cassette(pytester, "test_useless", "test_json", synth.chat("x", stream=False))
    pytester.makepyfile(
        test_useless="""
        import pytest
        from app import ask
        from replay.faults import Truncate

        @pytest.mark.replay(faults=[Truncate(after_events=2)])
        def test_json():
            ask(stream=False)
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*1 fault(s) given to *test_json.yaml changed no response:",
            "*Truncate(after_events=2): did not fit: *after_events=2 needs an event stream*",
        ]
    )


def test_replay_variants_helper_with_parametrize(pytester: pytest.Pytester) -> None:
    _app(pytester)
    _cassette(pytester, "test_param", "test_chat")
    pytester.makepyfile(
        test_param="""
        import pytest, replay
        from app import ask
        from replay.faults import FinishReason, Rechunk

        @pytest.mark.parametrize(
            "replay_variant", replay.variants([Rechunk(2), FinishReason("eos")], FinishReason("length"))
        )
        def test_chat(replay_variant):
            expected = {"recorded": "stop", "rechunk=2+finish=eos": "eos"}.get(replay_variant.id, "length")
            assert ask()[1] == expected
        """
    )
    result = pytester.runpytest("-v")
    result.stdout.fnmatch_lines(
        [
            "*test_chat?recorded? PASSED*",
            "*test_chat?rechunk=2+finish=eos? PASSED*",
            "*test_chat?finish=length? PASSED*",
        ]
    )
    result.assert_outcomes(passed=3)


def test_edge_cases_find_the_choices_0_bug(pytester: pytest.Pytester) -> None:
    # Recorded without stream_options={"include_usage": True}: no usage-only chunk in it.
    synth.cassette(synth.chat("Hello there, friend.", usage=False)).save(pytester.path / "chat.yaml")
    pytester.makepyfile(app=APP.format(body=BUGGY), safe_app=APP.format(body=SAFE))
    pytester.makepyfile(
        test_edges="""
        import openai, pytest, replay

        @pytest.mark.replay("chat.yaml")
        @pytest.mark.replay_variants(replay.EDGE_CASES)
        @pytest.mark.parametrize("impl", ["app", "safe_app"])
        def test_chat(impl, replay_variant):
            ask = __import__(impl).ask
            try:
                text, finish = ask()
            except (openai.APIError, openai.APIConnectionError):
                return  # errors the app reports to its user: handled
            assert finish in (None, "stop", "length", "eos", "tool_calls", "content_filter", "error")
        """
    )
    result = pytester.runpytest("-v", "-p", "no:randomly")
    result.stdout.fnmatch_lines(
        [
            "*test_chat?usage-chunk-app? FAILED*",
            "*test_chat?usage-chunk-safe_app? PASSED*",
            "*test_chat?empty-choices-app? FAILED*",
            "*test_chat?empty-choices-safe_app? PASSED*",
        ],
    )
    result.stdout.fnmatch_lines(["*IndexError: list index out of range*"])
    n = 1 + 14  # the recording + the edge cases
    result.assert_outcomes(passed=2 * n - 2, failed=2)


def test_bad_variant_arguments_are_usage_errors(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_bad="""
        import pytest

        @pytest.mark.replay_variants("finish=length")
        def test_a():
            pass

        @pytest.mark.replay_variants(baseline=False, nope=1)
        def test_b():
            pass
        """
    )
    result = pytester.runpytest()
    assert result.ret != 0
    result.stdout.fnmatch_lines(["*replay_variants*a variant is a Variant, a fault, or a list of faults*"])


def test_variants_while_recording_skip_then_replay(pytester: pytest.Pytester, llm_server: object) -> None:
    base = llm_server.base_url  # type: ignore[attr-defined]
    pytester.makepyfile(
        test_rec=f"""
        import openai, pytest
        from replay.faults import FinishReason

        @pytest.mark.replay_variants(FinishReason("length"), baseline=False)
        def test_chat(replay_variant, replay_cassette):
            client = openai.OpenAI(api_key="k", base_url="{base}/v1", max_retries=0)
            finish = client.chat.completions.create(model="m", messages=[]).choices[0].finish_reason
            assert finish == ("stop" if replay_cassette.recorded else "length")
        """
    )
    result = pytester.runpytest("--replay-record-mode=once", "-rs")
    # The first run records: the fault had nothing to apply to, and the test says so.
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(["*variant 'finish=length' does not fit*this run recorded the requests*"])
    assert (pytester.path / "cassettes" / "test_rec" / "test_chat.yaml").exists()
    result = pytester.runpytest()
    result.assert_outcomes(passed=1)
