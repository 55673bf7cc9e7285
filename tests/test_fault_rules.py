"""The rules every fault follows: construction errors, selection (interaction=, match=,
times=), the fixed order, event counting, Content-Length, provider-shaped errors, inject(),
the report of faults that changed nothing, and bytes-level delivery through both client
libraries."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx
import httpx2
import pytest

import replay
from replay import synth
from replay.faults import (
    Disconnect,
    ErrorEvent,
    Fault,
    FaultNotApplied,
    FinishReason,
    HTTPError,
    Latency,
    MalformedEvent,
    Rechunk,
    Stall,
    Truncate,
    UsageOnlyChunk,
)
from replay.model.sse import parse_events

LIBS = pytest.mark.parametrize("library", ["httpx2", "httpx"])
SYNC_ASYNC = pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
OPENAI_URL = "https://api.openai.com/v1/chat/completions"
ANTHROPIC_URL = "https://api.anthropic.com/v1/messages"


def _save(tmp_path: Path, *interactions: replay.Interaction) -> Path:
    path = tmp_path / "synth.yaml"
    synth.cassette(*interactions).save(path)
    return path


def _post(
    library: str, url: str, *, is_async: bool, timeout: Any = 5.0, **kwargs: Any
) -> tuple[Any, list[bytes]]:
    """POST with the bare client library; the response and its body, one item per read."""
    lib = httpx2 if library == "httpx2" else httpx
    payload = kwargs.pop("json", {"model": "m", "messages": []})

    if is_async:

        async def go() -> tuple[Any, list[bytes]]:
            async with (
                lib.AsyncClient(timeout=timeout) as client,
                client.stream("POST", url, json=payload, **kwargs) as response,
            ):
                return response, [c async for c in response.aiter_raw()]

        return asyncio.run(go())
    with (
        lib.Client(timeout=timeout) as client,
        client.stream("POST", url, json=payload, **kwargs) as response,
    ):
        return response, list(response.iter_raw())


# -- construction ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("make", "error", "message"),
    [
        (lambda: Truncate(after=3), TypeError, r"unknown argument\(s\) 'after'.*it takes: .*after_events"),
        (lambda: Truncate(aftr_events=3), TypeError, r"did you mean 'after_events'\?"),
        (lambda: Truncate(1, 2), TypeError, r"at most 1 positional argument.*after_bytes"),
        (
            lambda: Truncate(after_events=1, after_bytes=5),
            ValueError,
            r"after_events and after_bytes contradict",
        ),
        (lambda: Disconnect(after_events=2, before_finish=True), ValueError, r"contradict each other"),
        (lambda: Stall(after_events=-1), ValueError, r"after_events must be a whole number >= 0"),
        (lambda: Stall(seconds=-2), ValueError, r"seconds must be a number of seconds >= 0"),
        (lambda: HTTPError(200), ValueError, r"error status 400-599, got 200"),
        (lambda: HTTPError(429, retry_after="soon"), ValueError, r"retry_after must be a number"),
        (
            lambda: HTTPError(429, provider="azure"),
            ValueError,
            r"provider must be one of openai, together, anthropic",
        ),
        (lambda: HTTPError(500, body={1, 2}), TypeError, r"body must be a dict/list"),
        (lambda: FinishReason(""), ValueError, r"non-empty reason"),
        (lambda: FinishReason("length", choice=-1), ValueError, r"choice must be a whole number"),
        (lambda: Rechunk(), ValueError, r"Rechunk needs size="),
        (lambda: Rechunk(0), ValueError, r"size must be a whole number >= 1"),
        (lambda: Rechunk(4, eol="\n\n"), ValueError, r"eol must be one of"),
        (lambda: Latency(), ValueError, r"Latency needs ttfb="),
        (lambda: Latency(ttfb=float("inf")), ValueError, r"ttfb must be finite"),
        (lambda: MalformedEvent(data="a\nb"), ValueError, r"one line"),
        (lambda: ErrorEvent(error_type=""), ValueError, r"error_type must be a non-empty string"),
        (lambda: Truncate(times=0), ValueError, r"times must be a whole number >= 1"),
        (lambda: Truncate(interaction=-1), ValueError, r"interaction must be a whole number >= 0"),
        (lambda: Truncate(match="openai"), TypeError, r"match must be a callable"),
        (lambda: replay.use_cassette("x.yaml", faults=["truncate"]), TypeError, r"replay.faults instances"),
        (lambda: replay.use_cassette("x.yaml", faults=[Truncate]), TypeError, r"write Truncate\(...\)"),
    ],
)
def test_bad_arguments_fail_at_construction(make: Any, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        make()


def test_faults_are_frozen_and_describe_themselves() -> None:
    fault = HTTPError(429, retry_after=20, times=2)
    with pytest.raises(AttributeError):
        fault.status = 500  # type: ignore[misc]
    assert repr(fault) == "HTTPError(429, retry_after=20, times=2)"
    assert repr(Truncate(after_events=3)) == "Truncate(after_events=3)"
    assert repr(FinishReason("length")) == "FinishReason('length')"
    ids = [
        FinishReason("length").id,
        HTTPError(429).id,
        Truncate(after_events=3).id,
        Rechunk(1).id,
        Truncate(before_finish=True).id,
        Disconnect(after_bytes=10, reset=True).id,
        Stall(after_events=2, seconds=30).id,
        Rechunk(4, eol="\r\n").id,
        Latency(ttfb=2, scale=3).id,
        HTTPError(500, interaction=1, times=2).id,
    ]
    assert ids == [
        "finish=length",
        "http=429",
        "truncate@3",
        "rechunk=1",
        "truncate@finish",
        "reset@10b",
        "stall@2=30s",
        "rechunk=4,eol=crlf",
        "ttfb=2s,latency=x3",
        "http=500,#1,times=2",
    ]
    assert FinishReason("length") == FinishReason("length")
    assert isinstance(Stall(), Fault)


# -- selection and counting ---------------------------------------------------------------


def _two_answers(tmp_path: Path) -> Path:
    return _save(
        tmp_path, synth.chat("first answer", stream=False), synth.chat("second answer", stream=False)
    )


def _contents(library: str, is_async: bool, n: int = 2) -> list[Any]:
    out = []
    for _ in range(n):
        response, body = _post(library, OPENAI_URL, is_async=is_async)
        data = json.loads(b"".join(body))
        out.append(
            data["choices"][0]["finish_reason"] if response.status_code == 200 else response.status_code
        )
    return out


@LIBS
@SYNC_ASYNC
def test_interaction_and_match_select_requests(library: str, is_async: bool, tmp_path: Path) -> None:
    path = _two_answers(tmp_path)
    with replay.use_cassette(path, faults=[FinishReason("length", interaction=1)]):
        assert _contents(library, is_async) == ["stop", "length"]
    seen: list[str] = []

    def second_only(request: replay.Request) -> bool:
        seen.append(request.url)
        return len(seen) == 2

    with replay.use_cassette(path, faults=[FinishReason("length", match=second_only)]):
        assert _contents(library, is_async) == ["stop", "length"]
    assert seen == [OPENAI_URL, OPENAI_URL]


@LIBS
def test_times_limits_the_responses_a_fault_changes(library: str, tmp_path: Path) -> None:
    path = _save(tmp_path, *(synth.chat(f"answer {i}", stream=False) for i in range(4)))
    with replay.use_cassette(path, faults=[FinishReason("length", times=2)]) as cassette:
        assert _contents(library, False, 4) == ["length", "length", "stop", "stop"]
    assert [s.applied for s in cassette.fault_report] == [2]


@LIBS
def test_http_error_does_not_use_up_the_interaction(library: str, tmp_path: Path) -> None:
    path = _save(tmp_path, synth.chat("only answer", stream=False))
    with replay.use_cassette(path, faults=[HTTPError(503, times=2)]) as cassette:
        assert _contents(library, False, 3) == [503, 503, "stop"]
        assert cassette.play_counts == [1]


def test_inject_adds_a_fault_for_later_requests(tmp_path: Path) -> None:
    path = _two_answers(tmp_path)
    with replay.use_cassette(path) as cassette:
        assert _contents("httpx2", False, 1) == ["stop"]
        cassette.inject(FinishReason("content_filter"))
        assert _contents("httpx2", False, 1) == ["content_filter"]


def test_a_fault_that_changes_nothing_is_reported_at_exit(tmp_path: Path) -> None:
    path = _two_answers(tmp_path)
    faults = [Truncate(after_events=2), FinishReason("length", interaction=5)]
    with pytest.raises(FaultNotApplied) as info, replay.use_cassette(path, faults=faults):
        _contents("httpx2", False, 2)
    message = str(info.value)
    assert f"2 fault(s) given to {path} changed no response" in message
    assert "Truncate(after_events=2): did not fit" in message
    assert "interaction #0: after_events=2 needs an event stream" in message
    assert "FinishReason('length', interaction=5): no replayed request selected it" in message
    assert "Fix the fault's position or its selector" in message


def test_a_failing_block_is_not_masked_by_the_fault_report(tmp_path: Path) -> None:
    path = _two_answers(tmp_path)
    with pytest.raises(ZeroDivisionError), replay.use_cassette(path, faults=[Truncate(after_events=2)]):
        1 / 0  # noqa: B018


def test_recorded_requests_are_named_in_the_report(tmp_path: Path, llm_server: Any) -> None:
    path = tmp_path / "new.yaml"
    with (
        pytest.raises(FaultNotApplied, match=r"1 request\(s\) were recorded, not replayed"),
        replay.use_cassette(path, record_mode="once", faults=[FinishReason("length")]),
    ):
        _post("httpx2", llm_server.base_url + "/v1/chat/completions", is_async=False)


# -- order, events, content-length ---------------------------------------------------------


def _plan_body(path: Path, faults: list[Fault], library: str = "httpx2") -> list[bytes]:
    with replay.use_cassette(path, faults=faults):
        _, body = _post(library, OPENAI_URL, is_async=False)
    return body


def test_fault_order_is_fixed_whatever_the_list_order(tmp_path: Path) -> None:
    path = _save(tmp_path, synth.chat("one two three four five six"))
    a = _plan_body(path, [Rechunk(3), FinishReason("length"), Truncate(before_finish=True)])
    b = _plan_body(path, [Truncate(before_finish=True), FinishReason("length"), Rechunk(3)])
    assert a == b
    assert all(len(piece) <= 3 for piece in a)
    events = parse_events(b"".join(a))
    assert all('finish_reason":"length' not in e.data for e in events)  # cut before it


def test_after_events_counts_data_events_not_pings_or_comments(tmp_path: Path) -> None:
    interaction = synth.chat("alpha beta gamma", provider="anthropic")
    path = _save(tmp_path, interaction)
    events = [e for e in interaction.response.events()]
    assert [e.event for e in events[:3]] == ["message_start", "content_block_start", "ping"]
    with replay.use_cassette(path, faults=[Truncate(after_events=3)]):
        _, body = _post("httpx2", ANTHROPIC_URL, is_async=False)
    delivered = parse_events(b"".join(body))
    # message_start, content_block_start, (ping: a keep-alive, not counted), first text delta
    assert [e.event for e in delivered] == [
        "message_start",
        "content_block_start",
        "ping",
        "content_block_delta",
    ]


def test_done_and_usage_chunks_count_as_events(tmp_path: Path) -> None:
    interaction = synth.chat("alpha beta")
    path = _save(tmp_path, interaction)
    n = len(interaction.response.events())
    assert interaction.response.events()[-1].is_done and interaction.response.events()[-2].data.startswith(
        '{"id"'
    )
    with replay.use_cassette(path, faults=[Truncate(after_events=n - 1)]):
        _, body = _post("httpx2", OPENAI_URL, is_async=False)
    delivered = parse_events(b"".join(body))
    assert len(delivered) == n - 1 and json.loads(delivered[-1].data)["choices"] == []  # usage-only kept
    with (
        pytest.raises(FaultNotApplied, match=f"only {n} data events"),
        replay.use_cassette(path, faults=[Truncate(after_events=n)]),
    ):
        _post("httpx2", OPENAI_URL, is_async=False)


@LIBS
def test_content_length_follows_rewrites(library: str, tmp_path: Path) -> None:
    path = _save(tmp_path, synth.chat("a short answer", stream=False))
    for faults in (
        [FinishReason("content_filter")],
        [Truncate(after_bytes=25)],
        [MalformedEvent(data="{oops")],
    ):
        with replay.use_cassette(path, faults=faults):
            response, body = _post(library, OPENAI_URL, is_async=False)
        assert int(response.headers["content-length"]) == len(b"".join(body))


def test_rewritten_bodies_stay_schema_valid_and_in_style(tmp_path: Path) -> None:
    interaction = synth.chat("streamed text", n=2)
    path = _save(tmp_path, interaction)
    with replay.use_cassette(path, faults=[FinishReason("length", choice=1)]):
        _, body = _post("httpx2", OPENAI_URL, is_async=False)
    response = replay.Response(
        status=200, headers=interaction.response.headers, chunks=[replay.Chunk(t=0, data=b"".join(body))]
    )
    completion = response.chat_completion()
    assert completion.finish_reasons == ["stop", "length"]  # type: ignore[union-attr]
    assert b'"finish_reason":"length"' in b"".join(body)  # compact, like the recording


# -- provider-shaped errors -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("provider", "status", "body", "headers"),
    [
        (
            "openai",
            429,
            {
                "error": {
                    "message": "Rate limit reached for requests. Please try again in 20s.",
                    "type": "requests",
                    "param": None,
                    "code": "rate_limit_exceeded",
                }
            },
            {
                "retry-after": "20",
                "retry-after-ms": "20000",
                "x-ratelimit-remaining-requests": "0",
                "x-ratelimit-reset-requests": "20s",
            },
        ),
        (
            "anthropic",
            429,
            {
                "type": "error",
                "error": {
                    "type": "rate_limit_error",
                    "message": "This request would exceed the rate limit for your organization. "
                    "Please try again later.",
                },
            },
            {"retry-after": "20", "anthropic-ratelimit-requests-remaining": "0"},
        ),
        (
            "anthropic",
            529,
            {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}},
            {"retry-after": "20"},
        ),
        (
            "together",
            429,
            {
                "error": {
                    "message": "Rate limit reached for requests. Please try again in 20s.",
                    "type": "rate_limit",
                    "param": None,
                    "code": None,
                }
            },
            {"retry-after": "20", "x-ratelimit-remaining": "0", "x-ratelimit-reset": "20"},
        ),
        (
            "openai",
            500,
            {
                "error": {
                    "message": "The server had an error while processing your request. Sorry about that!",
                    "type": "server_error",
                    "param": None,
                    "code": None,
                }
            },
            {"retry-after": "20"},
        ),
    ],
)
def test_http_error_bodies_and_headers_are_the_providers(
    provider: str, status: int, body: Any, headers: dict[str, str], tmp_path: Path
) -> None:
    url = {
        "openai": OPENAI_URL,
        "anthropic": ANTHROPIC_URL,
        "together": "https://api.together.xyz/v1/chat/completions",
    }[provider]
    path = _save(tmp_path, synth.chat("x", stream=False, provider=provider))  # type: ignore[arg-type]
    with replay.use_cassette(path, faults=[HTTPError(status, retry_after=20)]):
        response, raw = _post("httpx2", url, is_async=False)
    assert response.status_code == status
    assert json.loads(b"".join(raw)) == body
    for name, value in headers.items():
        assert response.headers[name] == value
    assert response.headers["content-type"] == "application/json"


def test_http_error_takes_a_custom_body_and_headers(tmp_path: Path) -> None:
    path = _save(tmp_path, synth.chat("x", stream=False))
    fault = HTTPError(503, body="upstream connect error", headers={"x-should-retry": "false"})
    with replay.use_cassette(path, faults=[fault]):
        response, raw = _post("httpx", OPENAI_URL, is_async=False)
    assert (response.status_code, b"".join(raw)) == (503, b"upstream connect error")
    assert response.headers["x-should-retry"] == "false"
    assert response.headers["content-type"].startswith("text/plain")


def test_error_event_is_the_providers_and_ends_the_stream(tmp_path: Path) -> None:
    path = _save(tmp_path, synth.chat("one two three four", provider="anthropic"))
    with replay.use_cassette(path, faults=[ErrorEvent(at_event=4, error_type="api_error", message="boom")]):
        _, body = _post("httpx2", ANTHROPIC_URL, is_async=False)
    events = parse_events(b"".join(body))
    assert events[-1].event == "error"
    assert json.loads(events[-1].data) == {"type": "error", "error": {"type": "api_error", "message": "boom"}}
    assert [e.event for e in events[:-1]] == [
        "message_start",
        "content_block_start",
        "ping",
        "content_block_delta",
        "content_block_delta",
    ]


# -- delivery through both client libraries -----------------------------------------------------


@LIBS
@SYNC_ASYNC
@pytest.mark.parametrize("size", [1, 7, 64])
def test_rechunk_gives_reads_of_exactly_size_bytes(
    library: str, is_async: bool, size: int, tmp_path: Path
) -> None:
    interaction = synth.chat("the same bytes in other reads")
    path = _save(tmp_path, interaction)
    with replay.use_cassette(path, faults=[Rechunk(size)]):
        _, body = _post(library, OPENAI_URL, is_async=is_async)
    assert b"".join(body) == interaction.response.body
    assert all(len(piece) == size for piece in body[:-1]) and 0 < len(body[-1]) <= size


@LIBS
@SYNC_ASYNC
def test_disconnect_and_truncate_at_the_byte(library: str, is_async: bool, tmp_path: Path) -> None:
    lib = httpx2 if library == "httpx2" else httpx
    interaction = synth.chat("the same bytes in other reads", stream=False)
    path = _save(tmp_path, interaction)
    with replay.use_cassette(path, faults=[Truncate(after_bytes=33)]):
        _, body = _post(library, OPENAI_URL, is_async=is_async)
    assert b"".join(body) == interaction.response.body[:33]
    closed = r"peer closed connection without sending complete message body: received 33 bytes, expected \d+"
    with (
        pytest.raises(lib.RemoteProtocolError, match=closed),
        replay.use_cassette(path, faults=[Disconnect(after_bytes=33)]),
    ):
        _post(library, OPENAI_URL, is_async=is_async)
    with (
        pytest.raises(lib.ReadError, match="Connection reset by peer"),
        replay.use_cassette(path, faults=[Disconnect(after_bytes=33, reset=True)]),
    ):
        _post(library, OPENAI_URL, is_async=is_async)


@LIBS
def test_latency_past_the_read_timeout_times_out_the_head(library: str, tmp_path: Path) -> None:
    lib = httpx2 if library == "httpx2" else httpx
    path = _save(tmp_path, synth.chat("x", stream=False))
    with (
        pytest.raises(lib.ReadTimeout),
        replay.use_cassette(path, faults=[Latency(ttfb=31)]),
    ):
        _post(library, OPENAI_URL, is_async=False, timeout=lib.Timeout(5.0, read=30.0))


def test_crlf_and_cr_line_endings_parse_the_same(tmp_path: Path) -> None:
    interaction = synth.chat("line endings differ, events do not")
    path = _save(tmp_path, interaction)
    original = [(e.event, e.data) for e in interaction.response.events()]
    for eol in ("\r\n", "\r"):
        with replay.use_cassette(path, faults=[Rechunk(1, eol=eol)]):  # type: ignore[arg-type]
            _, body = _post("httpx2", OPENAI_URL, is_async=False)
        data = b"".join(body)
        assert eol.encode() + eol.encode() in data and (
            eol == "\r" or b"\n\n" not in data.replace(b"\r\n", b"")
        )
        assert [(e.event, e.data) for e in parse_events(data)] == original


def test_usage_only_chunk_uses_usage_the_stream_carries(tmp_path: Path) -> None:
    # Together puts usage on its finish chunk; the usage-only chunk repeats those numbers.
    path = _save(tmp_path, synth.chat("four words right here", provider="together"))
    with replay.use_cassette(path, faults=[UsageOnlyChunk()]):
        _, body = _post("httpx", "https://api.together.xyz/v1/chat/completions", is_async=False)
    events = parse_events(b"".join(body))
    assert events[-1].is_done
    last = json.loads(events[-2].data)
    assert last["choices"] == [] and last["usage"] == {
        "prompt_tokens": 1,
        "completion_tokens": 4,
        "total_tokens": 5,
    }


def test_an_answer_that_replaced_the_recording_only_takes_timing_faults(tmp_path: Path) -> None:
    path = _save(tmp_path, synth.chat("a streamed answer"))
    faults = [HTTPError(429, times=1), Disconnect(after_events=2), Latency(ttfb=3)]
    with replay.use_cassette(path, faults=faults) as cassette:
        first, body = _post("httpx2", OPENAI_URL, is_async=False)
        assert (
            first.status_code == 429 and json.loads(b"".join(body))["error"]["code"] == "rate_limit_exceeded"
        )
        with pytest.raises(httpx2.RemoteProtocolError):
            _post("httpx2", OPENAI_URL, is_async=False)
    assert [s.applied for s in cassette.fault_report] == [1, 1, 2]
