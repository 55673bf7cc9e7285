"""The fault matrix: every fault x {stream, non-stream} x {sync, async} through the real SDKs
(openai and anthropic on httpx2, groq and together on httpx), against recordings of the local
server. Each case asserts the exact exception type the application gets (and the transport
error under it), or the exact result it parses, and that the cassette file is never touched.

Where SDK releases differ, the expectation says which versions do what (keyed on the installed
version), so a new SDK release that moves the behaviour fails here with the version in the id
of the case rather than silently pinning one release.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import anthropic
import groq
import httpx
import httpx2
import openai
import pytest
import together
from fault_helpers import Seen, ask, record_chat, snapshot
from llm_server import LLMServer, Script
from packaging.version import Version

import replay
from replay.faults import (
    Disconnect,
    EmptyChoices,
    ErrorEvent,
    Fault,
    FaultNotApplied,
    FinishReason,
    HTTPError,
    Latency,
    MalformedEvent,
    NullDeltaContent,
    Rechunk,
    Stall,
    Truncate,
    UsageOnlyChunk,
)

TEXT = "Hello from the local test server."
SDKS = ("openai", "anthropic", "groq", "together")
BASE_FINISH = {"openai": "stop", "anthropic": "end_turn", "groq": "stop", "together": "stop"}


@dataclass(frozen=True)
class Ok:
    """The call succeeds; ``text``/``finish`` default to the recording's."""

    text: Any = "recorded"
    finish: Any = "recorded"
    check: Callable[[Seen, replay.Interaction], None] | None = None


@dataclass(frozen=True)
class Raises:
    """The application gets exactly ``exc`` (raised from exactly ``cause``, if given)."""

    exc: type[BaseException]
    cause: type[BaseException] | None = None


@dataclass(frozen=True)
class NotApplicable:
    """The fault does not fit this response: the recording plays, and the cassette reports it."""


NA = NotApplicable()

# anthropic 2.17.0 wraps a transport error raised while iterating a stream in its own
# APIConnectionError / APITimeoutError (`raise ... from err`); 2.16.0 and earlier (checked
# against the 2.13.0, 2.15.0 and 2.16.0 wheels) let the httpx2 exception reach the application.
ANTHROPIC_WRAPS_STREAM_ERRORS = Version(metadata.version("anthropic")) >= Version("2.17.0")


def _anthropic_stream(wrapper: type[BaseException], transport: type[BaseException]) -> Raises:
    """What anthropic's stream iteration raises on a transport error, for the installed version."""
    return Raises(wrapper, transport) if ANTHROPIC_WRAPS_STREAM_ERRORS else Raises(transport)


def _head_at(ttfb: float) -> Callable[[Seen, replay.Interaction], None]:
    def check(seen: Seen, recorded: replay.Interaction) -> None:
        # create() returns with the head (streams) or with the whole body (non-stream), whose
        # recorded distance from the head is kept.
        response = recorded.response
        after_head = 0.0 if response.is_event_stream else response.chunks[-1].t - response.t
        assert seen.head_at == pytest.approx(ttfb + after_head, abs=1e-6)

    return check


def _reads(size: int | None, eol: str | None = None) -> Callable[[Seen, replay.Interaction], None]:
    """The network reads the SDK got: ``size`` bytes each, line endings ``eol``, same content."""

    def check(seen: Seen, recorded: replay.Interaction) -> None:
        got = b"".join(data for _, data in seen.reads)
        want = b"".join(c.data for c in recorded.response.chunks)
        assert b"\r" not in want
        if eol is None:
            assert got == want
        else:
            assert got.replace(eol.encode(), b"\n") == want
            assert got.count(b"\n") == (got.count(b"\r\n") if eol == "\r\n" else 0)
        sizes = [len(data) for _, data in seen.reads]
        if size is None:
            assert len(sizes) == len(recorded.response.chunks)
        else:
            assert sizes[:-1] == [size] * (len(sizes) - 1) and 1 <= sizes[-1] <= size, sizes

    return check


def _stalled(seconds: float) -> Callable[[Seen, replay.Interaction], None]:
    """The reads arrive on the recorded schedule, except that from one read on all are late by
    exactly ``seconds`` (virtual clock)."""

    def check(seen: Seen, recorded: replay.Interaction) -> None:
        chunks = recorded.response.chunks
        assert b"".join(data for _, data in seen.reads) == b"".join(c.data for c in chunks)
        pos, lateness = 0, []
        for t, data in seen.reads:  # each read is compared with the recorded chunk it ends in
            pos += len(data)
            end = 0
            for chunk in chunks:
                end += len(chunk.data)
                if end >= pos:
                    lateness.append(t - chunk.t)
                    break
        late = [round(x, 6) for x in lateness]
        assert late[0] == 0.0 and late[-1] == seconds, late
        assert sorted(late) == late and set(late) == {0.0, seconds}, late

    return check


def _empty_choices_stream(seen: Seen, recorded: replay.Interaction) -> None:
    assert seen.choice_counts[0] == 0  # a choice-less chunk first (Azure's prompt-filter chunk)
    assert all(n == 1 for n in seen.choice_counts[1:])


def _no_choices(seen: Seen, recorded: replay.Interaction) -> None:
    assert seen.n_choices == 0


def _null_first_and_last(seen: Seen, recorded: replay.Interaction) -> None:
    assert seen.contents[0] is None and seen.contents[-1] is None
    assert all(isinstance(c, str) for c in seen.contents[1:-1])


def _usage_only_last(seen: Seen, recorded: replay.Interaction) -> None:
    assert seen.choice_counts[-1] == 0
    # The recorded stream had no usage: estimated at four characters per token.
    assert seen.usage == (math.ceil(len(recorded.request.body) / 4), math.ceil(len(TEXT) / 4))


def _choices_none(seen: Seen, recorded: replay.Interaction) -> None:
    # A 200 whose body is an error object: the SDK builds a completion with nothing in it.
    assert seen.n_choices is None and seen.text is None


def _content_none(seen: Seen, recorded: replay.Interaction) -> None:
    assert seen.text is None


# (fault, what the app sees when streaming, what it sees without streaming)
OPENAI_CASES: list[tuple[Fault, Any, Any]] = [
    (HTTPError(429), Raises(openai.RateLimitError), Raises(openai.RateLimitError)),
    (HTTPError(500), Raises(openai.InternalServerError), Raises(openai.InternalServerError)),
    (Truncate(), Ok(text="Hello from the local", finish=None), Raises(json.JSONDecodeError)),
    (Truncate(after_events=3), Ok(text="Hello from", finish=None), NA),
    (Truncate(before_finish=True), Ok(finish=None), NA),
    (
        Disconnect(),
        Raises(openai.APIConnectionError, httpx2.RemoteProtocolError),
        Raises(openai.APIConnectionError, httpx2.RemoteProtocolError),
    ),
    (
        Disconnect(after_events=2, reset=True),
        Raises(openai.APIConnectionError, httpx2.ReadError),
        NA,
    ),
    (
        Disconnect(after_bytes=10, reset=True),
        Raises(openai.APIConnectionError, httpx2.ReadError),
        Raises(openai.APIConnectionError, httpx2.ReadError),
    ),
    (
        Stall(),
        Raises(openai.APITimeoutError, httpx2.ReadTimeout),
        Raises(openai.APITimeoutError, httpx2.ReadTimeout),
    ),
    (Stall(after_events=2, seconds=30), Ok(check=_stalled(30)), NA),
    (MalformedEvent(), Raises(json.JSONDecodeError), Raises(json.JSONDecodeError)),
    (ErrorEvent(at_event=3), Raises(openai.APIError), NA),
    (ErrorEvent(), Raises(openai.APIError), Ok(text=None, finish=None, check=_choices_none)),
    (Rechunk(1), Ok(check=_reads(1)), Ok(check=_reads(1))),
    (Rechunk(5, eol="\r\n"), Ok(check=_reads(5, "\r\n")), NA),
    (Rechunk(eol="\r"), Ok(check=_reads(None, "\r")), NA),
    (FinishReason("length"), Ok(finish="length"), Ok(finish="length")),
    (FinishReason("content_filter"), Ok(finish="content_filter"), Ok(finish="content_filter")),
    (FinishReason("end_turn"), Ok(finish="stop"), Ok(finish="stop")),  # Anthropic's name, mapped
    (Latency(ttfb=2.5), Ok(check=_head_at(2.5)), Ok(check=_head_at(2.5))),
    (Latency(ttfb=700), Raises(openai.APITimeoutError, httpx2.ReadTimeout), Raises(openai.APITimeoutError)),
    (EmptyChoices(), Ok(check=_empty_choices_stream), Ok(text=None, finish=None, check=_no_choices)),
    (NullDeltaContent(), Ok(check=_null_first_and_last), Ok(text=None, check=_content_none)),
    (UsageOnlyChunk(), Ok(check=_usage_only_last), NA),
]

ANTHROPIC_CASES: list[tuple[Fault, Any, Any]] = [
    (HTTPError(429), Raises(anthropic.RateLimitError), Raises(anthropic.RateLimitError)),
    (HTTPError(529), Raises(anthropic.OverloadedError), Raises(anthropic.OverloadedError)),
    (HTTPError(500), Raises(anthropic.InternalServerError), Raises(anthropic.InternalServerError)),
    (Truncate(after_events=4), Ok(text="Hello from", finish=None), NA),
    (Truncate(before_finish=True), Ok(finish=None), NA),
    (Truncate(), Ok(text="Hello from the local", finish=None), Raises(json.JSONDecodeError)),
    (
        Disconnect(),
        _anthropic_stream(anthropic.APIConnectionError, httpx2.RemoteProtocolError),
        Raises(anthropic.APIConnectionError, httpx2.RemoteProtocolError),
    ),
    (
        Disconnect(reset=True),
        _anthropic_stream(anthropic.APIConnectionError, httpx2.ReadError),
        Raises(anthropic.APIConnectionError, httpx2.ReadError),
    ),
    (
        Stall(),
        _anthropic_stream(anthropic.APITimeoutError, httpx2.ReadTimeout),
        Raises(anthropic.APITimeoutError, httpx2.ReadTimeout),
    ),
    (MalformedEvent(), Raises(json.JSONDecodeError), Raises(json.JSONDecodeError)),
    (ErrorEvent(), Raises(anthropic.APIStatusError), Ok(text=None, finish=None)),
    (Rechunk(1), Ok(check=_reads(1)), Ok(check=_reads(1))),
    (Rechunk(3, eol="\r\n"), Ok(check=_reads(3, "\r\n")), NA),
    (FinishReason("length"), Ok(finish="max_tokens"), Ok(finish="max_tokens")),
    (FinishReason("refusal"), Ok(finish="refusal"), Ok(finish="refusal")),
    (Latency(ttfb=2.5), Ok(check=_head_at(2.5)), Ok(check=_head_at(2.5))),
    (
        Latency(ttfb=700),
        Raises(anthropic.APITimeoutError, httpx2.ReadTimeout),
        Raises(anthropic.APITimeoutError, httpx2.ReadTimeout),
    ),
    (EmptyChoices(), NA, NA),
    (NullDeltaContent(), NA, NA),
    (UsageOnlyChunk(), NA, NA),
]

# The httpx-based SDKs: the client library's own exception classes reach the application.
GROQ_CASES: list[tuple[Fault, Any, Any]] = [
    (
        Disconnect(),
        Raises(httpx.RemoteProtocolError),
        Raises(groq.APIConnectionError, httpx.RemoteProtocolError),
    ),
    (Disconnect(reset=True), Raises(httpx.ReadError), Raises(groq.APIConnectionError, httpx.ReadError)),
    (Stall(), Raises(httpx.ReadTimeout), Raises(groq.APITimeoutError, httpx.ReadTimeout)),
    (HTTPError(429), Raises(groq.RateLimitError), Raises(groq.RateLimitError)),
    (ErrorEvent(), Raises(groq.APIError), Ok(text=None, finish=None, check=_choices_none)),
    (FinishReason("length"), Ok(finish="length"), Ok(finish="length")),
    (Truncate(), Ok(text="Hello from the local", finish=None), Raises(json.JSONDecodeError)),
    (
        Latency(ttfb=700),
        Raises(groq.APITimeoutError, httpx.ReadTimeout),
        Raises(groq.APITimeoutError, httpx.ReadTimeout),
    ),
    (EmptyChoices(), Ok(check=_empty_choices_stream), Ok(text=None, finish=None, check=_no_choices)),
]
TOGETHER_CASES: list[tuple[Fault, Any, Any]] = [
    (FinishReason("eos"), Ok(finish="eos"), Ok(finish="eos")),
    (
        Disconnect(),
        Raises(httpx.RemoteProtocolError),
        Raises(together.APIConnectionError, httpx.RemoteProtocolError),
    ),
    (Stall(), Raises(httpx.ReadTimeout), Raises(together.APITimeoutError, httpx.ReadTimeout)),
    (HTTPError(500), Raises(together.InternalServerError), Raises(together.InternalServerError)),
    (Rechunk(1), Ok(check=_reads(1)), Ok(check=_reads(1))),
]


def _params() -> Iterator[Any]:
    for sdk, cases in (
        ("openai", OPENAI_CASES),
        ("anthropic", ANTHROPIC_CASES),
        ("groq", GROQ_CASES),
        ("together", TOGETHER_CASES),
    ):
        for fault, on_stream, on_json in cases:
            for stream, expect in ((True, on_stream), (False, on_json)):
                for is_async in (False, True):
                    mode = f"{'stream' if stream else 'json'}-{'async' if is_async else 'sync'}"
                    yield pytest.param(sdk, fault, stream, is_async, expect, id=f"{sdk}-{fault.id}-{mode}")


@pytest.fixture(scope="module")
def recordings(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[str, dict[tuple[str, bool], Path]]]:
    """One recording per SDK and streaming mode, made once from the local server."""
    folder = tmp_path_factory.mktemp("matrix")
    paths = {
        (sdk, stream): folder / f"{sdk}-{'stream' if stream else 'json'}.yaml"
        for sdk in SDKS
        for stream in (True, False)
    }
    with LLMServer(Script(head_delay=0.02, first_delay=0.01, gaps=[0.005, 0.01, 0.015])) as server:
        base = server.base_url
        for (sdk, stream), path in paths.items():
            record_chat(sdk, base, path, stream=stream)
    yield base, paths  # the server is stopped: every test replays


@pytest.mark.parametrize(("sdk", "fault", "stream", "is_async", "expect"), list(_params()))
def test_fault_matrix(
    sdk: str,
    fault: Fault,
    stream: bool,
    is_async: bool,
    expect: Any,
    recordings: tuple[str, dict[tuple[str, bool], Path]],
    no_network: Any,
) -> None:
    base, paths = recordings
    path = paths[sdk, stream]
    before = snapshot(list(paths.values()))
    recorded = replay.load_cassette(path).interactions[0]

    context = replay.use_cassette(path, faults=[fault])
    active = context.open()
    try:
        seen = ask(sdk, base, stream=stream, is_async=is_async)
    finally:
        if isinstance(expect, NotApplicable):
            with pytest.raises(FaultNotApplied, match=r"changed no response"):
                context.close()
        else:
            context.close()

    assert snapshot(list(paths.values())) == before, "a fault modified a cassette file"
    assert no_network.attempts == []
    if isinstance(expect, Raises):
        assert seen.error is expect.exc, f"{seen.error}: {seen.message}"
        if expect.cause is not None:
            assert seen.cause is expect.cause, f"{seen.error} came from {seen.cause}"
        return
    assert seen.error is None, f"{seen.error}: {seen.message}"
    if isinstance(expect, NotApplicable):
        assert seen.text == TEXT and seen.finish == BASE_FINISH[sdk]
        assert active.fault_report[0].applied == 0
        return
    text = TEXT if expect.text == "recorded" else expect.text
    finish = BASE_FINISH[sdk] if expect.finish == "recorded" else expect.finish
    assert seen.text == text
    assert seen.finish == finish
    if expect.check is not None:
        expect.check(seen, recorded)
    assert active.fault_report[0].applied == 1


def test_the_docs_state_how_many_cases_exercise_a_fault() -> None:
    params = list(_params())
    exercised = sum(not isinstance(p.values[4], NotApplicable) for p in params)
    readme = (Path(__file__).parent.parent / "docs" / "guides" / "faults.md").read_text()
    assert f"Of the matrix's {len(params)} cases" in readme
    assert f"{exercised} exercise their\nfault" in readme
    assert f"the other {len(params) - exercised} are faults" in readme
    pairs = [c for cases in (OPENAI_CASES, ANTHROPIC_CASES, GROQ_CASES, TOGETHER_CASES) for c in cases]
    used = sum(not (on_stream is NA and on_json is NA) for _, on_stream, on_json in pairs)
    assert f"By SDK x fault pair, {used} of {len(pairs)} exercise their fault" in readme
