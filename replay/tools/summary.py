"""A per-interaction summary for people: timing, finish reasons and token usage.

Reads OpenAI-compatible chat/completions bodies (streamed or not, ``choices[].finish_reason``,
``usage`` wherever it comes, Groq's ``x_groq.usage``), Anthropic messages (``stop_reason``,
``usage`` split over ``message_start`` and ``message_delta``) and Cohere v2 (``finish_reason`` on
``message-end``). Anything else summarises as timing only.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

from ..model.cassette import Interaction

__all__ = ["InteractionSummary", "summarize"]


@dataclass
class InteractionSummary:
    index: int
    method: str
    url: str
    status: int
    chunks: int
    events: int
    bytes: int
    ttfb: float
    first_chunk: float | None
    duration: float
    finish_reasons: list[str] = field(default_factory=list)
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    total_tokens: int | None = None
    synthetic_timing: bool = False
    end: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _usage_from(obj: Any, out: dict[str, int]) -> None:
    if not isinstance(obj, dict):
        return
    usage = obj.get("usage")
    if not isinstance(usage, dict):
        x_groq = obj.get("x_groq")
        usage = x_groq.get("usage") if isinstance(x_groq, dict) else None
    if not isinstance(usage, dict):
        return
    # OpenAI names, Anthropic names, Cohere's nested "tokens"/"billed_units".
    nested = usage.get("tokens")
    tokens: dict[str, Any] = nested if isinstance(nested, dict) else usage
    for key, target in (
        ("prompt_tokens", "prompt"),
        ("input_tokens", "prompt"),
        ("completion_tokens", "completion"),
        ("output_tokens", "completion"),
        ("total_tokens", "total"),
    ):
        value = tokens.get(key)
        if isinstance(value, int) and not isinstance(value, bool):
            out[target] = value


def _finish_from(obj: Any, out: list[str]) -> None:
    if not isinstance(obj, dict):
        return
    for choice in obj.get("choices") or []:
        if isinstance(choice, dict) and isinstance(choice.get("finish_reason"), str):
            out.append(choice["finish_reason"])
    for holder in (obj, obj.get("delta"), obj.get("message")):
        if isinstance(holder, dict) and isinstance(holder.get("stop_reason"), str):
            out.append(holder["stop_reason"])
    if obj.get("type") == "message-end":  # Cohere v2
        delta = obj.get("delta")
        if isinstance(delta, dict) and isinstance(delta.get("finish_reason"), str):
            out.append(delta["finish_reason"])


def _payloads(interaction: Interaction) -> tuple[list[Any], int]:
    response = interaction.response
    events = response.events()
    if events:
        payloads = []
        for event in events:
            if event.is_done:
                continue
            try:
                payloads.append(json.loads(event.data))
            except ValueError:
                continue
        return payloads, len(events)
    try:
        return [response.body_json()], 0
    except ValueError:
        return [], 0


def summarize(interaction: Interaction, index: int = 0) -> InteractionSummary:
    """Timing, finish reasons and usage of one interaction."""
    response = interaction.response
    payloads, n_events = _payloads(interaction)
    finish: list[str] = []
    usage: dict[str, int] = {}
    for payload in payloads:
        _finish_from(payload, finish)
        _usage_from(payload, usage)
        if isinstance(payload, dict) and isinstance(payload.get("message"), dict):
            _usage_from(payload["message"], usage)
    if "total" not in usage and "prompt" in usage and "completion" in usage:
        usage["total"] = usage["prompt"] + usage["completion"]
    return InteractionSummary(
        index=index,
        method=interaction.request.method,
        url=interaction.request.url,
        status=response.status,
        chunks=len(response.chunks),
        events=n_events,
        bytes=sum(len(c.data) for c in response.chunks),
        ttfb=response.t,
        first_chunk=response.chunks[0].t if response.chunks else None,
        duration=response.duration,
        finish_reasons=list(dict.fromkeys(finish)),
        prompt_tokens=usage.get("prompt"),
        completion_tokens=usage.get("completion"),
        total_tokens=usage.get("total"),
        synthetic_timing=response.synthetic_timing,
        end=response.end.kind if response.end is not None else None,
    )
