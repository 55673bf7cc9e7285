"""Which API a body speaks, told from its shape (never from the host: OpenAI-compatible servers
run anywhere), and the JSON payloads of a response, streamed or not, whatever its framing.

Shapes: ``openai`` (chat completions), ``anthropic`` (messages), ``responses`` (OpenAI
Responses API), ``gemini`` (generateContent), ``ollama`` (``/api/chat``, ``/api/generate``),
``bedrock`` (Converse / ConverseStream; InvokeModel streams carry another API's JSON in their
``chunk`` events, base64-encoded, and take that API's shape).

Example usage::

    from replay.chat.shapes import body_shape

    body_shape(response)   # "openai", "anthropic" or None
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from ..model.framing import Event, EventStreamMessage

__all__ = [
    "ANTHROPIC_EVENT_TYPES",
    "BEDROCK_EVENT_TYPES",
    "Payload",
    "Shape",
    "body_shape",
    "event_json",
    "is_data_event",
    "is_wrapped_chunk",
    "iter_payloads",
    "payload_shape",
]

Shape = Literal["openai", "anthropic", "responses", "gemini", "ollama", "bedrock"]
BEDROCK_EVENT_TYPES = frozenset(
    {"messageStart", "contentBlockStart", "contentBlockDelta", "contentBlockStop", "messageStop", "metadata"}
)

ANTHROPIC_EVENT_TYPES = frozenset(
    {
        "message_start",
        "content_block_start",
        "content_block_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
        "ping",
        "error",
    }
)
_OPENAI_OBJECTS = frozenset({"chat.completion", "chat.completion.chunk"})


def payload_shape(obj: Any, name: str | None = None) -> Shape | None:
    """The API a payload belongs to (``name``: the event's name, which Bedrock's stream types
    its payloads by), or None."""
    if not isinstance(obj, dict):
        return None
    if isinstance(obj.get("choices"), list) or obj.get("object") in _OPENAI_OBJECTS:
        return "openai"
    kind = obj.get("type")
    if kind == "message" or (kind in ANTHROPIC_EVENT_TYPES and "sequence_number" not in obj):
        return "anthropic"
    if obj.get("object") == "response" or (isinstance(kind, str) and kind.startswith("response.")):
        return "responses"
    if kind == "error" and "sequence_number" in obj:
        return "responses"
    if "candidates" in obj or "usageMetadata" in obj or "promptFeedback" in obj:
        return "gemini"
    if "done" in obj and "created_at" in obj:
        return "ollama"
    if name in BEDROCK_EVENT_TYPES or ("stopReason" in obj and "output" in obj):
        return "bedrock"
    return None


def is_data_event(event: Event) -> bool:
    """Whether an event counts as delivered data: it carries data and is not a keep-alive.

    ``[DONE]`` and usage-only chunks count; SSE comments never reach here (the decoder drops
    them), and Anthropic's ``ping`` events and empty ``data:`` frames are keep-alives.
    """
    return event.carries_data


def is_wrapped_chunk(data: Any) -> bool:
    """A Bedrock InvokeModel ``chunk`` payload: ``{"bytes": base64}`` (plus ``p`` padding)."""
    return isinstance(data, dict) and isinstance(data.get("bytes"), str) and set(data) <= {"bytes", "p"}


def event_json(event: Event) -> Any:
    """An event's JSON; a Bedrock InvokeModel ``chunk`` gives the model's own JSON it wraps.

    Raises ``ValueError`` when the data is not JSON.
    """
    data = event.json()
    if isinstance(event, EventStreamMessage) and is_wrapped_chunk(data):
        try:
            return json.loads(base64.b64decode(data["bytes"], validate=True))
        except (binascii.Error, ValueError, TypeError):
            return data
    return data


@dataclass(frozen=True, slots=True)
class Payload:
    """One JSON payload of a response: the whole body, or one SSE event's data."""

    index: int  # position among the body's data events (0 for a whole body)
    event: Event | None
    data: Any

    @property
    def shape(self) -> Shape | None:
        return payload_shape(self.data, self.event.name if self.event is not None else None)


def iter_payloads(events: Sequence[Event] | None, body: bytes) -> Iterator[Payload]:
    """JSON payloads of a stream's data events (``[DONE]`` and non-JSON skipped), or of a body."""
    if events is None:
        try:
            yield Payload(0, None, json.loads(body))
        except ValueError:
            return
        return
    n = 0
    for event in events:
        if not is_data_event(event):
            continue
        index = n
        n += 1
        if event.is_done:
            continue
        try:
            yield Payload(index, event, event_json(event))
        except ValueError:
            continue


def body_shape(events: Sequence[Event] | None, body: bytes) -> Shape | None:
    """The shape of the first payload that has one."""
    for payload in iter_payloads(events, body):
        shape = payload.shape
        if shape is not None:
            return shape
    return None
