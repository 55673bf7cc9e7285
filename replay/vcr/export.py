"""vcrpy cassettes written: native interactions exported in vcrpy's own form (its serializer).

The ``llm_replay`` key beside each response keeps the chunk timing vcrpy has no place for; vcrpy
ignores it, and :mod:`replay.vcr.format` reads it back.
"""

from __future__ import annotations

import http
from collections.abc import Iterable
from datetime import datetime, timezone
from typing import Any

from ..model.cassette import Cassette, Headers, Interaction, Response
from .format import TIMING_KEY, VcrSerializer

__all__ = ["dump_vcr", "response_to_vcr", "to_vcr_pairs"]


def _grouped(headers: Headers) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    index: dict[str, str] = {}
    for name, value in headers:
        key = index.setdefault(name.lower(), name)
        out.setdefault(key, []).append(value)
    return out


def response_to_vcr(
    response: Response, *, timing: bool = True, recorded_at: datetime | None = None
) -> dict[str, Any]:
    """A native response as vcrpy's response mapping (body as bytes, as vcrpy keeps it in memory)."""
    try:
        phrase = http.HTTPStatus(response.status).phrase
    except ValueError:
        phrase = ""
    out: dict[str, Any] = {
        "status": {"code": response.status, "message": phrase},
        "headers": _grouped(response.headers),
        "body": {"string": response.body},
    }
    if timing:
        meta: dict[str, Any] = {
            "t": round(response.t, 6),
            "chunks": " ".join(f"{round(c.t, 6)}/{len(c.data)}" for c in response.chunks),
        }
        if response.synthetic_timing:
            meta["synthetic"] = True
        if response.decoded_from:
            meta["decoded_from"] = response.decoded_from
        if response.end is not None:
            meta["end"] = response.end.model_dump(exclude_none=True)
        if recorded_at is not None:
            meta["recorded_at"] = recorded_at.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        out[TIMING_KEY] = meta
    return out


def to_vcr_pairs(interactions: Iterable[Interaction], *, timing: bool = True) -> tuple[list[Any], list[Any]]:
    """vcrpy's in-memory form: (``vcr.request.Request`` objects, response mappings)."""
    from vcr.request import Request as VcrRequest

    requests: list[Any] = []
    responses: list[Any] = []
    for interaction in interactions:
        req = interaction.request
        # vcrpy keeps one value per request header name; repeated ones are joined as HTTP allows.
        headers = {name: ", ".join(values) for name, values in _grouped(req.headers).items()}
        requests.append(VcrRequest(req.method, req.url, req.body or None, headers))
        responses.append(
            response_to_vcr(interaction.response, timing=timing, recorded_at=interaction.recorded_at)
        )
    return requests, responses


def dump_vcr(cassette: Cassette, *, serializer: VcrSerializer = "yaml", timing: bool = True) -> str:
    """The cassette as vcrpy would write it (vcrpy's own serializer), loadable by vcrpy.

    ``timing=False`` leaves out the ``llm_replay`` timing key (the file is then exactly what
    vcrpy itself would have recorded).
    """
    from vcr.serialize import serialize
    from vcr.serializers import jsonserializer, yamlserializer

    requests, responses = to_vcr_pairs(cassette.interactions, timing=timing)
    module: Any = yamlserializer if serializer == "yaml" else jsonserializer
    if serializer not in ("yaml", "json"):
        raise ValueError(f"Unknown vcrpy serializer {serializer!r}; expected 'yaml' or 'json'.")
    text: str = serialize({"requests": requests, "responses": responses}, module)
    return text
