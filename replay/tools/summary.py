"""A per-interaction summary for people: timing, finish reasons and token usage.

Reads OpenAI-compatible chat/completions bodies (streamed or not, ``choices[].finish_reason``,
``usage`` wherever it comes, Groq's ``x_groq.usage``), Anthropic messages (``stop_reason``,
``usage`` split over ``message_start`` and ``message_delta``), Cohere v2 (``finish_reason`` on
``message-end``), the OpenAI Responses API (``status`` / ``incomplete_details.reason``), Gemini
(``finishReason``, ``usageMetadata``), Ollama (``done_reason``, ``prompt_eval_count`` /
``eval_count``) and Bedrock (``stopReason``, ``usage.inputTokens``), in any stream framing.
Anything else summarises as timing only.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from ..chat.shapes import event_json
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
    framing: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


_OTHER_USAGE = (
    ("usageMetadata", "promptTokenCount", "candidatesTokenCount", "totalTokenCount"),  # Gemini
    (None, "prompt_eval_count", "eval_count", None),  # Ollama's final line
    ("usage", "inputTokens", "outputTokens", "totalTokens"),  # Bedrock
)


def _other_usage(obj: dict[str, Any], out: dict[str, int]) -> None:
    for holder, prompt, completion, total in _OTHER_USAGE:
        source = obj.get(holder) if holder else obj
        if not isinstance(source, dict):
            continue
        for key, target in ((prompt, "prompt"), (completion, "completion"), (total, "total")):
            value = source.get(key) if key else None
            if isinstance(value, int) and not isinstance(value, bool):
                out[target] = value


def _usage_from(obj: Any, out: dict[str, int]) -> None:
    if not isinstance(obj, dict):
        return
    _other_usage(obj, out)
    if isinstance(obj.get("response"), dict):  # a Responses API stream event
        _usage_from(obj["response"], out)
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


def _other_finish(obj: dict[str, Any], out: list[str]) -> None:
    for candidate in obj.get("candidates") or []:  # Gemini
        if isinstance(candidate, dict) and isinstance(candidate.get("finishReason"), str):
            out.append(candidate["finishReason"])
    if obj.get("done") is True and isinstance(obj.get("done_reason"), str):  # Ollama
        out.append(obj["done_reason"])
    if isinstance(obj.get("stopReason"), str):  # Bedrock
        out.append(obj["stopReason"])
    inner = obj.get("response")
    response: dict[str, Any] = inner if isinstance(inner, dict) else obj
    if response.get("object") == "response" and response.get("status") in ("completed", "incomplete"):
        details = response.get("incomplete_details")
        reason = details.get("reason") if isinstance(details, dict) else None
        out.append(reason if isinstance(reason, str) else str(response["status"]))


def _finish_from(obj: Any, out: list[str]) -> None:
    if not isinstance(obj, dict):
        return
    _other_finish(obj, out)
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
                payloads.append(event_json(event))
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
        framing=response.framing,
    )
