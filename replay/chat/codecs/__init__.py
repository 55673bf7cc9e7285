"""One codec per chat API, registered by the names of the public contract.

========================= ==========================================================
name                      endpoints
========================= ==========================================================
``openai-chat``           ``POST /v1/chat/completions`` (SSE or JSON)
``openai-responses``      ``POST /v1/responses`` (SSE with named events, or JSON)
``anthropic-messages``    ``POST /v1/messages`` (SSE with named events, or JSON)
``gemini``                ``POST /v1/models/M:generateContent`` / ``:streamGenerateContent?alt=sse``
``bedrock-converse``      ``POST /model/M/converse`` (JSON) / ``/model/M/converse-stream`` (event-stream)
``ollama-chat``           ``POST /api/chat`` (NDJSON or JSON)
``together-chat``,        OpenAI-compatible dialects: ``openai-chat`` with their own finish reasons
``groq-chat``,
``mistral-chat``
========================= ==========================================================

Example usage::

    codec = codec_for(interaction.request)    # detected from host and path
    CODECS["gemini"].encode_response(codec.decode_response(interaction.response), True)
"""

from __future__ import annotations

from ...model.cassette import Request
from . import anthropic_messages, bedrock_converse, gemini, ollama_chat, openai_chat, openai_responses
from .base import Codec, TranslationError

__all__ = ["API_NAMES", "CODECS", "Codec", "TranslationError", "codec_for", "get_codec"]

CODECS: dict[str, Codec] = {
    codec.name: codec
    for codec in (
        openai_chat.CODEC,
        openai_responses.CODEC,
        anthropic_messages.CODEC,
        gemini.CODEC,
        bedrock_converse.CODEC,
        ollama_chat.CODEC,
        openai_chat.dialect_codec("together"),
        openai_chat.dialect_codec("groq"),
        openai_chat.dialect_codec("mistral"),
    )
}
API_NAMES: tuple[str, ...] = tuple(CODECS)


def get_codec(name: str) -> Codec:
    """The codec registered as ``name``; a ValueError lists the names otherwise."""
    try:
        return CODECS[name]
    except KeyError:
        raise ValueError(f"unknown API {name!r}; known APIs: {', '.join(API_NAMES)}") from None


def codec_for(request: Request) -> Codec | None:
    """The codec whose endpoints the request was sent to, or None (not a chat API we know)."""
    host, path = request.host.lower(), request.path.rstrip("/")
    # Dialects before plain OpenAI: they share the path and differ by host.
    for name in ("together-chat", "groq-chat", "mistral-chat", *API_NAMES):
        if name in CODECS and CODECS[name].handles(host, path):
            return CODECS[name]
    return None
