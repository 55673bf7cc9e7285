"""What every API codec provides, and the errors they raise.

Example usage::

    codec = CODECS["anthropic-messages"]
    request = codec.decode_request(interaction.request)
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from ...errors import ReplayError
from ...model.cassette import Request, Response
from .. import neutral
from ..neutral.wire import dumps

__all__ = [
    "ChunkDecoder",
    "Codec",
    "TranslationError",
    "at",
    "chat_response",
    "json_body",
    "json_request",
    "present",
    "stream_field",
    "timed_sse_json",
]


class TranslationError(ReplayError, ValueError):
    """A request or response that a codec cannot read or write; the message says why and what to do."""


@dataclass(frozen=True, slots=True)
class Codec:
    """One API's wire format, both ways.

    ``encode_response(response, stream)`` writes a streaming or a whole-body answer whatever
    the source was; ``handles(host, path)`` recognises the API's endpoints.
    """

    name: str
    handles: Callable[[str, str], bool]
    decode_request: Callable[[Request], neutral.ChatRequest]
    encode_request: Callable[[neutral.ChatRequest], Request]
    decode_response: Callable[[Response], neutral.ChatResponse]
    encode_response: Callable[[neutral.ChatResponse, bool], Response]
    is_stream_request: Callable[[Request], bool]


def json_body(data: bytes, what: str) -> Any:
    """A JSON body, or a TranslationError naming ``what``."""
    try:
        return json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise TranslationError(
            f"{what} is not JSON ({exc}); only JSON chat bodies can be translated"
        ) from None


def timed_sse_json(response: Response) -> Iterator[tuple[float, str, Any]]:
    """``(t, event name, parsed data)`` per SSE event; ``[DONE]`` comes through as the string."""
    for t, event in response.iter_events_timed():
        if event.is_done:
            yield t, event.event, "[DONE]"
            continue
        try:
            yield t, event.event, json.loads(event.data)
        except ValueError:
            raise TranslationError(
                f"SSE event at byte {event.start} is not JSON: {event.data[:80]!r}; "
                "remove the malformed event from the recording (or record it again) before translating"
            ) from None


def json_request(url: str, body: Any, *headers: tuple[str, str]) -> Request:
    """A POST of ``body`` as compact JSON (with any API-specific ``headers`` after the content type)."""
    return Request(
        method="POST",
        url=url,
        headers=[("content-type", "application/json"), *headers],
        body=dumps(body).encode(),
    )


def stream_field(request: Request, default: bool = False) -> bool:
    """The JSON body's ``stream`` flag; ``default`` where the body does not say or is not JSON."""
    try:
        return bool(json.loads(request.body).get("stream", default))
    except (ValueError, AttributeError):
        return default


def present(**fields: Any) -> dict[str, Any]:
    """The fields that have a value, in order: an unset setting is left out of a body, not sent as null."""
    return {key: value for key, value in fields.items() if value is not None}


def at(t: float, events: Iterable[neutral.Event]) -> list[neutral.Timed]:
    """The events, all read at ``t``."""
    return [neutral.Timed(t, e) for e in events]


def chat_response(
    events: Iterable[neutral.Timed], head: Mapping[str, Any], source: Response, *, created: str = ""
) -> neutral.ChatResponse:
    """The answer decoded from ``source``, with the identity its ``head`` echoes.

    ``head`` is the whole body or the stream's first message: ``id``, ``model`` and, where the
    API has one, the creation time under the key ``created``.
    """
    return neutral.ChatResponse(
        tuple(events),
        head.get("id", ""),
        head.get("model", ""),
        int(head.get(created) or 0) if created else 0,
        source.is_event_stream,
        source.t,
    )


class ChunkDecoder:
    """What decoders of APIs that send whole chunks share (Gemini, Ollama).

    There is no start event: the first chunk is the head, which carries the answer's identity.
    A tool call comes whole, numbered in order; one without an id is named ``call_<n>``.
    """

    def __init__(self) -> None:
        self.tools = 0
        self.head: dict[str, Any] = {}

    def start(self, data: dict[str, Any]) -> list[neutral.Event]:
        """``Start`` if ``data`` is the first chunk (the head)."""
        if self.head:
            return []
        self.head = data
        return [neutral.Start()]

    def whole_call(self, cid: str | None, name: str, arguments: Any) -> list[neutral.Event]:
        index = self.tools
        self.tools += 1
        return [
            neutral.ToolCallStart(index, cid or f"call_{index}", name),
            neutral.ToolArgsDelta(index, dumps(arguments or {})),
            neutral.ToolCallEnd(index),
        ]
