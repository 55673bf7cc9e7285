"""``translate``: a recorded interaction re-encoded in another chat API, with the same timing.

The request and the response are decoded into the neutral model
(:mod:`replay.chat.neutral`) and encoded by the target API's codec. Every wire event of the
target is placed at the ``t`` of the source event it came from, so an application reading the
translated stream in virtual time sees its events at the recorded offsets. Headers are the
target's content type only (the source's rate-limit and tracing headers belong to another
provider). An error response (status >= 400) becomes the target API's error body for the same
status, with the source's message.

Example usage::

    anthropic_version = replay.translate(cassette.interactions[0], to="anthropic-messages")
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from ..faults.providers import error_payload
from ..model.cassette import Chunks, Interaction, Response
from .codecs import Codec, TranslationError, codec_for, get_codec
from .neutral.wire import dumps

__all__ = ["TranslationError", "api_of", "source_codec", "translate", "translate_response"]


def api_of(interaction: Interaction) -> str | None:
    """The chat API an interaction was recorded in (a name of ``replay.API_NAMES``), or None.

    Example usage::

        [replay.api_of(i) for i in cassette.interactions]   # ["openai-chat", None, ...]
    """
    codec = codec_for(interaction.request)
    return codec.name if codec is not None else None


def source_codec(interaction: Interaction, where: str = "the interaction") -> Codec:
    """The codec of the API the interaction was recorded in; TranslationError if none."""
    codec = codec_for(interaction.request)
    if codec is None:
        raise TranslationError(
            f"{where} ({interaction.request.method} {interaction.request.url}) is not a request to a "
            "chat API llm-replay can translate (see replay.chat.codecs.API_NAMES for the endpoints); "
            "leave it out of the translation or record it in one of those APIs"
        )
    return codec


def translate(interaction: Interaction, to: str, *, stream: bool | None = None) -> Interaction:
    """The interaction re-encoded in API ``to`` (same content, same event offsets).

    ``stream`` chooses a streaming or a whole-body answer (default: as recorded). Translating
    to the API it was recorded in, with the same ``stream``, returns it unchanged.

    Example usage::

        gemini = replay.translate(interaction, to="gemini")
        gemini.response.chunk_times == interaction.response.chunk_times   # (for a stream)
    """
    target = get_codec(to)
    source = source_codec(interaction)
    was_stream = source.is_stream_request(interaction.request)
    stream = was_stream if stream is None else stream
    if source.name == target.name and stream == was_stream:
        return interaction
    neutral_request = source.decode_request(interaction.request)
    request = target.encode_request(replace(neutral_request, stream=stream))
    response = translate_response(interaction.response, source, target, stream=stream)
    return interaction.model_copy(update={"request": request, "response": response})


def translate_response(response: Response, source: Codec, target: Codec, *, stream: bool) -> Response:
    """``response`` (recorded in ``source``) re-encoded by ``target``."""
    if response.status >= 400:
        return _error(response, target)
    neutral = source.decode_response(response)
    out = target.encode_response(neutral, stream)
    # How the recording ended (a dropped connection...) and whether its timing was synthetic
    # belong to the recording, whatever the API.
    return out.model_copy(update={"end": response.end, "synthetic_timing": response.synthetic_timing})


def _message_of(body: bytes) -> str:
    try:
        data: Any = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return body.decode("utf-8", "replace")[:500]
    err = data.get("error", data) if isinstance(data, dict) else data
    if isinstance(err, dict):
        return str(err.get("message") or err)
    return str(err)


def _error(response: Response, target: Codec) -> Response:
    status = response.status
    message = _message_of(response.body)
    body: Any
    headers = [("content-type", "application/json")]
    if target.name == "anthropic-messages":
        body = error_payload("anthropic", status)
        body["error"]["message"] = message
    elif target.name == "gemini":
        body = {
            "error": {
                "code": status,
                "message": message,
                "status": "UNAVAILABLE" if status >= 500 else "INVALID_ARGUMENT",
            }
        }
    elif target.name == "bedrock-converse":
        body = {"message": message}
        kind = (
            "ThrottlingException"
            if status == 429
            else "ServiceUnavailableException"
            if status >= 500
            else "ValidationException"
        )
        headers.append(("x-amzn-errortype", kind))
    elif target.name == "ollama-chat":
        body = {"error": message}
    else:
        body = error_payload("together" if target.name == "together-chat" else "openai", status)
        body["error"]["message"] = message
    data = dumps(body).encode()
    t = response.duration
    return Response(status=status, t=response.t, headers=headers, chunks=Chunks.of([(t, data)]))
