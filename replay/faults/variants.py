"""One recording, every edge case: a test parametrized over sets of faults.

A :class:`Variant` is a named set of faults. :data:`EDGE_CASES` lists what code handling
OpenAI-compatible chat completions must survive, :data:`ANTHROPIC_EDGE_CASES` the same for
Anthropic messages. :func:`variants` turns them into ``pytest.param`` values for
``pytest.mark.parametrize("replay_variant", ...)``; the pytest plugin's
``@pytest.mark.replay_variants(...)`` does the parametrizing for you. Either way each variant
runs the whole test against the one recording, with the variant's faults applied, under a
readable id: ``test_chat[finish=length]``, ``test_chat[http=429]``, ``test_chat[rechunk=1]``.

Example usage::

    @pytest.mark.replay_variants(replay.EDGE_CASES)
    def test_chat_survives(replay_variant):
        answer = my_app.ask("hi")         # whatever the variant does to the response...
        assert answer.text or answer.error  # ...the app must not crash
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from . import (
    Disconnect,
    EmptyChoices,
    ErrorEvent,
    Fault,
    FinishReason,
    HTTPError,
    MalformedEvent,
    NullDeltaContent,
    Rechunk,
    Stall,
    Truncate,
    UsageOnlyChunk,
)

__all__ = [
    "ANTHROPIC_EDGE_CASES",
    "BASELINE",
    "BEDROCK_EDGE_CASES",
    "EDGE_CASES",
    "EDGE_CASES_BY_API",
    "GEMINI_EDGE_CASES",
    "OLLAMA_EDGE_CASES",
    "RESPONSES_EDGE_CASES",
    "Variant",
    "as_variant",
    "edge_cases_for",
    "variants",
]


@dataclass(frozen=True, slots=True)
class Variant:
    """A named set of faults; ``id`` becomes the test id (``test_chat[finish=length]``).

    Example usage::

        flaky = replay.Variant("flaky", (HTTPError(429, times=1), Rechunk(1)), "retried, split reads")
    """

    id: str
    faults: tuple[Fault, ...] = ()
    description: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.id, str) or not self.id:
            raise ValueError(f"a variant needs a non-empty id, got {self.id!r}")
        for fault in self.faults:
            if not isinstance(fault, Fault):
                raise TypeError(f"variant {self.id!r}: {fault!r} is not a replay.faults fault")

    def __repr__(self) -> str:
        return f"Variant({self.id!r})"


BASELINE = Variant("recorded", (), "the recording as it is, no faults")


def _v(description: str, *faults: Fault) -> Variant:
    return Variant("+".join(f.id for f in faults), faults, description)


def _edge_cases(
    finishes: Sequence[tuple[str, str]],
    ends_before: str,
    *,
    content: Sequence[Variant] = (),
    mid_stream: Sequence[Variant] = (),
    statuses: Sequence[Variant] = (),
) -> tuple[Variant, ...]:
    """The variants every API shares, around its own: its finish reasons (written in its own
    field by :class:`~replay.faults.FinishReason`), its ``content`` rewrites, its ``mid_stream``
    errors and its error ``statuses`` (between a rate limit and a server failure)."""
    return (
        *(_v(description, FinishReason(reason)) for reason, description in finishes),
        *content,
        _v(f"the stream ends cleanly before {ends_before} (streams only)", Truncate(before_finish=True)),
        _v("the connection drops mid-body", Disconnect()),
        *mid_stream,
        _v("rate limited, with retry-after: 20", HTTPError(429, retry_after=20)),
        *statuses,
        _v("the server fails", HTTPError(500)),
        _v("the server goes silent past the client's read timeout", Stall()),
        _v("every event split across reads, one byte each", Rechunk(1)),
    )


EDGE_CASES: tuple[Variant, ...] = _edge_cases(
    [
        ("length", "the answer was cut at max_tokens"),
        ("eos", "Together's end-of-sequence reason"),
        ("tool_calls", "the model asked for tools (the message may have no content)"),
        ("content_filter", "the provider's filter stopped the answer"),
        ("error", "the provider failed mid-generation"),
    ],
    "the finish chunk",
    content=(
        _v(
            "delta.content is null on the first and last chunks (message.content null if not streamed)",
            NullDeltaContent(),
        ),
        _v("a final usage-only chunk with choices: [] (streams only)", UsageOnlyChunk()),
        _v(
            "choices: [] (a non-stream body without choices; a stream opening with a choice-less chunk)",
            EmptyChoices(),
        ),
    ),
)
"""What code handling OpenAI-compatible chat completions must survive."""

ANTHROPIC_EDGE_CASES: tuple[Variant, ...] = _edge_cases(
    [
        ("max_tokens", "the answer was cut at max_tokens"),
        ("tool_use", "the model asked for tools"),
        ("stop_sequence", "a stop sequence ended the answer"),
        ("refusal", "the model refused"),
        ("pause_turn", "the server paused a long turn"),
    ],
    "message_delta",
    mid_stream=[_v("an overloaded_error event mid-stream", ErrorEvent())],
    statuses=[_v("Anthropic is overloaded", HTTPError(529))],
)
"""What code handling Anthropic messages must survive."""


def _framed(api: str, finishes: Sequence[tuple[str, str]], error: str) -> tuple[Variant, ...]:
    """The variants of a streamed API, counted in its own framing's events."""
    mid_stream = [_v(error, ErrorEvent()), _v("one event's payload is cut in half", MalformedEvent())]
    return _edge_cases(finishes, f"the {api} finish", mid_stream=mid_stream)


RESPONSES_EDGE_CASES = _framed(
    "response.completed",
    [
        ("max_output_tokens", "response.incomplete: cut at max_output_tokens"),
        ("content_filter", "response.incomplete: stopped by the content filter"),
    ],
    "an error event mid-stream",
)
"""What code reading the OpenAI Responses API (typed SSE events) must survive."""

GEMINI_EDGE_CASES = _framed(
    "finishReason",
    [("MAX_TOKENS", "the answer was cut at max tokens"), ("SAFETY", "the safety filter stopped it")],
    "an error object in the stream",
)
"""What code reading Gemini ``streamGenerateContent`` (SSE or a JSON array) must survive."""

OLLAMA_EDGE_CASES = _framed(
    "done",
    [("length", "the answer was cut at num_predict")],
    'an {"error": ...} line mid-stream',
)
"""What code reading Ollama's NDJSON streams must survive."""

BEDROCK_EDGE_CASES = _framed(
    "messageStop",
    [
        ("max_tokens", "the answer was cut at maxTokens"),
        ("tool_use", "the model asked for tools"),
        ("content_filtered", "the guardrail stopped the answer"),
    ],
    "a modelStreamErrorException message mid-stream",
)
"""What code reading Bedrock ConverseStream (AWS event-stream) must survive."""

EDGE_CASES_BY_API: dict[str, tuple[Variant, ...]] = {
    "openai-chat": EDGE_CASES,
    "anthropic-messages": ANTHROPIC_EDGE_CASES,
    "openai-responses": RESPONSES_EDGE_CASES,
    "gemini": GEMINI_EDGE_CASES,
    "ollama-chat": OLLAMA_EDGE_CASES,
    "bedrock-converse": BEDROCK_EDGE_CASES,
}
"""The edge cases of each API (names as in ``replay.translate``), each in its own framing."""

_API_OF_SHAPE = {
    "openai": "openai-chat",
    "anthropic": "anthropic-messages",
    "responses": "openai-responses",
    "gemini": "gemini",
    "ollama": "ollama-chat",
    "bedrock": "bedrock-converse",
}


def edge_cases_for(response: Any) -> tuple[Variant, ...]:
    """The edge cases for the API a recorded response speaks (told from its body's shape).

    Example usage::

        recorded = replay.load_cassette(path).interactions[0].response
        @pytest.mark.replay_variants(replay.edge_cases_for(recorded))
    """
    from ..chat.shapes import body_shape

    shape = body_shape(response.events() if response.framing else None, response.body)
    if shape is None:
        raise ValueError("the response is in no API llm-replay knows; pick an EDGE_CASES list yourself")
    return EDGE_CASES_BY_API[_API_OF_SHAPE[shape]]


def as_variant(case: Any) -> Variant:
    """A :class:`Variant` from a variant, one fault, or a list of faults applied together."""
    if isinstance(case, Variant):
        return case
    if isinstance(case, Fault):
        return Variant(case.id, (case,))
    if isinstance(case, (list, tuple)) and case and all(isinstance(f, Fault) for f in case):
        return Variant("+".join(f.id for f in case), tuple(case))
    raise TypeError(
        f"a variant is a Variant, a fault, or a list of faults applied together; got {case!r}. "
        "Pass lists of variants (like replay.EDGE_CASES) as they are: they are expanded."
    )


def _expand(cases: Iterable[Any]) -> list[Variant]:
    out: list[Variant] = []
    for case in cases:
        if isinstance(case, (list, tuple)) and case and all(isinstance(c, Variant) for c in case):
            out.extend(case)
        else:
            out.append(as_variant(case))
    return out


def collect(cases: Sequence[Any], *, baseline: bool = False) -> list[Variant]:
    """The variants given (lists of variants expanded), the baseline first if asked for."""
    found = _expand(cases)
    if not found and not baseline:
        raise ValueError("no variants given: pass faults, lists of faults, or replay.EDGE_CASES")
    return [BASELINE, *found] if baseline else found


def variants(*cases: Any, baseline: bool = True) -> list[Any]:
    """``pytest.param`` values, one per variant, for ``parametrize("replay_variant", ...)``.

    Each case is a :class:`Variant`, a fault, a list of faults applied together, or a list of
    variants (``replay.EDGE_CASES``). The unchanged recording comes first, as ``[recorded]``,
    unless ``baseline=False``. With the pytest plugin, the ``replay_cassette`` of a test parametrized on
    ``replay_variant`` applies the variant's faults; with ``use_cassette``, pass
    ``faults=replay_variant.faults``.

    Example usage::

        @pytest.mark.parametrize("replay_variant", replay.variants(replay.EDGE_CASES))
        def test_chat(replay_variant, replay_cassette): ...
    """
    import pytest

    return [pytest.param(v, id=v.id) for v in collect(cases, baseline=baseline)]
