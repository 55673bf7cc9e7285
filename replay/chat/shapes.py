"""Which API a body speaks, told from its shape (never from the host: OpenAI-compatible servers
run anywhere), and the JSON payloads of a response, streamed or not.

Example usage::

    from replay.chat.shapes import body_shape

    body_shape(response)   # "openai", "anthropic" or None
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

from ..model.sse import SSEEvent

__all__ = [
    "ANTHROPIC_EVENT_TYPES",
    "Payload",
    "Shape",
    "body_shape",
    "is_data_event",
    "iter_payloads",
    "payload_shape",
]

Shape = Literal["openai", "anthropic"]

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


def payload_shape(obj: Any) -> Shape | None:
    """``openai`` for a chat completion or chunk, ``anthropic`` for a message or stream event."""
    if not isinstance(obj, dict):
        return None
    if isinstance(obj.get("choices"), list) or obj.get("object") in _OPENAI_OBJECTS:
        return "openai"
    kind = obj.get("type")
    if kind == "message" or kind in ANTHROPIC_EVENT_TYPES:
        return "anthropic"
    return None


def is_data_event(event: SSEEvent) -> bool:
    """Whether an event counts as delivered data: it carries data and is not a keep-alive.

    ``[DONE]`` and usage-only chunks count; comments never reach here (the decoder drops
    them), and Anthropic's ``ping`` events and empty ``data:`` frames are keep-alives.
    """
    return bool(event.data.strip()) and event.event != "ping"


@dataclass(frozen=True, slots=True)
class Payload:
    """One JSON payload of a response: the whole body, or one SSE event's data."""

    index: int  # position among the body's data events (0 for a whole body)
    event: SSEEvent | None
    data: Any


def iter_payloads(events: list[SSEEvent] | None, body: bytes) -> Iterator[Payload]:
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
            yield Payload(index, event, json.loads(event.data))
        except ValueError:
            continue


def body_shape(events: list[SSEEvent] | None, body: bytes) -> Shape | None:
    """The shape of the first payload that has one."""
    for payload in iter_payloads(events, body):
        shape = payload_shape(payload.data)
        if shape is not None:
            return shape
    return None
