"""What every API codec provides, the errors they raise, and the helpers they share.

Example usage::

    codec = CODECS["anthropic-messages"]
    request = codec.decode_request(interaction.request)
"""

from __future__ import annotations

import json
import sys
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
    "FinishWords",
    "TranslationError",
    "at",
    "chat_response",
    "json_body",
    "json_request",
    "settings",
    "stream_field",
    "timed_sse_json",
]


class TranslationError(ReplayError, ValueError):
    """A request or response that a codec cannot read or write; the message says why and what to do."""


@dataclass(frozen=True, slots=True)
class Codec:
    """One API's wire format, both ways.

    ``handles(host, path)`` recognises the API's endpoints; ``encode_stream`` and
    ``encode_whole`` write a streaming or a whole-body answer whatever the source was.
    """

    name: str
    handles: Callable[[str, str], bool]
    decode_request: Callable[[Request], neutral.ChatRequest]
    encode_request: Callable[[neutral.ChatRequest], Request]
    decode_response: Callable[[Response], neutral.ChatResponse]
    encode_stream: Callable[[neutral.ChatResponse], Response]
    encode_whole: Callable[[neutral.ChatResponse], Response]
    is_stream_request: Callable[[Request], bool]

    @classmethod
    def of_module(cls, name: str, module: str) -> Codec:
        """The codec a module defines as functions named after the fields (``handles``, ...)."""
        found = vars(sys.modules[module])
        return cls(name, *(found[f] for f in cls.__dataclass_fields__ if f != "name"))

    def encode_response(self, response: neutral.ChatResponse, stream: bool) -> Response:
        return self.encode_stream(response) if stream else self.encode_whole(response)


@dataclass(frozen=True, slots=True)
class FinishWords:
    """An API's finish words per neutral reason: read from any of them, written as the first.

    A reason with no word is written as ``default`` (the API has no equivalent); a word not listed
    is read as ``other``.
    """

    default: str
    stop: tuple[str, ...] = ()
    length: tuple[str, ...] = ()
    tool_calls: tuple[str, ...] = ()
    content_filter: tuple[str, ...] = ()
    stop_sequence: tuple[str, ...] = ()
    other: tuple[str, ...] = ()

    def decode(self, raw: str, had_tools: bool = False) -> neutral.Finish:
        listed = [r for r in neutral.FINISH_REASONS if raw in getattr(self, r)]
        reason: neutral.FinishReason = listed[0] if listed else "other"
        # An API without a tool-call finish says "stop"; the calls in the answer say it was one.
        return neutral.Finish("tool_calls" if reason == "stop" and had_tools else reason, raw)

    def encode(self, finish: neutral.Finish | None) -> str:
        """The word for ``finish`` (no finish: ``stop``)."""
        words: tuple[str, ...] = getattr(self, finish.reason if finish else "stop")
        return words[0] if words else self.default


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


def settings(req: neutral.ChatRequest, names: Mapping[str, str]) -> dict[str, Any]:
    """The request's sampling settings that are set, under the API's ``names`` and in their order.

    ``names`` maps ``temperature``, ``top_p``, ``max_tokens`` and ``stop`` to the API's keys; a
    setting left out of it has no place in that API. An unset setting is left out, not sent as null.
    """
    values = {
        "temperature": req.temperature,
        "top_p": req.top_p,
        "max_tokens": req.max_tokens,
        "stop": list(req.stop) or None,
    }
    return {key: values[setting] for setting, key in names.items() if values[setting] is not None}


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
