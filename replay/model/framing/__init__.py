"""Stream framings: how a streamed response body is cut into events.

Four framings, one event value (:class:`Event`, with its byte span), one incremental decoder
per framing (any split of the bytes gives the same events, in linear time):

- ``sse``: Server-Sent Events (OpenAI, Anthropic, Gemini with ``alt=sse``, Responses API)
- ``ndjson``: one JSON value a line (Ollama)
- ``eventstream``: AWS event-stream binary messages with CRC32s (Bedrock)
- ``json-array``: a JSON array streamed element by element (Gemini without ``alt=sse``)

Example usage::

    from replay.model.framing import decode, detect_framing

    framing = detect_framing(response.header("content-type"), response.body)
    for event in decode(framing, response.body):
        print(event.name, event.start, event.end, event.data)
"""

from __future__ import annotations

from .codec import CONTENT_TYPES, decode, detect_framing, iter_decoded, new_decoder, reencode, split_at
from .event import FRAMINGS, Event, FrameDecoder, Framing, FramingError
from .eventstream import (
    EventStreamDecoder,
    EventStreamMessage,
    Header,
    HeaderValue,
    decode_message,
    encode_message,
    parse_messages,
)
from .jsonarray import JSONArrayDecoder, JSONArrayEvent, parse_elements
from .ndjson import NDJSONDecoder, NDJSONEvent, encode_line, parse_lines
from .sse import SSEDecoder, SSEEvent, encode_event, parse_events

__all__ = [
    "CONTENT_TYPES",
    "FRAMINGS",
    "Event",
    "EventStreamDecoder",
    "EventStreamMessage",
    "FrameDecoder",
    "Framing",
    "FramingError",
    "Header",
    "HeaderValue",
    "JSONArrayDecoder",
    "JSONArrayEvent",
    "NDJSONDecoder",
    "NDJSONEvent",
    "SSEDecoder",
    "SSEEvent",
    "decode",
    "decode_message",
    "detect_framing",
    "encode_event",
    "encode_line",
    "encode_message",
    "iter_decoded",
    "new_decoder",
    "parse_elements",
    "parse_events",
    "parse_lines",
    "parse_messages",
    "reencode",
    "split_at",
]
