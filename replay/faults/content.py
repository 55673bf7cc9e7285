"""Stage 2, content rewrites of the choices: ``EmptyChoices``, ``NullDeltaContent``,
``UsageOnlyChunk``, ``FinishReason``."""

from __future__ import annotations

import dataclasses
import json
import math
from abc import abstractmethod
from dataclasses import dataclass
from typing import Any, ClassVar

from ..chat.finish import rewrite_finish
from ..chat.shapes import Shape
from ..model.framing.event import Event
from .base import Fault, _check_count
from .draft import (
    Draft,
    EventPayload,
    FaultContext,
    dumps_like,
    event_bytes,
    new_event_bytes,
    rewrite_json_event,
)
from .providers import (
    finish_reason_for,
)

__all__ = ["EmptyChoices", "FinishReason", "NullDeltaContent", "UsageOnlyChunk"]

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
class _OpenAIFault(Fault):
    """A rewrite of the choices of OpenAI-compatible chat completions: other bodies are refused,
    a whole body is rewritten by :meth:`_whole`, a stream by :meth:`_stream`."""

    def apply(self, draft: Draft, ctx: FaultContext) -> str | None:
        if (why := _need_openai(draft)) is not None:
            return why
        return self._stream(draft, ctx) if draft.stream else self._whole(draft)

    @abstractmethod
    def _whole(self, draft: Draft) -> str | None: ...

    @abstractmethod
    def _stream(self, draft: Draft, ctx: FaultContext) -> str | None: ...


@dataclass(frozen=True, slots=True, repr=False)
class EmptyChoices(_OpenAIFault):
    """``choices: []`` where code indexes ``choices[0]``: a non-stream body with no choices; a
    stream that opens with a choice-less chunk (as Azure's prompt-filter chunk does).

    Example usage::

        faults=[EmptyChoices()]
    """

    rank: ClassVar[int] = 0
    label: ClassVar[str] = "empty-choices"

    def _whole(self, draft: Draft) -> str | None:
        body = draft.json_body()
        if not body.get("choices"):
            return "the body has no choices already"
        draft.set_json_body({**body, "choices": []})
        return None

    def _stream(self, draft: Draft, ctx: FaultContext) -> str | None:
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
class NullDeltaContent(_OpenAIFault):
    """``content: null`` where code expects a string: on the first and last chunks of a stream
    (text is never lost: a chunk whose text would be nulled is split in two), or on the message
    of a non-stream completion.

    Example usage::

        faults=[NullDeltaContent()]
    """

    rank: ClassVar[int] = 1
    label: ClassVar[str] = "null-content"

    def _whole(self, draft: Draft) -> str | None:
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

    def _stream(self, draft: Draft, ctx: FaultContext) -> str | None:
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
class UsageOnlyChunk(_OpenAIFault):
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

    def _whole(self, draft: Draft) -> str | None:
        return "a usage-only chunk exists only in streams (this body is not streamed)"

    def _stream(self, draft: Draft, ctx: FaultContext) -> str | None:
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


def _usage_removed(draft: Draft, payloads: list[EventPayload]) -> list[tuple[Event, bytes]]:
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


def _empty_at(like: Event, pos: int) -> Event:
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
        from ..chat import ChatCompletionChunk, parse_anthropic_event

        shape = draft.shape()
        if shape is None:
            return "the body is not a chat completion"
        if shape not in ("openai", "anthropic"):
            return self._apply_api(draft, shape)
        reason = finish_reason_for(self.reason, shape)
        if shape == "anthropic" and self.choice != 0:
            return f"an Anthropic message has one choice, so choice={self.choice} does not exist"
        if not draft.stream:
            return self._apply_whole(draft, shape, reason)
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

    def _apply_whole(self, draft: Draft, shape: Shape, reason: str) -> str | None:
        """A non-streamed OpenAI completion or Anthropic message, validated after the edit."""
        from ..chat import AnthropicMessage, ChatCompletion

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

    def _apply_api(self, draft: Draft, shape: Shape) -> str | None:
        """Responses, Gemini, Ollama, Bedrock: the API's own field and values (see
        :mod:`replay.chat.finish`); a Responses ``response.completed`` event is renamed
        ``response.incomplete`` when the reason makes the response incomplete."""
        where = f"for choice {self.choice}" if self.choice else ""
        if not draft.stream:
            found = rewrite_finish(shape, draft.json_body(), None, self.reason, self.choice)
            if found is None:
                return f"the {shape} response carries no finish reason {where}".rstrip()
            draft.set_json_body(found[0])
            return None
        edits = []
        for payload in draft.payloads():
            event = payload.event
            found = rewrite_finish(shape, payload.data, event.name, self.reason, self.choice)
            if found is None:
                continue
            new, name = found
            if name is not None and name != event.name:
                raw = draft.body.data[event.start : event.end]
                edits.append((event, new_event_bytes(event, raw, name, dumps_like(new, event.data))))
            else:
                edits.append(rewrite_json_event(draft, payload, new))
        if not edits:
            return f"no event of the {shape} stream carries a finish reason {where}(was it cut short?)"
        draft.replace_events(edits)
        return None
