"""The ``chat`` matcher's key: which API a request was made in, and its conversation as data.

Two requests have the same key when they are made in the same API and carry the same system
prompt, conversation (merged turns) and tools once decoded into the neutral model, whatever
their JSON layout, model name, sampling parameters or stream flag (``as_api`` re-encodes the
answer as the call asks). A request to no chat API we know has a key of its (canonical) body,
so the matcher still works for it.

Example usage::

    chat_key("POST", "https://api.anthropic.com/v1/messages", body)
    # ("anthropic-messages", '{"messages": [...], "system": null, "tools": [...]}')
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from ..model.cassette import Request
from .codecs import TranslationError, codec_for

__all__ = ["ChatKey", "chat_key"]

ChatKey = tuple[str, str]


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            "type": type(value).__name__,
            **{f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)},
        }
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


def chat_key(method: str, url: str, body: bytes) -> ChatKey:
    """``(API name, canonical conversation JSON)``; ``("", body text)`` for other requests."""
    request = Request(method=method, url=url, body=body)
    codec = codec_for(request)
    if codec is not None:
        try:
            neutral = codec.decode_request(request)
        except (TranslationError, KeyError, TypeError, AttributeError):
            neutral = None
        if neutral is not None:
            system, messages, tools = neutral.conversation_key()
            # Named parts, so a miss reads "chat.messages[0].parts[0].text: ... != recorded ...".
            data = {"system": system, "messages": _plain(messages), "tools": _plain(tools)}
            text = json.dumps(data, sort_keys=True, separators=(",", ":"))
            return (codec.name, text)
    return ("", body.decode("utf-8", "replace"))
