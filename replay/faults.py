"""Fault injection: turn one recording into the failures and edge cases a live API produces rarely.

Each fault is a frozen dataclass. It applies to every replayed response unless narrowed with
``interaction=`` (the index of the recorded interaction) and/or ``match=`` (a predicate on the
live :class:`~replay.cassette.Request`), and to the first ``times=K`` responses it changes
(default: all). Faults compose, and always apply in one fixed order whatever the list order:

1. ``HTTPError`` replaces the response (and does not use up the recorded interaction, so
   "429 twice, then the recording" needs one interaction);
2. content rewrites: ``EmptyChoices``, ``NullDeltaContent``, ``UsageOnlyChunk``,
   ``FinishReason``, ``MalformedEvent``, ``ErrorEvent`` (Content-Length is recomputed);
3. framing: ``Rechunk``;
4. delivery: ``Latency``, ``Truncate``, ``Disconnect``, ``Stall``.

``after_events=N`` / ``at_event=N`` count the data events of the stream as delivered
(``[DONE]`` and usage-only chunks count; comments, empty frames and Anthropic ``ping``
keep-alives do not); ``at_event`` is 0-based and ``after_events=N`` delivers N events. A fault
that does not fit a response (``after_events`` on a JSON body, ``FinishReason`` on a body
without one) leaves it alone; a fault that fitted no response at all is reported when the
cassette closes (:class:`FaultNotApplied`). The cassette file is never modified.

Example usage::

    from replay.faults import HTTPError, Truncate

    with replay.use_cassette("chat.yaml", faults=[HTTPError(429, retry_after=20, times=2)]):
        client.chat.completions.create(...)   # two 429s (retried by the SDK), then the recording
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import math
from abc import ABCMeta, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import KW_ONLY, dataclass
from typing import Any, ClassVar, Literal

from .cassette import Request, StreamEnd
from .errors import ReplayError
from .fault_draft import Draft, EventPayload, FaultContext, event_bytes, rewrite_json_event
from .providers import (
    PROVIDERS,
    Provider,
    encode_json,
    error_headers,
    error_payload,
    finish_reason_for,
    provider_for_request,
    stream_error_payload,
)
from .sse import SSEEvent, encode_event
from .timed_body import TimedBody

__all__ = [
    "Disconnect",
    "EmptyChoices",
    "ErrorEvent",
    "Fault",
    "FaultNotApplied",
    "FinishReason",
    "HTTPError",
    "Latency",
    "MalformedEvent",
    "NullDeltaContent",
    "Rechunk",
    "Stall",
    "Truncate",
    "UsageOnlyChunk",
]

# Stages, in the order they apply.
REPLACE, CONTENT, FRAMING, DELIVERY = 0, 1, 2, 3


class FaultNotApplied(ReplayError):
    """A fault given to a cassette changed no response: it selected none, or fitted none."""


class _FaultMeta(ABCMeta):
    """Unknown or surplus constructor arguments get an error that lists the valid ones."""

    def __call__(cls, *args: Any, **kwargs: Any) -> Any:
        fields = [f for f in dataclasses.fields(cls) if f.init]  # type: ignore[arg-type]
        names = [f.name for f in fields]
        positional = [f.name for f in fields if not f.kw_only]
        unknown = [k for k in kwargs if k not in names]
        if unknown:
            hints = []
            for name in unknown:
                close = difflib.get_close_matches(name, names, n=1)
                hints.append(f"{name!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
            raise TypeError(
                f"{cls.__name__}() got unknown argument(s) {', '.join(hints)}; it takes: {', '.join(names)}."
            )
        if len(args) > len(positional):
            raise TypeError(
                f"{cls.__name__}() takes at most {len(positional)} positional argument(s) "
                f"({', '.join(positional) or 'none'}), got {len(args)}; pass the others by name: "
                f"{', '.join(n for n in names if n not in positional)}."
            )
        return super().__call__(*args, **kwargs)


def _check_count(name: str, value: Any, *, minimum: int = 0) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name} must be a whole number >= {minimum}, got {value!r}")


def _check_seconds(name: str, value: Any, *, allow_inf: bool = False) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value) or value < 0:
        raise ValueError(f"{name} must be a number of seconds >= 0, got {value!r}")
    if not allow_inf and math.isinf(value):
        raise ValueError(f"{name} must be finite, got {value!r}")


@dataclass(frozen=True, slots=True, repr=False)
class Fault(metaclass=_FaultMeta):
    """Base class: ``interaction=`` index, ``match=`` predicate, ``times=`` limit."""

    _: KW_ONLY
    interaction: int | None = None
    match: Callable[[Request], bool] | None = None
    times: int | None = None

    stage: ClassVar[int] = CONTENT
    rank: ClassVar[int] = 0
    label: ClassVar[str] = "fault"

    def __post_init__(self) -> None:
        _check_count("interaction", self.interaction)
        _check_count("times", self.times, minimum=1)
        if self.match is not None and not callable(self.match):
            raise TypeError(f"match must be a callable taking the request, got {self.match!r}")
        self._validate()

    def _validate(self) -> None:
        return None

    # -- description ----------------------------------------------------------------------

    def __repr__(self) -> str:
        # Required arguments bare, then what differs from the defaults, the selectors last.
        common = {"interaction", "match", "times"}
        fields = [f for f in dataclasses.fields(self) if f.init]
        ordered = [f for f in fields if f.name not in common] + [f for f in fields if f.name in common]
        parts = []
        for f in ordered:
            value = getattr(self, f.name)
            required = f.default is dataclasses.MISSING
            if not required and value == f.default:
                continue
            shown = getattr(value, "__name__", None) if f.name == "match" else None
            parts.append(repr(value) if required else f"{f.name}={shown or repr(value)}")
        return f"{type(self).__name__}({', '.join(parts)})"

    @property
    def id(self) -> str:
        """A short readable name, used for test ids: ``finish=length``, ``truncate@3``."""
        out = self._id()
        if self.interaction is not None:
            out += f",#{self.interaction}"
        if self.times is not None:
            out += f",times={self.times}"
        return out

    def _id(self) -> str:
        return self.label

    # -- application ----------------------------------------------------------------------

    def selects(self, request: Request, index: int) -> bool:
        """Whether this fault targets the live ``request`` matched to interaction ``index``."""
        if self.interaction is not None and self.interaction != index:
            return False
        return self.match is None or bool(self.match(request))

    @abstractmethod
    def apply(self, draft: Draft, ctx: FaultContext) -> str | None:
        """Change ``draft``; return None when applied, else why the fault does not fit it."""


# ----------------------------------------------------------------------------------------
# replacing the response


@dataclass(frozen=True, slots=True, repr=False)
class HTTPError(Fault):
    """Answer with an error status instead of the recording, shaped like the provider's errors.

    The body is the provider's error JSON (OpenAI/Together ``{"error": {...}}``, Anthropic
    ``{"type": "error", "error": {"type": "rate_limit_error" | "overloaded_error" | ...}}``),
    chosen from the recorded request (``/messages`` or an ``anthropic-version`` header:
    Anthropic; a Together host: Together; else OpenAI-compatible) unless ``provider`` or
    ``body`` is given. ``retry_after`` (seconds) sets ``retry-after`` and ``retry-after-ms``;
    a 429 also carries the provider's rate-limit headers. ``headers`` adds or overrides headers.
    The recorded interaction is not used up: the next request can still replay it.

    Example usage::

        faults=[HTTPError(429, retry_after=20, times=2)]   # fail twice, then succeed
        faults=[HTTPError(529)]                            # Anthropic overloaded_error
    """

    status: int
    retry_after: float | None = None
    body: Any = None
    _: KW_ONLY
    headers: Mapping[str, str] | None = None
    provider: Provider | None = None

    stage: ClassVar[int] = REPLACE

    def _validate(self) -> None:
        if isinstance(self.status, bool) or not isinstance(self.status, int) or not 400 <= self.status <= 599:
            raise ValueError(f"HTTPError status must be an error status 400-599, got {self.status!r}")
        _check_seconds("retry_after", self.retry_after)
        if self.body is not None and not isinstance(self.body, (dict, list, str, bytes)):
            raise TypeError(
                f"HTTPError body must be a dict/list (sent as JSON), str or bytes, got {self.body!r}"
            )
        if isinstance(self.body, (dict, list)):
            try:
                json.dumps(self.body)
            except (TypeError, ValueError) as exc:
                raise ValueError(f"HTTPError body is not JSON-serialisable: {exc}") from None
        if self.provider is not None and self.provider not in PROVIDERS:
            raise ValueError(
                f"HTTPError provider must be one of {', '.join(PROVIDERS)}, got {self.provider!r}"
            )
        if self.headers is not None and not all(
            isinstance(k, str) and isinstance(v, str) for k, v in dict(self.headers).items()
        ):
            raise TypeError("HTTPError headers must map header names to string values")

    def _id(self) -> str:
        return f"http={self.status}"

    def apply(self, draft: Draft, ctx: FaultContext) -> str | None:
        provider = self.provider or _provider(draft, ctx)
        if self.body is None:
            body = encode_json(error_payload(provider, self.status, retry_after=self.retry_after))
        elif isinstance(self.body, (dict, list)):
            body = encode_json(self.body)
        else:
            body = self.body.encode("utf-8") if isinstance(self.body, str) else self.body
        headers = error_headers(provider, self.status, self.retry_after, body)
        if self.body is not None and not isinstance(self.body, (dict, list)) and not _is_json(body):
            headers = [(k, v) for k, v in headers if k != "content-type"]
            headers.insert(0, ("content-type", "text/plain; charset=utf-8"))
        for name, value in (self.headers or {}).items():
            headers = [(k, v) for k, v in headers if k.lower() != name.lower()]
            headers.append((name, value))
        draft.status = self.status
        draft.headers = headers
        draft.stream = False
        draft.end = None
        draft.replaced = True
        draft.set_body(TimedBody(body, (len(body),) if body else (), (draft.head_t,) if body else ()))
        draft.content_changed = False  # the headers above already describe this body
        return None


def _is_json(data: bytes) -> bool:
    try:
        json.loads(data)
    except ValueError:
        return False
    return True


def _provider(draft: Draft, ctx: FaultContext) -> Provider:
    provider = provider_for_request(ctx.interaction.request)
    if provider == "openai" and draft.shape() == "anthropic":
        return "anthropic"
    return provider


# ----------------------------------------------------------------------------------------
# content rewrites


def _need_openai(draft: Draft) -> str | None:
    shape = draft.shape()
    if shape == "openai":
        return None
    if shape == "anthropic":
        return "it applies to OpenAI-compatible chat completions, and this is an Anthropic message"
    return "the body is not a chat completion"


def _choice_payloads(draft: Draft) -> list[EventPayload]:
    return [
        p
        for p in draft.payloads()
        if isinstance(p.data, dict) and isinstance(p.data.get("choices"), list) and p.data["choices"]
    ]


@dataclass(frozen=True, slots=True, repr=False)
class EmptyChoices(Fault):
    """``choices: []`` where code indexes ``choices[0]``: a non-stream body with no choices; a
    stream that opens with a choice-less chunk (as Azure's prompt-filter chunk does).

    Example usage::

        faults=[EmptyChoices()]
    """

    rank: ClassVar[int] = 0
    label: ClassVar[str] = "empty-choices"

    def apply(self, draft: Draft, ctx: FaultContext) -> str | None:
        if (why := _need_openai(draft)) is not None:
            return why
        if not draft.stream:
            body = draft.json_body()
            if not body.get("choices"):
                return "the body has no choices already"
            draft.set_json_body({**body, "choices": []})
            return None
        events = draft.data_events()
        lead = {
            "id": "",
            "object": "",
            "created": 0,
            "model": "",
            "choices": [],
            "prompt_filter_results": [{"prompt_index": 0, "content_filter_results": {}}],
        }
        first = events[0]
        raw = draft.body.data[first.start : first.end]
        draft.insert_at(first.start, event_bytes(first, raw, json.dumps(lead, separators=(",", ":"))))
        return None


@dataclass(frozen=True, slots=True, repr=False)
class NullDeltaContent(Fault):
    """``content: null`` where code expects a string: on the first and last chunks of a stream
    (text is never lost: a chunk whose text would be nulled is split in two), or on the message
    of a non-stream completion.

    Example usage::

        faults=[NullDeltaContent()]
    """

    rank: ClassVar[int] = 1
    label: ClassVar[str] = "null-content"

    def apply(self, draft: Draft, ctx: FaultContext) -> str | None:
        if (why := _need_openai(draft)) is not None:
            return why
        if not draft.stream:
            body = draft.json_body()
            choices = body.get("choices") or []
            if not choices:
                return "the body has no choices"
            new_choices = [
                {**c, "message": {**(c.get("message") or {}), "content": None}} if isinstance(c, dict) else c
                for c in choices
            ]
            draft.set_json_body({**body, "choices": new_choices})
            return None
        payloads = _choice_payloads(draft)
        if not payloads:
            return "the stream has no chunks with choices"
        edits: list[tuple[Any, bytes]] = []
        for payload, first in (
            ((payloads[0], True), (payloads[-1], False)) if len(payloads) > 1 else ((payloads[0], True),)
        ):
            edits.append(_null_content_edit(draft, payload, first=first))
        draft.replace_events(edits)
        return None


def _null_content_edit(draft: Draft, payload: EventPayload, *, first: bool) -> tuple[Any, bytes]:
    """The chunk with ``delta.content`` null; text it carried moves to a chunk of its own
    (after the nulled one on the first chunk, before it on the last), and the finish reason
    stays on whichever of the two comes last."""
    data = payload.data
    nulled: list[dict[str, Any]] = []
    texts: list[dict[str, Any]] = []
    for choice in data["choices"]:
        delta = dict(choice.get("delta") or {})
        text = delta.get("content")
        delta["content"] = None
        nulled.append({**choice, "delta": delta})
        if text:
            texts.append({**choice, "delta": {"content": text}})
    event = payload.event
    raw = draft.body.data[event.start : event.end]
    if not texts:
        pieces = [{**data, "choices": nulled}]
    else:
        finish = {c.get("index", 0): c.get("finish_reason") for c in data["choices"]}
        unfinished = {**data, "choices": [{**c, "finish_reason": None} for c in (nulled if first else texts)]}
        finished = {
            **data,
            "choices": [
                {**c, "finish_reason": finish[c.get("index", 0)]} for c in (texts if first else nulled)
            ],
        }
        unfinished.pop("usage", None)
        pieces = [unfinished, finished]
    out = b"".join(event_bytes(event, raw, json.dumps(p, separators=(",", ":"))) for p in pieces)
    return event, out


@dataclass(frozen=True, slots=True, repr=False)
class UsageOnlyChunk(Fault):
    """A final usage-only chunk (``choices: []``, ``usage: {...}``) before ``[DONE]``, as OpenAI
    sends with ``stream_options={"include_usage": True}``. Usage comes from the stream if it
    carries any (a finish chunk, Groq's ``x_groq``), else it is estimated from the text. The
    usage is moved, not copied: the chunk that carried it gets ``usage: null`` (as OpenAI's
    other chunks have), so an app that sums usage over the stream counts it once.

    Example usage::

        faults=[UsageOnlyChunk()]
    """

    rank: ClassVar[int] = 2
    label: ClassVar[str] = "usage-chunk"

    def apply(self, draft: Draft, ctx: FaultContext) -> str | None:
        if (why := _need_openai(draft)) is not None:
            return why
        if not draft.stream:
            return "a usage-only chunk exists only in streams (this body is not streamed)"
        payloads = [p for p in draft.payloads() if isinstance(p.data, dict)]
        if any(p.data.get("choices") == [] and p.data.get("usage") for p in payloads):
            return "the stream already ends with a usage-only chunk"
        usage = _usage_of(payloads, ctx)
        template = next((p.data for p in payloads if p.data.get("id")), payloads[0].data if payloads else {})
        chunk = {
            k: template[k]
            for k in ("id", "object", "created", "model", "system_fingerprint")
            if k in template
        }
        chunk["choices"] = []
        chunk["usage"] = usage
        done = next((e for e in draft.data_events() if e.is_done), None)
        pos = done.start if done is not None else len(draft.body)
        last = draft.data_events()[-1]
        raw = draft.body.data[last.start : last.end]
        added = event_bytes(last, raw, json.dumps(chunk, separators=(",", ":")))
        # Moved, not copied: an app that sums usage over chunks must count it once.
        draft.replace_events([*_usage_removed(draft, payloads), (_empty_at(last, pos), added)])
        return None


def _usage_removed(draft: Draft, payloads: list[EventPayload]) -> list[tuple[SSEEvent, bytes]]:
    """The events that carried usage, with ``usage: null`` (as OpenAI's other chunks have) and
    without Groq's ``x_groq.usage``."""
    edits = []
    for p in payloads:
        new = dict(p.data)
        if isinstance(new.get("usage"), dict):
            new["usage"] = None
        x_groq = new.get("x_groq")
        if isinstance(x_groq, dict) and "usage" in x_groq:
            new["x_groq"] = {k: v for k, v in x_groq.items() if k != "usage"}
        if new != p.data:
            edits.append(rewrite_json_event(draft, p, new))
    return edits


def _empty_at(like: SSEEvent, pos: int) -> SSEEvent:
    """A zero-length event at ``pos``: replacing it inserts bytes there."""
    return dataclasses.replace(like, start=pos, end=pos)


def _usage_of(payloads: list[EventPayload], ctx: FaultContext) -> dict[str, int]:
    for p in reversed(payloads):
        usage = p.data.get("usage")
        x_groq = p.data.get("x_groq")
        if not isinstance(usage, dict) and isinstance(x_groq, dict):
            usage = x_groq.get("usage")
        if isinstance(usage, dict) and usage.get("completion_tokens") is not None:
            return {k: usage[k] for k in ("prompt_tokens", "completion_tokens", "total_tokens") if k in usage}
    # No usage in the stream: about four characters per token, as OpenAI's own rule of thumb.
    completion = sum(
        len(str((c.get("delta") or {}).get("content") or ""))
        for p in payloads
        for c in p.data.get("choices") or []
        if isinstance(c, dict)
    )
    completion_tokens = max(1, math.ceil(completion / 4))
    prompt_tokens = max(1, math.ceil(len(ctx.interaction.request.body) / 4))
    return {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
    }


@dataclass(frozen=True, slots=True, repr=False)
class FinishReason(Fault):
    """Rewrite the finish reason of choice ``choice``, streamed or not; the body stays valid.

    Any string is accepted (providers invent new ones). On an Anthropic message the
    ``stop_reason`` equivalent is written: ``length`` -> ``max_tokens``, ``stop``/``eos`` ->
    ``end_turn``, ``tool_calls`` -> ``tool_use``, ``content_filter`` -> ``refusal`` (and the
    reverse on OpenAI-compatible bodies).

    Example usage::

        faults=[FinishReason("length")]
    """

    reason: str
    choice: int = 0

    rank: ClassVar[int] = 3

    def _validate(self) -> None:
        if not isinstance(self.reason, str) or not self.reason.strip():
            raise ValueError(f"FinishReason needs a non-empty reason string, got {self.reason!r}")
        _check_count("choice", self.choice)

    def _id(self) -> str:
        return f"finish={self.reason}" + (f"@choice{self.choice}" if self.choice else "")

    def apply(self, draft: Draft, ctx: FaultContext) -> str | None:
        from .chat import AnthropicMessage, ChatCompletion, ChatCompletionChunk, parse_anthropic_event

        shape = draft.shape()
        if shape is None:
            return "the body is not a chat completion"
        reason = finish_reason_for(self.reason, shape)
        if shape == "anthropic" and self.choice != 0:
            return f"an Anthropic message has one choice, so choice={self.choice} does not exist"
        if not draft.stream:
            body = draft.json_body()
            if shape == "anthropic":
                new = {**body, "stop_reason": reason}
                AnthropicMessage.model_validate(new)
                draft.set_json_body(new)
                return None
            choices = body.get("choices") or []
            if not any(isinstance(c, dict) and c.get("index", 0) == self.choice for c in choices):
                return f"the completion has no choice with index {self.choice}"
            new = {
                **body,
                "choices": [
                    {**c, "finish_reason": reason} if c.get("index", 0) == self.choice else c for c in choices
                ],
            }
            ChatCompletion.model_validate(new)
            draft.set_json_body(new)
            return None
        edits = []
        for payload in draft.payloads():
            data = payload.data
            if not isinstance(data, dict):
                continue
            if shape == "anthropic":
                delta = data.get("delta")
                if (
                    data.get("type") == "message_delta"
                    and isinstance(delta, dict)
                    and delta.get("stop_reason")
                ):
                    new = {**data, "delta": {**delta, "stop_reason": reason}}
                    parse_anthropic_event(new)
                    edits.append(rewrite_json_event(draft, payload, new))
                continue
            choices = data.get("choices")
            if not isinstance(choices, list) or not any(
                isinstance(c, dict) and c.get("index", 0) == self.choice and c.get("finish_reason")
                for c in choices
            ):
                continue
            new = {
                **data,
                "choices": [
                    {**c, "finish_reason": reason}
                    if c.get("index", 0) == self.choice and c.get("finish_reason")
                    else c
                    for c in choices
                ],
            }
            ChatCompletionChunk.model_validate(new)
            edits.append(rewrite_json_event(draft, payload, new))
        if not edits:
            what = "stop_reason" if shape == "anthropic" else f"finish reason for choice {self.choice}"
            return f"no event of the stream carries a {what} (was the recording cut short?)"
        draft.replace_events(edits)
        return None


def _event_at(draft: Draft, at_event: int | None, fault: str) -> tuple[EventPayload | None, str | None]:
    payloads = list(draft.payloads())
    if not payloads:
        return None, "the stream has no data events"
    index = len(payloads) // 2 if at_event is None else at_event
    if index >= len(payloads):
        return None, f"the stream has only {len(payloads)} data events, so {fault} does not exist"
    return payloads[index], None


@dataclass(frozen=True, slots=True, repr=False)
class MalformedEvent(Fault):
    """Replace the data of event ``at_event`` (default: the middle one) with ``data`` (default:
    the first half of the original JSON, as a broken proxy sends it); the stream goes on. On a
    non-stream body the whole body becomes ``data``.

    Example usage::

        faults=[MalformedEvent(at_event=2)]
    """

    at_event: int | None = None
    data: str | None = None

    rank: ClassVar[int] = 4
    label: ClassVar[str] = "malformed"

    def _validate(self) -> None:
        _check_count("at_event", self.at_event)
        if self.data is not None and not isinstance(self.data, str):
            raise TypeError(f"MalformedEvent data must be a string, got {self.data!r}")
        if self.data is not None and "\n" in self.data.strip("\n"):
            raise ValueError(
                "MalformedEvent data must be one line (a new line would start another SSE field)"
            )

    def _id(self) -> str:
        return self.label + (f"@{self.at_event}" if self.at_event is not None else "")

    def apply(self, draft: Draft, ctx: FaultContext) -> str | None:
        if not draft.stream:
            if self.at_event not in (None, 0):
                return f"the body is not an event stream, so at_event={self.at_event} does not exist"
            text = draft.body.data.decode("utf-8", "replace")
            if not text:
                return "the body is empty"
            new = self.data if self.data is not None else text[: len(text) // 2]
            draft.set_body(draft.body.edit([(0, len(draft.body), new.encode())], default_t=draft.head_t))
            return None
        payload, why = _event_at(draft, self.at_event, f"at_event={self.at_event}")
        if payload is None:
            return why
        event = payload.event
        new = self.data if self.data is not None else event.data[: len(event.data) // 2]
        raw = draft.body.data[event.start : event.end]
        draft.replace_events([(event, event_bytes(event, raw, new))])
        return None


@dataclass(frozen=True, slots=True, repr=False)
class ErrorEvent(Fault):
    """The provider's mid-stream error as event ``at_event`` (default: the middle one); the
    stream ends after it, as providers end it. OpenAI-compatible: ``data: {"error": {...}}``;
    Anthropic: ``event: error`` with ``{"type": "error", "error": {"type": "overloaded_error"}}``.
    ``error_type`` and ``message`` override the defaults. On a non-stream body, the body
    becomes the error object (with the recorded status: some servers answer 200 with it).

    Example usage::

        faults=[ErrorEvent(at_event=3)]
    """

    at_event: int | None = None
    _: KW_ONLY
    error_type: str | None = None
    message: str | None = None

    rank: ClassVar[int] = 5
    label: ClassVar[str] = "error-event"

    def _validate(self) -> None:
        _check_count("at_event", self.at_event)
        for name in ("error_type", "message"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, str) or not value):
                raise ValueError(f"ErrorEvent {name} must be a non-empty string, got {value!r}")

    def _id(self) -> str:
        out = self.label + (f"@{self.at_event}" if self.at_event is not None else "")
        return out + (f"={self.error_type}" if self.error_type else "")

    def apply(self, draft: Draft, ctx: FaultContext) -> str | None:
        provider = _provider(draft, ctx)
        name, payload_data = stream_error_payload(provider, self.error_type, self.message)
        if not draft.stream:
            if self.at_event not in (None, 0):
                return f"the body is not an event stream, so at_event={self.at_event} does not exist"
            draft.set_json_body(payload_data)
            return None
        payload, why = _event_at(draft, self.at_event, f"at_event={self.at_event}")
        if payload is None:
            return why
        event = payload.event
        raw = draft.body.data[event.start : event.end]
        eol = "\r\n" if b"\r\n" in raw else ("\r" if b"\r" in raw else "\n")
        data = encode_event(json.dumps(payload_data, separators=(",", ":")), event=name, eol=eol)
        draft.replace_events([(event, data)])
        # Providers close the stream after an error event.
        draft.set_body(draft.body.cut(event.start + len(data)))
        draft.end = None
        return None


# ----------------------------------------------------------------------------------------
# framing


_EOLS = {"\n": "lf", "\r\n": "crlf", "\r": "cr"}


@dataclass(frozen=True, slots=True, repr=False)
class Rechunk(Fault):
    """The same body in other network reads: ``size`` bytes each (``Rechunk(1)`` splits every
    event at every byte); ``eol`` rewrites an event stream's line endings (``"\\r\\n"``,
    ``"\\r"`` or ``"\\n"``), which SSE treats alike. Each read arrives when its last byte did.

    Example usage::

        faults=[Rechunk(1)]
        faults=[Rechunk(7, eol="\\r\\n")]
    """

    size: int | None = None
    eol: Literal["\n", "\r\n", "\r"] | None = None

    stage: ClassVar[int] = FRAMING

    def _validate(self) -> None:
        _check_count("size", self.size, minimum=1)
        if self.eol is not None and self.eol not in _EOLS:
            raise ValueError(f"Rechunk eol must be one of '\\n', '\\r\\n', '\\r', got {self.eol!r}")
        if self.size is None and self.eol is None:
            raise ValueError("Rechunk needs size= (bytes per read) and/or eol= (line endings)")

    def _id(self) -> str:
        parts = []
        if self.size is not None:
            parts.append(f"rechunk={self.size}")
        if self.eol is not None:
            parts.append(f"eol={_EOLS[self.eol]}")
        return ",".join(parts)

    def apply(self, draft: Draft, ctx: FaultContext) -> str | None:
        if not len(draft.body):
            return "the body is empty"
        if self.eol is not None:
            if not draft.stream:
                return "eol= applies to event streams, and this body is not one"
            data = draft.body.data
            edits: list[tuple[int, int, bytes]] = []
            new = self.eol.encode()
            i = 0
            n = len(data)
            while i < n:
                byte = data[i]
                if byte == 0x0D:
                    end = i + 2 if i + 1 < n and data[i + 1] == 0x0A else i + 1
                elif byte == 0x0A:
                    end = i + 1
                else:
                    i += 1
                    continue
                if data[i:end] != new:
                    edits.append((i, end, new))
                i = end
            draft.set_body(draft.body.edit(edits, default_t=draft.head_t))
        if self.size is not None:
            draft.set_body(draft.body.rechunk(self.size), content=False)
        return None


# ----------------------------------------------------------------------------------------
# delivery


@dataclass(frozen=True, slots=True, repr=False)
class Latency(Fault):
    """Change time to first byte (``ttfb``, seconds; later gaps kept) and/or scale every gap
    (``scale``: 2.0 twice as slow, 0.0 no gaps). A wait past the client's read timeout ends in
    the client library's ``ReadTimeout``.

    Example usage::

        faults=[Latency(ttfb=2.5)]
        faults=[Latency(scale=3)]
    """

    ttfb: float | None = None
    scale: float | None = None

    stage: ClassVar[int] = DELIVERY
    rank: ClassVar[int] = 0

    def _validate(self) -> None:
        _check_seconds("ttfb", self.ttfb)
        _check_seconds("scale", self.scale)
        if self.ttfb is None and self.scale is None:
            raise ValueError("Latency needs ttfb= (seconds to the response head) and/or scale= (gap factor)")

    def _id(self) -> str:
        parts = []
        if self.ttfb is not None:
            parts.append(f"ttfb={self.ttfb:g}s")
        if self.scale is not None:
            parts.append(f"latency=x{self.scale:g}")
        return ",".join(parts)

    def apply(self, draft: Draft, ctx: FaultContext) -> str | None:
        head = draft.head_t
        scale = 1.0 if self.scale is None else float(self.scale)
        new_head = head * scale if self.ttfb is None else float(self.ttfb)

        def when(t: float) -> float:
            return new_head + (t - head) * scale

        draft.head_t = new_head
        draft.set_body(draft.body.retime(when), content=False)
        if draft.end is not None and draft.end.t is not None:
            draft.end = draft.end.model_copy(update={"t": when(draft.end.t)})
        return None


@dataclass(frozen=True, slots=True, repr=False)
class _Positioned(Fault):
    """Where a delivery fault strikes: after N data events, after B bytes, right before the
    event carrying the finish reason, or by default in the middle of the body."""

    after_events: int | None = None
    _: KW_ONLY
    after_bytes: int | None = None
    before_finish: bool = False

    stage: ClassVar[int] = DELIVERY

    def _validate(self) -> None:
        _check_count("after_events", self.after_events)
        _check_count("after_bytes", self.after_bytes)
        if not isinstance(self.before_finish, bool):
            raise TypeError(f"before_finish must be True or False, got {self.before_finish!r}")
        given = [n for n in ("after_events", "after_bytes") if getattr(self, n) is not None]
        if self.before_finish:
            given.append("before_finish")
        if len(given) > 1:
            raise ValueError(
                f"{type(self).__name__}: {' and '.join(given)} contradict each other; give one position "
                "(after_events=N, after_bytes=B or before_finish=True), or none for the middle of the body"
            )

    def _where(self) -> str:
        if self.after_events is not None:
            return f"@{self.after_events}"
        if self.after_bytes is not None:
            return f"@{self.after_bytes}b"
        if self.before_finish:
            return "@finish"
        return ""

    def position(self, draft: Draft) -> tuple[int | None, str | None]:
        """The byte offset of the first byte not delivered, or why there is none."""
        n_bytes = len(draft.body)
        if self.after_bytes is not None:
            if self.after_bytes >= n_bytes:
                return None, f"the body has {n_bytes} bytes, so after_bytes={self.after_bytes} leaves nothing"
            return self.after_bytes, None
        if not draft.stream:
            if self.after_events is not None or self.before_finish:
                what = (
                    f"after_events={self.after_events}" if self.after_events is not None else "before_finish"
                )
                ctype = draft.header("content-type") or "no content-type"
                return (
                    None,
                    f"{what} needs an event stream and this body is not one ({ctype}); use after_bytes=",
                )
            if n_bytes < 2:
                return None, "the body is too short to cut in the middle"
            return n_bytes // 2, None
        events = draft.data_events()
        if self.before_finish:
            for payload in draft.payloads():
                if _has_finish(payload.data):
                    return payload.event.start, None
            return None, "no event of the stream carries a finish reason"
        if self.after_events is None:
            if len(events) < 2:
                return None, f"the stream has {len(events)} data event(s), too few to cut in the middle"
            return events[max(1, len(events) // 2)].start, None
        if self.after_events >= len(events):
            return None, (
                f"the stream has only {len(events)} data events, so after_events={self.after_events} "
                "leaves none undelivered"
            )
        return events[self.after_events].start, None


def _has_finish(data: Any) -> bool:
    if not isinstance(data, dict):
        return False
    if data.get("type") == "message_delta":
        delta = data.get("delta")
        return isinstance(delta, dict) and bool(delta.get("stop_reason"))
    choices = data.get("choices")
    return isinstance(choices, list) and any(isinstance(c, dict) and c.get("finish_reason") for c in choices)


@dataclass(frozen=True, slots=True, repr=False)
class Truncate(_Positioned):
    """The body ends cleanly early: no finish chunk, no ``[DONE]``, no error (Content-Length
    follows). ``Truncate(after_events=3)`` delivers 3 events; ``before_finish=True`` cuts right
    before the finish chunk; ``after_bytes=B`` works on any body.

    Example usage::

        faults=[Truncate(after_events=3)]
        faults=[Truncate(before_finish=True)]
    """

    rank: ClassVar[int] = 1
    label: ClassVar[str] = "truncate"

    def _id(self) -> str:
        return self.label + self._where()

    def apply(self, draft: Draft, ctx: FaultContext) -> str | None:
        pos, why = self.position(draft)
        if pos is None:
            return why
        draft.set_body(draft.body.cut(pos), content=False)
        draft.end = None
        draft.fix_content_length()
        return None


@dataclass(frozen=True, slots=True, repr=False)
class Disconnect(_Positioned):
    """The connection drops mid-body. By default a clean close: the client library raises
    ``RemoteProtocolError`` ("peer closed connection without sending complete message body");
    ``reset=True`` is a reset: ``ReadError``. The openai SDK reports both as
    ``APIConnectionError``. The error comes when the next undelivered bytes were due.

    Example usage::

        faults=[Disconnect(after_events=5)]
        faults=[Disconnect(after_bytes=100, reset=True)]
    """

    _: KW_ONLY
    reset: bool = False

    rank: ClassVar[int] = 2

    def _validate(self) -> None:
        _Positioned._validate(self)
        if not isinstance(self.reset, bool):
            raise TypeError(f"reset must be True or False, got {self.reset!r}")

    def _id(self) -> str:
        return ("reset" if self.reset else "disconnect") + self._where()

    def apply(self, draft: Draft, ctx: FaultContext) -> str | None:
        pos, why = self.position(draft)
        if pos is None:
            return why
        t = draft.body.time_of_byte(pos)
        if self.reset:
            end = StreamEnd(kind="read_error", message="[Errno 104] Connection reset by peer", t=t)
        else:
            length = draft.header("content-length")
            detail = (
                f"received {pos} bytes, expected {length}"
                if length is not None and length.isdigit()
                else "incomplete chunked read"
            )
            message = f"peer closed connection without sending complete message body: {detail}"
            end = StreamEnd(kind="remote_protocol_error", message=message, t=t)
        draft.set_body(draft.body.cut(pos), content=False)
        draft.end = end
        return None


@dataclass(frozen=True, slots=True, repr=False)
class Stall(_Positioned):
    """The server goes silent for ``seconds`` (default: for ever) before the rest of the body.
    Past the client's read timeout the client library raises ``ReadTimeout`` at exactly that
    moment: in virtual timing at once, with the clock at the last byte + the read timeout. A
    shorter stall only delays the rest.

    Example usage::

        faults=[Stall(after_events=2, seconds=30)]
        faults=[Stall()]    # past any read timeout
    """

    _: KW_ONLY
    seconds: float | None = None

    rank: ClassVar[int] = 3
    label: ClassVar[str] = "stall"

    def _validate(self) -> None:
        _Positioned._validate(self)
        _check_seconds("seconds", self.seconds, allow_inf=True)

    def _id(self) -> str:
        return self.label + self._where() + (f"={self.seconds:g}s" if self.seconds is not None else "")

    def apply(self, draft: Draft, ctx: FaultContext) -> str | None:
        pos, why = self.position(draft)
        if pos is None:
            return why
        seconds = math.inf if self.seconds is None else float(self.seconds)
        if math.isinf(seconds) and ctx.read_timeout is None:
            raise ReplayError(
                f"{self!r} on {ctx.source}: the client has no read timeout (timeout=None), so a stall "
                "without end would hang the test for ever. Give seconds=, or set a read timeout on "
                "the client."
            )
        draft.set_body(draft.body.delay_from(pos, seconds), content=False)
        if draft.end is not None and draft.end.t is not None:
            draft.end = draft.end.model_copy(update={"t": draft.end.t + seconds})
        return None
