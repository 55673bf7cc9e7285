"""pydantic-ai's cassette format: vcrpy's layout, with JSON bodies stored parsed.

pydantic-ai's test suite records with vcrpy through its own serializer, which (as its public
source describes):

- lower-cases header names and drops ``authorization``, ``date``, ``request-id``, ``server``,
  ``user-agent``, ``via``, ``set-cookie``, ``api-key`` and every ``anthropic-``, ``cf-``, ``x-``
  header;
- for a request or response whose ``content-type`` starts with ``application/json``, stores the
  body parsed, as ``parsed_body:`` (YAML data) instead of ``body:`` (an ``access_token`` in it
  becomes ``scrubbed``); SSE and binary bodies stay under ``body``;
- writes multi-line strings as YAML literal blocks.

When it replays, the body is ``json.dumps(parsed_body)``: Python's default separators
(``", "``, ``": "``), ASCII escapes, keys in stored order. :func:`body_from_parsed` rebuilds
exactly those bytes, so a cassette in this format replays what pydantic-ai's own tests see.

Example usage::

    cassette = replay.load_cassette("tests/cassettes/test_openai/test_request_simple.yaml")
    text = replay.pydantic_ai.dump_pydantic_ai(cassette)   # and back
"""

from __future__ import annotations

import json
from typing import Any

import yaml

__all__ = [
    "FILTERED_HEADERS",
    "FILTERED_HEADER_PREFIXES",
    "body_from_parsed",
    "dump_pydantic_ai",
    "from_pydantic_ai_data",
    "is_pydantic_ai_data",
    "to_pydantic_ai_data",
]

FILTERED_HEADERS = frozenset(
    {"authorization", "date", "request-id", "server", "user-agent", "via", "set-cookie", "api-key"}
)
FILTERED_HEADER_PREFIXES = ("anthropic-", "cf-", "x-")


def body_from_parsed(parsed: Any) -> bytes:
    """The bytes pydantic-ai replays for a ``parsed_body`` (``json.dumps`` with its defaults)."""
    return json.dumps(parsed).encode("utf-8")


def is_pydantic_ai_data(data: Any) -> bool:
    """Whether a parsed vcrpy-layout cassette stores any body as ``parsed_body``."""
    if not isinstance(data, dict) or not isinstance(data.get("interactions"), list):
        return False
    return any(
        isinstance(item, dict) and isinstance(side, dict) and "parsed_body" in side
        for item in data["interactions"]
        for side in (item.get("request"), item.get("response"))
    )


def from_pydantic_ai_data(data: dict[str, Any]) -> dict[str, Any]:
    """Plain vcrpy data: each ``parsed_body`` back under ``body`` as the bytes pydantic-ai
    replays (a request's body is the string itself, a response's ``{string: ...}``)."""
    interactions = []
    for item in data.get("interactions", []):
        converted = dict(item) if isinstance(item, dict) else item
        if isinstance(converted, dict):
            for kind in ("request", "response"):
                side = converted.get(kind)
                if isinstance(side, dict) and side.get("parsed_body") is not None:
                    side = dict(side)
                    text = body_from_parsed(side.pop("parsed_body")).decode("utf-8")
                    side["body"] = {"string": text} if kind == "response" else text
                    converted[kind] = side
        interactions.append(converted)
    return {**data, "interactions": interactions}


def _headers(headers: Any) -> dict[str, Any]:
    if not isinstance(headers, dict):
        return {}
    lowered = {str(k).lower(): v for k, v in headers.items()}
    return {
        k: v
        for k, v in lowered.items()
        if k not in FILTERED_HEADERS and not k.startswith(FILTERED_HEADER_PREFIXES)
    }


def _side(data: dict[str, Any]) -> dict[str, Any]:
    out = dict(data)
    headers = _headers(out.get("headers"))
    out["headers"] = headers
    types = headers.get("content-type") or []
    types = types if isinstance(types, list) else [types]
    if not any(isinstance(t, str) and t.startswith("application/json") for t in types):
        return out
    body = out.get("body")
    if isinstance(body, dict):
        body = body.get("string")
    if isinstance(body, bytes):
        body = body.decode("utf-8")
    if not isinstance(body, str) or not body:
        return out
    try:
        parsed = json.loads(body)
    except ValueError:
        return out  # a body that says JSON but is not stays as it was
    if isinstance(parsed, dict) and "access_token" in parsed:
        parsed["access_token"] = "scrubbed"
    del out["body"]
    out["parsed_body"] = parsed
    return out


def to_pydantic_ai_data(vcr_data: dict[str, Any]) -> dict[str, Any]:
    """A vcrpy cassette's data (as vcrpy serialises it) in pydantic-ai's layout."""
    interactions = []
    for item in vcr_data.get("interactions", []):
        converted = {kind: _side(side) if isinstance(side, dict) else side for kind, side in item.items()}
        interactions.append(converted)
    return {**vcr_data, "interactions": interactions}


class _LiteralDumper(yaml.SafeDumper):
    """Multi-line strings as literal blocks, as pydantic-ai writes them."""


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_LiteralDumper.add_representer(str, _str)


def dump_pydantic_ai(vcr_data: dict[str, Any]) -> str:
    """YAML text in pydantic-ai's format from a vcrpy cassette's data."""
    data = to_pydantic_ai_data(vcr_data)
    text: str = yaml.dump(data, Dumper=_LiteralDumper, allow_unicode=True, width=120, sort_keys=True)
    return text
