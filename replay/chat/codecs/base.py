"""What every API codec provides, and the errors they raise.

Example usage::

    codec = CODECS["anthropic-messages"]
    request = codec.decode_request(interaction.request)
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from ...errors import ReplayError
from ...model.cassette import Request, Response
from ..neutral.model import ChatRequest, ChatResponse

__all__ = ["Codec", "TranslationError", "json_body", "timed_sse_json"]


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
    decode_request: Callable[[Request], ChatRequest]
    encode_request: Callable[[ChatRequest], Request]
    decode_response: Callable[[Response], ChatResponse]
    encode_response: Callable[[ChatResponse, bool], Response]
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
