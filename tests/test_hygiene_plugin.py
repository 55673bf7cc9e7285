"""The pytest side of cassette hygiene, through pytester: strict usage, usage logs (xdist too),
expiry options, rewrite on failure, re-recording summaries, and the cassette listing for `unused`."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import httpx2  # noqa: F401  (imported before pytester's module snapshot: the cassette patches this one)
import pytest
from cassette_factory import chat_stream, write_cassette
from llm_server import LLMServer

import replay
from replay.cli import main as cli
from replay.timing.clock import VirtualClock

OLD = datetime(2020, 1, 1, tzinfo=timezone.utc)

INNER = """
import httpx2, pytest

URL = {url!r}

def post(model):
    body = {{"model": model, "messages": [{{"role": "user", "content": "hi"}}], "stream": True}}
    with httpx2.Client() as client:
        return client.post(URL, json=body).text
"""


def _module(
    pytester: pytest.Pytester, body: str, url: str = "http://127.0.0.1:9/v1/chat/completions"
) -> Path:
    return pytester.makepyfile(test_chat=INNER.format(url=url) + body)


def _cassette(pytester: pytest.Pytester, name: str) -> Path:
    return pytester.path / "cassettes" / "test_chat" / f"{name}.yaml"


# -- strict usage ------------------------------------------------------------------------------


def test_unplayed_interactions_are_listed_in_the_summary(pytester: pytest.Pytester) -> None:
    write_cassette(_cassette(pytester, "test_a"), chat_stream("a"), chat_stream("b"), chat_stream("c"))
    _module(pytester, "\n@pytest.mark.replay\ndef test_a():\n    assert 'chatcmpl-a' in post('a')\n")
    result = pytester.runpytest()
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(
        [
            "*- llm-replay: unused interactions -*",
            "cassettes/test_chat/test_a.yaml (test_chat.py::test_a): 2 of 3 never played",
            "  #1 POST http://127.0.0.1:9/v1/chat/completions (model 'b', recorded *)",
            "  #2 POST http://127.0.0.1:9/v1/chat/completions (model 'c', recorded *)",
        ],
        consecutive=True,
    )


@pytest.mark.parametrize("how", ["option", "marker", "replay_config"])
def test_strict_fails_the_test_naming_the_unused_interactions(pytester: pytest.Pytester, how: str) -> None:
    write_cassette(_cassette(pytester, "test_a"), chat_stream("a"), chat_stream("b"))
    write_cassette(_cassette(pytester, "test_all_played"), chat_stream("a"))
    marker = "@pytest.mark.replay(strict=True)" if how == "marker" else "@pytest.mark.replay"
    config = (
        "\n@pytest.fixture\ndef replay_config():\n    return {'strict': True}\n"
        if how == "replay_config"
        else ""
    )
    _module(
        pytester,
        config
        + f"\n{marker}\ndef test_a():\n    post('a')\n"
        + f"\n{marker}\ndef test_all_played():\n    post('a')\n",
    )
    result = pytester.runpytest("--tb=short", *(["--replay-strict"] if how == "option" else []))
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "E   replay.hygiene.usage.UnusedInteractionsError: Cassette */cassettes/test_chat/test_a.yaml: "
            "1 of 2 interactions was never played (strict usage):",
            "      #1 POST http://127.0.0.1:9/v1/chat/completions (model 'b', recorded *)",
            "    To fix: remove them (*llm-replay prune*",
        ],
        consecutive=True,
    )
    result.stdout.fnmatch_lines(
        ["FAILED test_chat.py::test_a - replay.hygiene.usage.UnusedInteractionsError*"]
    )
    assert "ERROR" not in result.stdout.str()  # a failure of the test, not of its teardown


def test_strict_is_not_judged_when_the_test_already_failed(pytester: pytest.Pytester) -> None:
    write_cassette(_cassette(pytester, "test_a"), chat_stream("a"), chat_stream("b"))
    _module(
        pytester, "\n@pytest.mark.replay\ndef test_a():\n    post('a')\n    assert False, 'own failure'\n"
    )
    result = pytester.runpytest("--replay-strict")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*AssertionError: own failure*"])
    assert "UnusedInteractionsError" not in result.stdout.str()


# -- usage log and prune -----------------------------------------------------------------------


@pytest.mark.parametrize("workers", [0, 2], ids=["serial", "xdist"])
def test_usage_log_then_prune_then_strict_passes(pytester: pytest.Pytester, workers: int) -> None:
    a = write_cassette(
        _cassette(pytester, "test_a"), chat_stream("a"), chat_stream("unused-1"), chat_stream("a2")
    )
    b = write_cassette(_cassette(pytester, "test_b"), chat_stream("b"), chat_stream("unused-2"))
    c = write_cassette(_cassette(pytester, "test_c"), chat_stream("c"))
    _module(
        pytester,
        "\n@pytest.mark.replay\ndef test_a():\n    post('a'); post('a2')\n"
        "\n@pytest.mark.replay\ndef test_b():\n    post('b')\n"
        "\n@pytest.mark.replay\ndef test_c():\n    post('c')\n",
    )
    args = ["--replay-usage-log", "usage.jsonl", *(["-n", str(workers)] if workers else [])]
    result = pytester.runpytest(*args)
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines(["llm-replay: usage log *usage.jsonl: 3 cassette use(s) of 3 cassette(s)"])
    log = replay.UsageLog.read(pytester.path / "usage.jsonl")
    by_test = {u.test: u for u in log.uses}
    assert set(by_test) == {"test_chat.py::test_a", "test_chat.py::test_b", "test_chat.py::test_c"}
    assert [i.plays for i in by_test["test_chat.py::test_a"].interactions] == [1, 0, 1]
    assert by_test["test_chat.py::test_b"].unplayed == [1]
    assert by_test["test_chat.py::test_c"].cassette == "cassettes/test_chat/test_c.yaml"

    before_c = c.read_bytes()
    assert (
        cli(["prune", "--usage-log", str(pytester.path / "usage.jsonl"), str(pytester.path / "cassettes")])
        == 0
    )
    assert [i.request.body for i in replay.load_cassette(a).interactions] == [
        chat_stream("a").request.body,
        chat_stream("a2").request.body,
    ]
    assert len(replay.load_cassette(b).interactions) == 1
    assert c.read_bytes() == before_c  # nothing to remove: not rewritten

    again = pytester.runpytest("--replay-strict")
    again.assert_outcomes(passed=3)
    assert "unused interactions" not in again.stdout.str()


# -- expiry ------------------------------------------------------------------------------------


def test_expired_cassette_warns_with_a_filterable_warning(pytester: pytest.Pytester) -> None:
    write_cassette(_cassette(pytester, "test_a"), chat_stream("a", recorded_at=OLD))
    _module(pytester, "\n@pytest.mark.replay(max_age='30d')\ndef test_a():\n    post('a')\n")
    # This project's own filterwarnings=error reaches the in-process run: set each filter explicitly.
    warned = pytester.runpytest("-W", "always::replay.CassetteExpiredWarning")
    warned.assert_outcomes(passed=1, warnings=1)
    warned.stdout.fnmatch_lines(
        [
            "*CassetteExpiredWarning: Cassette */test_a.yaml is * old (interaction #0 recorded "
            "2020-01-01T00:00:00Z), older than max_age=30d.",
        ]
    )
    as_error = pytester.runpytest("-W", "always", "-W", "error::replay.CassetteExpiredWarning")
    as_error.assert_outcomes(errors=1)
    # The warning raised after the cassette opened: it closed with the failing fixture, so no
    # virtual clock outlives the in-process run (it once did, and hung later tests' threads).
    assert VirtualClock._current is None
    ignored = pytester.runpytest("-W", "ignore::replay.ReplayWarning")
    ignored.assert_outcomes(passed=1)
    assert "CassetteExpiredWarning" not in ignored.stdout.str()


@pytest.mark.parametrize("where", ["option", "marker"])
def test_expired_cassette_fails_with_expiry_fail(pytester: pytest.Pytester, where: str) -> None:
    write_cassette(_cassette(pytester, "test_old"), chat_stream("a", recorded_at=OLD))
    write_cassette(_cassette(pytester, "test_fresh"), chat_stream("a"))
    marker = (
        "@pytest.mark.replay(max_age='12h', expiry='fail')" if where == "marker" else "@pytest.mark.replay"
    )
    _module(
        pytester,
        f"\n{marker}\ndef test_old():\n    post('a')\n\n{marker}\ndef test_fresh():\n    post('a')\n",
    )
    options = ["--replay-max-age=12h", "--replay-expiry=fail"] if where == "option" else []
    result = pytester.runpytest("--tb=short", *options)
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(
        [
            "E   replay.hygiene.expiry.CassetteExpiredError: Cassette */test_old.yaml is * old "
            "(interaction #0 recorded 2020-01-01T00:00:00Z), older than max_age=12h.",
            "E   To fix: re-record it (pytest --replay-record-mode=rewrite test_chat.py::test_old), *",
        ],
        consecutive=True,
    )


def test_bad_max_age_option_is_a_usage_error(pytester: pytest.Pytester) -> None:
    _module(pytester, "\ndef test_a():\n    pass\n")
    result = pytester.runpytest("--replay-max-age=30x")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--replay-max-age: Invalid max_age '30x': give a number with a unit*"])


def test_expiry_record_rerecords_and_summarises_the_change(
    pytester: pytest.Pytester, llm_server: LLMServer
) -> None:
    url = llm_server.base_url + "/v1/chat/completions"
    path = write_cassette(
        _cassette(pytester, "test_a"), chat_stream("a", tokens=("Old", " text"), recorded_at=OLD, url=url)
    )
    _module(pytester, "\n@pytest.mark.replay\ndef test_a():\n    assert 'local' in post('a')\n", url=url)
    result = pytester.runpytest("--replay-max-age=30d", "--replay-expiry=record")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(
        [
            "*- llm-replay: re-recorded cassettes -*",
            "[[]test_chat.py::test_a[]] cassettes/test_chat/test_a.yaml re-recorded: "
            "1 changed, 0 added, 0 removed, 0 unchanged",
            "  ~ #0 POST /v1/chat/completions: content changed: text 'Old text' -> 'Hello from the local "
            "test server.'; response.events: 5 events -> 10 events (+* more); "
            "ttfb 0.200s -> 0.0*s, duration 0.410s -> 0.*s, chunks 5 -> 10",
        ],
        consecutive=True,
    )
    fresh = replay.load_cassette(path).interactions
    assert len(fresh) == 1 and fresh[0].recorded_at is not None and fresh[0].recorded_at.year > 2020
    assert len(llm_server.requests) == 1


# -- rewrite and failures ----------------------------------------------------------------------


@pytest.mark.parametrize("on_failure", [False, True], ids=["discard", "record_on_failure"])
def test_rewrite_of_a_failing_test_keeps_the_old_cassette(
    pytester: pytest.Pytester, llm_server: LLMServer, on_failure: bool
) -> None:
    url = llm_server.base_url + "/v1/chat/completions"
    old = write_cassette(_cassette(pytester, "test_a"), chat_stream("a", tokens=("Old",), url=url))
    new_file = _cassette(pytester, "test_new")
    before = old.read_bytes()
    marker = "@pytest.mark.replay(record_on_failure=True)" if on_failure else "@pytest.mark.replay"
    _module(
        pytester,
        f"\n{marker}\ndef test_a():\n    post('a')\n    assert False, 'broke while recording'\n"
        f"\n{marker}\ndef test_new():\n    post('a')\n    assert False, 'broke while recording'\n",
        url=url,
    )
    result = pytester.runpytest("--replay-record-mode=rewrite")
    result.assert_outcomes(failed=2)
    assert len(llm_server.requests) == 2  # both recorded from the server
    if on_failure:
        assert old.read_bytes() != before
        assert "local" in replay.load_cassette(old).interactions[0].response.body.decode()
        assert new_file.exists()
        result.stdout.fnmatch_lines(["*test_a.yaml re-recorded: 1 changed*"])
    else:
        assert old.read_bytes() == before
        assert not new_file.exists()
        assert "re-recorded cassettes" not in result.stdout.str()


# -- collection listing for `llm-replay unused` ------------------------------------------------


def test_list_cassettes_writes_each_tests_cassette(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_mod="""
        import pytest

        def test_plain():
            pass

        @pytest.mark.parametrize("model", ["a", "b/c"])
        def test_param(model):
            pass

        class TestGroup:
            @pytest.mark.replay("shared/chat.yaml")
            def test_marked(self):
                pass
        """
    )
    result = pytester.runpytest("--collect-only", "-q", "--replay-list-cassettes", "listing.json")
    assert result.ret == 0
    listing = json.loads((pytester.path / "listing.json").read_text())
    got = {t["nodeid"]: Path(t["cassette"]).relative_to(pytester.path).as_posix() for t in listing["tests"]}
    assert got == {
        "test_mod.py::test_plain": "cassettes/test_mod/test_plain.yaml",
        "test_mod.py::test_param[a]": "cassettes/test_mod/test_param[a].yaml",
        "test_mod.py::test_param[b/c]": "cassettes/test_mod/test_param[b_c].yaml",
        "test_mod.py::TestGroup::test_marked": "shared/chat.yaml",
    }
