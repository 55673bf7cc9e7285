"""A response as a timeline: headers, chunk arrivals, SSE events, the text they carry, the finish.

Shared by ``llm-replay inspect`` (sparkline), ``diff`` (gap percentiles, text) and ``plot``.
Knows the content-bearing events of OpenAI-compatible chat/completions streams, Anthropic
messages, OpenAI Responses and Cohere v2; other bodies still get their chunk and event times.

Example usage::

    line = timeline(cassette.interactions[0].response)
    line.ttfb, line.tokens_per_second, line.text
"""

from __future__ import annotations

import itertools
import statistics
from dataclasses import dataclass
from typing import Any

from ..chat.shapes import event_json
from ..model.cassette import Response
from .summary import _finish_from, _usage_from

__all__ = ["TimedEvent", "Timeline", "event_text", "percentile", "sparkline", "timeline"]


@dataclass(frozen=True, slots=True)
class TimedEvent:
    """One SSE event at the ``t`` of the chunk that completed it."""

    t: float
    name: str
    data: str
    text: str = ""  # the generated text (or tool-call arguments) this event carries
    finish: str | None = None
    is_done: bool = False
    choice: int | None = None  # the choice (OpenAI ``choices[].index``) it belongs to, if any


@dataclass(frozen=True, slots=True)
class Timeline:
    """Everything time-related about one response."""

    ttfb: float
    chunk_times: tuple[float, ...]
    chunk_sizes: tuple[int, ...]
    events: tuple[TimedEvent, ...]
    body_text: str  # the text of a non-streamed body
    completion_tokens: int | None
    framing: str | None = None  # sse, ndjson, eventstream, json-array; None: not a stream

    @property
    def duration(self) -> float:
        return self.chunk_times[-1] if self.chunk_times else self.ttfb

    @property
    def first_chunk(self) -> float | None:
        return self.chunk_times[0] if self.chunk_times else None

    @property
    def gaps(self) -> list[float]:
        """Seconds between consecutive chunk arrivals."""
        times = self.chunk_times
        return [b - a for a, b in itertools.pairwise(times)]

    @property
    def text(self) -> str:
        if self.events:
            return "".join(e.text for e in self.events)
        return self.body_text

    @property
    def token_events(self) -> list[TimedEvent]:
        return [e for e in self.events if e.text]

    @property
    def finish(self) -> list[TimedEvent]:
        return [e for e in self.events if e.finish is not None]

    @property
    def tokens(self) -> int | None:
        """Output tokens: the reported usage, else one per content-bearing event."""
        if self.completion_tokens is not None:
            return self.completion_tokens
        return len(self.token_events) or None

    @property
    def generation_span(self) -> float | None:
        """Seconds from the first to the last content-bearing event."""
        events = self.token_events
        if len(events) < 2:
            return None
        return events[-1].t - events[0].t

    @property
    def tokens_per_second(self) -> float | None:
        """Output tokens per second while generating (first to last content event)."""
        span = self.generation_span
        tokens = self.tokens
        if span is None or span <= 0 or tokens is None:
            return None
        # n tokens arrive over n-1 intervals when counted per event; usage counts are spread
        # over the same span.
        per_event = self.completion_tokens is None
        return (tokens - 1 if per_event else tokens) / span


def percentile(values: list[float], q: int) -> float | None:
    """The q-th percentile (q in 1..99), interpolating linearly between closest ranks."""
    if not 1 <= q <= 99:
        raise ValueError(f"percentile q must be a whole number from 1 to 99, got {q!r}")
    if not values:
        return None
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def event_text(payload: Any, name: str) -> str:
    """The generated text (or tool-call arguments) one parsed SSE event carries."""
    if not isinstance(payload, dict):
        return ""
    out = []
    for choice in payload.get("choices") or []:
        if not isinstance(choice, dict):
            continue
        delta = choice.get("delta")
        if isinstance(delta, dict):
            if isinstance(delta.get("content"), str):
                out.append(delta["content"])
            for call in delta.get("tool_calls") or []:
                fn = call.get("function") if isinstance(call, dict) else None
                if isinstance(fn, dict) and isinstance(fn.get("arguments"), str):
                    out.append(fn["arguments"])
        elif isinstance(choice.get("text"), str):  # legacy completions
            out.append(choice["text"])
    kind = payload.get("type", name)
    delta = payload.get("delta")
    if kind == "content_block_delta" and isinstance(delta, dict):  # Anthropic
        for key in ("text", "thinking", "partial_json"):
            if isinstance(delta.get(key), str):
                out.append(delta[key])
    elif kind == "response.output_text.delta" and isinstance(delta, str):  # OpenAI Responses
        out.append(delta)
    elif kind == "contentBlockDelta" and isinstance(delta, dict):  # Bedrock ConverseStream
        if isinstance(delta.get("text"), str):
            out.append(delta["text"])
        tool = delta.get("toolUse")
        if isinstance(tool, dict) and isinstance(tool.get("input"), str):
            out.append(tool["input"])
    elif kind == "content-delta" and isinstance(delta, dict):  # Cohere v2
        message = delta.get("message")
        content = message.get("content") if isinstance(message, dict) else None
        if isinstance(content, dict) and isinstance(content.get("text"), str):
            out.append(content["text"])
    out.extend(_other_text(payload))
    return "".join(out)


def _other_text(payload: dict[str, Any]) -> list[str]:
    """Gemini's candidate parts and Ollama's ``message.content`` / ``response``."""
    out = []
    for candidate in (payload.get("candidates") or [])[:1]:
        content = candidate.get("content") if isinstance(candidate, dict) else None
        for part in (content or {}).get("parts") or [] if isinstance(content, dict) else []:
            if isinstance(part, dict) and isinstance(part.get("text"), str) and not part.get("thought"):
                out.append(part["text"])
    if "done" in payload and "created_at" in payload:
        message = payload.get("message")
        text = message.get("content") if isinstance(message, dict) else payload.get("response")
        if isinstance(text, str):
            out.append(text)
    return out


def _choice_of(payload: Any) -> int | None:
    """The index of the choice an OpenAI-style chunk carries (``n>1`` streams interleave them)."""
    choices = payload.get("choices") if isinstance(payload, dict) else None
    first = choices[0] if isinstance(choices, list) and choices else None
    index = first.get("index") if isinstance(first, dict) else None
    return index if isinstance(index, int) and not isinstance(index, bool) else None


def _body_text(payload: Any) -> str:
    if not isinstance(payload, dict):
        return ""
    out = []
    for choice in payload.get("choices") or []:
        message = choice.get("message") if isinstance(choice, dict) else None
        if isinstance(message, dict) and isinstance(message.get("content"), str):
            out.append(message["content"])
        elif isinstance(choice, dict) and isinstance(choice.get("text"), str):
            out.append(choice["text"])
    for block in payload.get("content") or []:
        if isinstance(block, dict) and isinstance(block.get("text"), str):
            out.append(block["text"])
    out.extend(_other_text(payload))
    output = payload.get("output")
    message = output.get("message") if isinstance(output, dict) else None  # Bedrock Converse
    items = [message] if isinstance(message, dict) else (output if isinstance(output, list) else [])
    for item in items:  # Bedrock's message, or a Responses object's output items
        for block in item.get("content") or [] if isinstance(item, dict) else []:
            if isinstance(block, dict) and isinstance(block.get("text"), str):
                out.append(block["text"])
    return "".join(out)


def timeline(response: Response) -> Timeline:
    """The timeline of a recorded response."""
    events: list[TimedEvent] = []
    usage: dict[str, int] = {}
    body_text = ""
    if response.framing is not None:
        for t, event in response.iter_events_timed():
            try:
                payload = event_json(event)
            except ValueError:
                payload = None
            finish: list[str] = []
            _finish_from(payload, finish)
            _usage_from(payload, usage)
            if isinstance(payload, dict) and isinstance(payload.get("message"), dict):
                _usage_from(payload["message"], usage)
            events.append(
                TimedEvent(
                    t=t,
                    name=event.event,
                    data=event.data,
                    text=event_text(payload, event.event),
                    finish=finish[0] if finish else None,
                    is_done=event.is_done,
                    choice=_choice_of(payload),
                )
            )
    else:
        try:
            payload = response.body_json()
        except ValueError:
            payload = None
        _usage_from(payload, usage)
        body_text = _body_text(payload)
    return Timeline(
        ttfb=response.t,
        chunk_times=tuple(c.t for c in response.chunks),
        chunk_sizes=tuple(len(c.data) for c in response.chunks),
        events=tuple(events),
        body_text=body_text,
        completion_tokens=usage.get("completion"),
        framing=response.framing,
    )


_BARS = "▁▂▃▄▅▆▇█"


def sparkline(line: Timeline, width: int = 24, end: float | None = None) -> str:
    """Chunk arrivals per time bin, from the request (t=0) to ``end`` (default: the last chunk).

    A dot is a bin with no chunk; bar height is the bin's chunk count relative to the busiest.
    """
    times = line.chunk_times
    span = end if end is not None else line.duration
    if not times or width <= 0:
        return ""
    if span <= 0:
        return _BARS[-1]
    bins = [0] * width
    for t in times:
        bins[min(width - 1, int(t / span * width))] += 1
    top = max(bins)
    return "".join("·" if n == 0 else _BARS[max(0, round(n / top * len(_BARS)) - 1)] for n in bins)
