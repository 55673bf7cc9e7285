"""The library side of cassette hygiene: strict usage, expiry, re-recording changes, diff, usage logs."""

from __future__ import annotations

import asyncio
import json
import re
import warnings
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx2
import pytest
from cassette_factory import LOCAL_URL as URL
from cassette_factory import chat_body, chat_stream, write_cassette
from llm_server import LLMServer
from sdk_helpers import run_chat

import replay
from replay.hygiene.expiry import ExpiryPolicy, format_age, parse_max_age
from replay.hygiene.usage import UsageLog, UsageLogError

SYNC_ASYNC = pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
OLD = datetime(2020, 1, 1, tzinfo=timezone.utc)


def _post_all(path: Path, models: list[str], *, is_async: bool, **kwargs: object) -> replay.ActiveCassette:
    if is_async:

        async def go() -> replay.ActiveCassette:
            async with replay.use_cassette(path, **kwargs) as active, httpx2.AsyncClient() as client:  # type: ignore[arg-type]
                for model in models:
                    await client.post(URL, json=chat_body(model))
            return active

        return asyncio.run(go())
    with replay.use_cassette(path, **kwargs) as active, httpx2.Client() as client:  # type: ignore[arg-type]
        for model in models:
            client.post(URL, json=chat_body(model))
    return active


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("30d", 30 * 86400),
        ("12h", 43200),
        ("1d12h", 129600),
        ("90m", 5400),
        ("2w", 1209600),
        ("1.5h", 5400),
        (45, 45),
    ],
)
def test_max_age_forms(text: object, seconds: float) -> None:
    assert parse_max_age(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize("bad", ["30x", "d", "", "-1d", 0, True, [1]])
def test_bad_max_age_says_how_to_write_one(bad: object) -> None:
    with pytest.raises(ValueError, match="max_age"):
        parse_max_age(bad)


def test_bad_expiry_is_rejected_when_the_cassette_is_configured(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"Unknown expiry 'later'; expected one of: warn, fail, record\."):
        replay.use_cassette(tmp_path / "x.yaml", max_age="1d", expiry="later")


@SYNC_ASYNC
def test_strict_raises_on_exit_naming_the_unplayed(tmp_path: Path, is_async: bool) -> None:
    path = write_cassette(tmp_path / "c.yaml", chat_stream("a"), chat_stream("b"), chat_stream("c"))
    with pytest.raises(replay.UnusedInteractionsError) as info:
        _post_all(path, ["b"], is_async=is_async, strict=True)
    message = str(info.value)
    assert message.startswith(f"Cassette {path}: 2 of 3 interactions were never played (strict usage):\n")
    assert "  #0 POST http://127.0.0.1:9/v1/chat/completions (model 'a', recorded " in message
    assert "  #2 POST http://127.0.0.1:9/v1/chat/completions (model 'c', recorded " in message
    assert "#1 " not in message
    active = _post_all(path, ["a", "b", "c"], is_async=is_async, strict=True)
    assert active.all_played


def test_strict_does_not_mask_the_blocks_own_error(tmp_path: Path) -> None:
    path = write_cassette(tmp_path / "c.yaml", chat_stream("a"), chat_stream("b"))
    with pytest.raises(KeyError), replay.use_cassette(path, strict=True):
        raise KeyError("own")


def test_expiry_warns_fails_and_ignores_undated(tmp_path: Path) -> None:
    old = write_cassette(tmp_path / "old.yaml", chat_stream("a", recorded_at=OLD), chat_stream("b"))
    with pytest.warns(replay.CassetteExpiredWarning, match=r"old\.yaml is \d+d( \d+h)? old \(interaction #0"):
        _post_all(old, ["a", "b"], is_async=False, max_age="30d")
    with pytest.raises(replay.CassetteExpiredError, match="older than max_age=1d"):
        _post_all(old, [], is_async=False, max_age="1d", expiry="fail")
    undated = write_cassette(
        tmp_path / "undated.yaml", chat_stream("a").model_copy(update={"recorded_at": None})
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _post_all(undated, ["a"], is_async=False, max_age="1s", expiry="fail")
    fresh = write_cassette(tmp_path / "fresh.yaml", chat_stream("a"))
    _post_all(fresh, ["a"], is_async=False, max_age="1h", expiry="fail")
    assert format_age(timedelta(days=41, hours=3, minutes=5)) == "41d 3h"


@pytest.mark.parametrize(("max_age", "limit"), [("90m", 5400), ("12h", 43200), ("30d", 30 * 86400)])
def test_expiry_starts_exactly_at_max_age(tmp_path: Path, max_age: str, limit: float) -> None:
    # Just below the limit replays; just above fails (a minute either side of the real clock,
    # far beyond the test's own run time; the exact edge is checked below on a given `now`).
    now = datetime.now(timezone.utc)
    below = write_cassette(
        tmp_path / "below.yaml", chat_stream("a", recorded_at=now - timedelta(seconds=limit - 60))
    )
    _post_all(below, ["a"], is_async=False, max_age=max_age, expiry="fail")
    above = write_cassette(
        tmp_path / "above.yaml", chat_stream("a", recorded_at=now - timedelta(seconds=limit + 60))
    )
    with pytest.raises(
        replay.CassetteExpiredError, match=f"older than max_age={format_age(timedelta(seconds=limit))}\\."
    ):
        _post_all(above, [], is_async=False, max_age=max_age, expiry="fail")
    policy = ExpiryPolicy.make(max_age, "fail")
    assert policy is not None
    cassette = replay.load_cassette(above)
    recorded = cassette.interactions[0].recorded_at
    assert recorded is not None
    edge = recorded + timedelta(seconds=limit)
    assert policy.expired_message(above, cassette, now=edge) is None
    assert policy.expired_message(above, cassette, now=edge + timedelta(seconds=1)) is not None


@SYNC_ASYNC
@pytest.mark.parametrize("how", ["expiry", "rewrite", "all"])
def test_rerecording_reports_what_changed(
    tmp_path: Path, llm_server: LLMServer, is_async: bool, how: str
) -> None:
    base = llm_server.base_url
    path = tmp_path / "chat.yaml"
    with replay.use_cassette(path, record_mode="once"):
        run_chat("openai", base, stream=True, is_async=is_async)
    old = replay.load_cassette(path)
    dated = [i.model_copy(update={"recorded_at": OLD}) for i in old.interactions]
    replay.save_cassette(replay.Cassette(interactions=dated), path)
    llm_server.script.tokens = ["Changed", " answer"]
    kwargs = {"expiry": {"max_age": "30d", "expiry": "record"}, "rewrite": {"record_mode": "rewrite"}}.get(
        how, {"record_mode": "all"}
    )
    with replay.use_cassette(path, **kwargs) as active:  # type: ignore[arg-type]
        run = run_chat("openai", base, stream=True, is_async=is_async)
    assert run.text == "Changed answer"
    changes = active.changes
    assert changes is not None
    assert changes.headline() == f"{path} re-recorded: 1 changed, 0 added, 0 removed, 0 unchanged"
    (line,) = changes.lines()
    assert line.startswith(
        "~ #0 POST /v1/chat/completions: content changed: text 'Hello from the local test server.' -> "
        "'Changed answer'; response.events: 11 events -> 6 events"
    )
    assert re.search(r"; ttfb 0\.\d{3}s -> 0\.\d{3}s, duration 0\.\d{3}s -> 0\.\d{3}s, chunks 11 -> 6$", line)
    assert changes.as_dict()["changed"] == 1
    saved = replay.load_cassette(path).interactions
    assert len(saved) == (2 if how == "all" else 1)  # `all` appends, the others replace
    assert saved[-1].recorded_at is not None and saved[-1].recorded_at > OLD


def test_no_changes_summary_for_a_first_recording(tmp_path: Path, llm_server: LLMServer) -> None:
    with replay.use_cassette(tmp_path / "new.yaml", record_mode="rewrite") as active:
        run_chat("openai", llm_server.base_url, stream=False, is_async=False)
    assert active.saved and active.changes is None


def test_diff_pairs_by_request_then_by_path_and_compares_json_bodies() -> None:
    def json_reply(model: str, content: str) -> replay.Interaction:
        body = {"model": model, "choices": [{"message": {"content": content}, "finish_reason": "stop"}]}
        base = chat_stream(model)
        return base.model_copy(
            update={
                "response": replay.Response(
                    status=200,
                    t=0.3,
                    headers=[("content-type", "application/json"), ("date", "Mon")],
                    chunks=[replay.Chunk(t=0.4, data=json.dumps(body).encode())],
                )
            }
        )

    a = [json_reply("x", "one"), json_reply("y", "two")]
    b = [json_reply("y", "two"), json_reply("z", "three")]
    b[0].response.headers[1] = ("date", "Tue")  # ignored by default
    result = replay.diff_cassettes(a, b)
    assert [(d.a_index, d.b_index, d.status) for d in result.interactions] == [
        (1, 0, "same"),
        (0, 1, "changed"),
    ]
    changed = result.interactions[1]
    assert [str(c) for c in changed.changes] == [
        'request.body.model: "x" -> "z"',
        'response.body.model: "x" -> "z"',
        'response.body.choices[0].message.content: "one" -> "three"',
    ]
    assert changed.text_a == "one" and changed.text_b == "three"
    strict = replay.diff_cassettes(a, b, ignore_headers=())
    assert [str(c) for c in strict.interactions[0].changes] == ['response.headers.date: "Mon" -> "Tue"']


def test_usage_log_round_trip_and_bad_lines(tmp_path: Path) -> None:
    path = write_cassette(tmp_path / "c.yaml", chat_stream("a"), chat_stream("b"))
    active = _post_all(path, ["a"], is_async=False)
    from replay.hygiene.usage import use_from_active

    use = use_from_active(active, rootdir=tmp_path, test="t::x", outcome="passed")
    log_path = tmp_path / "log.jsonl"
    UsageLog(tmp_path, [use]).write(log_path)
    again = UsageLog.read(log_path)
    assert again.uses == [use] and again.rootdir == tmp_path
    assert again.resolve(use) == path and use.unplayed == [1]
    log_path.write_text(log_path.read_text() + '{"cassette": 3}\n')
    with pytest.raises(UsageLogError, match=r"log\.jsonl: line 3 is not a valid cassette use"):
        UsageLog.read(log_path)
