"""vcrpy cassettes, read and written: import into the native model, export back for vcrpy.

A vcrpy cassette stores each response body as one string, without timing. On import:

- The body is decoded per ``Content-Encoding`` (``!!binary`` gzip included), as the core stores
  every body decoded; ``decoded_from`` records it, ``content-length`` is fixed, and replay through
  ``use_cassette`` hands the client the decoded bytes. (The pytest-recording drop-in,
  :mod:`replay.vcr.bridge`, replays vcrpy files as stored instead, encoding intact.)
- A streamed body (SSE, NDJSON, AWS event-stream, JSON array: see :mod:`replay.model.framing`)
  is split into chunks where its events end and timed by a :class:`SyntheticTiming` schedule;
  any other body is one chunk.
- Header values stored as bytes (``!!binary``, as botocore's requests are recorded) are read
  as text, as vcrpy itself accepts them.
- pydantic-ai's variant (bodies stored parsed under ``parsed_body``) is read too; the body is
  rebuilt as pydantic-ai replays it (see :mod:`replay.vcr.pydantic_ai`).
- Responses given synthetic timing carry ``synthetic_timing=True`` (``llm-replay inspect`` shows it).
- Secret headers (``authorization``, ``api-key``, ``x-api-key``: value replaced; ``cookie`` and
  ``set-cookie``: dropped) are removed, so saving or converting never writes them.

On export, bodies are written as vcrpy writes them (through vcrpy's own serializers), and the
native timing rides along in one extra response key, ``llm_replay``, which vcrpy keeps and
ignores. Importing such a file restores the recorded chunk boundaries and times, so native ->
vcrpy -> native keeps bodies byte-identical and timing exact.

Example usage::

    cassette = replay.load_cassette("cassettes/old_vcrpy.yaml")   # detected automatically
    text = replay.vcr.format.dump_vcr(cassette)                           # vcrpy YAML again
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from importlib.util import find_spec
from typing import Any, Literal

from pydantic import ValidationError

from ..errors import CassetteFormatError
from ..model.cassette import Cassette, Chunk, Headers, Interaction, Request, Response, StreamEnd
from ..model.decoding import decode_recorded
from ..model.framing import detect_framing, split_at
from ..model.headers import COOKIE_HEADERS, CREDENTIAL_HEADERS, PLACEHOLDER, header_text
from .pydantic_ai import body_from_parsed

__all__ = [
    "DEFAULT_SYNTHETIC_TIMING",
    "TIMING_KEY",
    "SyntheticTiming",
    "VcrSerializer",
    "body_bytes",
    "interaction_from_vcr",
    "is_vcr_data",
    "parse_vcr",
    "redact_headers",
    "replayed_vcr_response",
]

TIMING_KEY = "llm_replay"
VcrSerializer = Literal["yaml", "json"]


@dataclass(frozen=True, slots=True)
class SyntheticTiming:
    """The schedule given to bodies recorded without timing (vcrpy stores one string).

    The response headers and the first chunk arrive ``ttfb`` seconds after the request; each
    further SSE event arrives ``gap`` seconds after the previous one. A body that is not an event
    stream is one chunk at ``ttfb``.

    Example usage::

        replay.load_cassette("old.yaml", synthetic_timing=SyntheticTiming(ttfb=0.5, gap=0.05))
    """

    ttfb: float = 0.2
    gap: float = 0.02

    def __post_init__(self) -> None:
        for name in ("ttfb", "gap"):
            value = getattr(self, name)
            if (
                isinstance(value, bool)
                or not isinstance(value, (int, float))
                or not math.isfinite(value)
                or value < 0
            ):
                raise ValueError(
                    f"SyntheticTiming.{name} must be a finite number of seconds >= 0, got {value!r}"
                )

    def chunk_times(self, n: int) -> list[float]:
        return [round(self.ttfb + i * self.gap, 6) for i in range(n)]


DEFAULT_SYNTHETIC_TIMING = SyntheticTiming()

# Header values that never reach disk (DESIGN: secrets): see replay.model.headers.
REDACTED = PLACEHOLDER


def redact_headers(headers: Headers) -> Headers:
    """Headers with secret values replaced and cookies removed."""
    out: Headers = []
    for name, value in headers:
        lname = name.lower()
        if lname in COOKIE_HEADERS:
            continue
        out.append((name, _redacted(value) if lname in CREDENTIAL_HEADERS else value))
    return out


def _redacted(value: str) -> str:
    """``Bearer REDACTED`` for ``Bearer <token>``, as the scrubber writes it: the scheme stays, so
    native -> vcrpy -> native keeps the header the SDKs expect."""
    scheme, space, _ = value.strip().partition(" ")
    return f"{scheme} {REDACTED}" if space and scheme.isalpha() else REDACTED


def is_vcr_data(data: Any) -> bool:
    """Whether parsed YAML/JSON looks like a vcrpy cassette (and not a native one)."""
    return (
        isinstance(data, dict)
        and "format" not in data
        and isinstance(data.get("interactions"), list)
        and (data.get("version") == 1 or "version" not in data)
    )


# -- import ------------------------------------------------------------------------------------


class _Bad(ValueError):
    """A problem in one interaction; the caller adds the file and interaction to the message."""


def body_bytes(value: Any, what: str = "a body") -> bytes:
    """A vcrpy body (text, ``!!binary`` bytes, or null) as bytes; ValueError for anything else."""
    if value is None:
        return b""
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode("utf-8")
    raise ValueError(f"{what} must be a string or !!binary, got {type(value).__name__}")


def _text_or_bytes(value: Any, what: str) -> bytes:
    try:
        return body_bytes(value, what)
    except ValueError as exc:
        raise _Bad(str(exc)) from None


def _vcr_headers(value: Any, what: str) -> Headers:
    if value is None:
        return []
    if not isinstance(value, dict):
        raise _Bad(f"{what} must be a mapping of header name to a list of values")
    out: Headers = []
    for name, values in value.items():
        for item in values if isinstance(values, list) else [values]:
            if isinstance(item, bytes):
                # botocore records some header values as bytes (vcrpy writes them !!binary).
                out.append((str(name), header_text(item)))
                continue
            if isinstance(item, bool) or not isinstance(item, (str, int, float)):
                raise _Bad(f"{what}: header {name!r} has a non-text value {item!r}")
            out.append((str(name), str(item)))
    return out


def _request_from_vcr(raw: Any) -> Request:
    if not isinstance(raw, dict):
        raise _Bad("'request' must be a mapping with method, uri, headers and body")
    unknown = set(raw) - {"method", "uri", "body", "headers", "parsed_body"}
    if unknown:
        raise _Bad(f"request has unknown key(s) {sorted(unknown)}")
    method, uri = raw.get("method"), raw.get("uri")
    if not isinstance(method, str) or not method:
        raise _Bad("request.method is missing")
    if not isinstance(uri, str) or not uri:
        raise _Bad("request.uri is missing")
    return Request(
        method=method.upper(),
        url=uri,
        headers=_vcr_headers(raw.get("headers"), "request.headers"),
        body=(
            body_from_parsed(raw["parsed_body"])
            if raw.get("parsed_body") is not None
            else _text_or_bytes(raw.get("body"), "request.body")
        ),
    )


def _response_parts(raw: Any) -> tuple[int, Headers, bytes]:
    if not isinstance(raw, dict):
        raise _Bad("'response' must be a mapping with status, headers and body")
    if "status_code" in raw:  # httpx responses as vcrpy < 5 wrote them
        status: Any = raw.get("status_code")
        body = _text_or_bytes(raw.get("content"), "response.content")
    else:
        status_map = raw.get("status")
        status = status_map.get("code") if isinstance(status_map, dict) else None
        body_map = raw.get("body")
        if raw.get("parsed_body") is not None:
            body = body_from_parsed(raw["parsed_body"])
        elif body_map is None:
            body = b""
        elif isinstance(body_map, dict):
            body = _text_or_bytes(body_map.get("string"), "response.body.string")
        else:
            body = _text_or_bytes(body_map, "response.body")
    if isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 999:
        raise _Bad(f"response.status.code must be an HTTP status number, got {status!r}")
    return status, _vcr_headers(raw.get("headers"), "response.headers"), body


def _recorded_timing(meta: Any, body: bytes) -> tuple[float, list[Chunk], StreamEnd | None] | None:
    """The chunk timing llm-replay exported beside the body, if present and still consistent."""
    if not isinstance(meta, dict):
        return None
    try:
        head_t = float(meta.get("t", 0.0))
        chunks: list[Chunk] = []
        pos = 0
        for pair in str(meta.get("chunks", "")).split():
            t_text, _, size_text = pair.partition("/")
            if (size := int(size_text)) < 0:
                raise _Bad(f"{TIMING_KEY}.chunks: chunk size {size} is negative")
            chunks.append(Chunk(t=float(t_text), data=body[pos : pos + size]))
            pos += size
        end = StreamEnd.model_validate(meta["end"]) if meta.get("end") else None
    except _Bad:
        raise
    except ValidationError as exc:  # past the limits (replay.limits): refused, not re-timed
        raise _Bad(f"{TIMING_KEY}: {exc.errors()[0]['msg']}") from None
    except (ValueError, TypeError, ArithmeticError):
        return None
    # The body is the truth: an edited body no longer fits the recorded boundaries.
    if pos != len(body) or any(not math.isfinite(c.t) or c.t < head_t for c in chunks):
        return None
    return head_t, chunks, end


def interaction_from_vcr(
    raw: Any,
    *,
    synthetic_timing: SyntheticTiming = DEFAULT_SYNTHETIC_TIMING,
    keep_secrets: bool = False,
    decode: bool = True,
    frame: bool = True,
) -> Interaction:
    """One vcrpy interaction mapping (``{request, response}``) as a native :class:`Interaction`.

    ``decode=False`` keeps a compressed body as stored, ``content-encoding`` intact (it is then
    one chunk: event boundaries are not visible in compressed bytes). ``frame=False`` keeps an
    untimed body as one chunk instead of splitting it at events: enough to validate a file
    whose bodies are framed later, when played. Raises ValueError describing the problem.
    """
    if not isinstance(raw, dict) or "request" not in raw or "response" not in raw:
        raise _Bad("an interaction is a mapping with 'request' and 'response'")
    request = _request_from_vcr(raw["request"])
    status, headers, body = _response_parts(raw["response"])
    meta = raw["response"].get(TIMING_KEY)
    if not keep_secrets:
        request = request.model_copy(update={"headers": redact_headers(request.headers)})
        headers = redact_headers(headers)
    decoded_from: str | None = None
    if decode:
        decoded, headers, decoded_from = decode_recorded([(0.0, body)] if body else [], headers)
        body = b"".join(d for _, d in decoded)
    encoded = any(n.lower() == "content-encoding" and v.strip().lower() != "identity" for n, v in headers)
    if isinstance(meta, dict) and meta.get("decoded_from") and not decoded_from:
        decoded_from = str(meta["decoded_from"])
    timed = _recorded_timing(meta, body)
    if timed is not None:
        head_t, chunks, end = timed
        synthetic = bool(meta.get("synthetic", False)) if isinstance(meta, dict) else False
    else:
        ctype = next((v for n, v in headers if n.lower() == "content-type"), None)
        framing = None if encoded or not frame else detect_framing(ctype, body)
        pieces = split_at(framing, body) if framing is not None else ([body] if body else [])
        head_t = synthetic_timing.ttfb
        chunks = [
            Chunk(t=t, data=p) for t, p in zip(synthetic_timing.chunk_times(len(pieces)), pieces, strict=True)
        ]
        end, synthetic = None, True
    response = Response(
        status=status,
        t=head_t,
        headers=headers,
        chunks=chunks,
        end=end,
        decoded_from=decoded_from,
        synthetic_timing=synthetic,
    )
    recorded_at = meta.get("recorded_at") if isinstance(meta, dict) else None
    return Interaction(request=request, response=response, recorded_at=recorded_at)


# vcrpy's decode_response knows these (br only with brotli installed).
_VCRPY_ENCODINGS = ("gzip", "deflate", "br")


def replayed_vcr_response(response: Any, *, decode: bool) -> Any:
    """The response mapping vcrpy replays for a stored one.

    vcrpy < 5 stored httpx responses as ``status_code``/``content``, the body already decoded
    beside the original ``content-encoding``, and decoded them again on replay; ``decode``
    (vcrpy's ``decode_compressed_response``) decodes a stored body. Both go as vcrpy's
    ``decode_response`` goes: the first encoding is undone (a body that does not decompress is
    taken as decoded already), dropped from the headers, and ``content-length`` set. Anything
    malformed comes back as it is, for :func:`interaction_from_vcr` to word the problem.
    """
    if not isinstance(response, dict):
        return response
    if "status_code" in response:
        response = {
            "status": {"code": response["status_code"]},
            "headers": response.get("headers") or {},
            "body": {"string": response.get("content") or b""},
            **({TIMING_KEY: response[TIMING_KEY]} if TIMING_KEY in response else {}),
        }
    elif not decode:
        return response
    return _decoded_as_vcrpy(response)


def _decoded_as_vcrpy(response: dict[str, Any]) -> dict[str, Any]:
    headers, body_map = response.get("headers"), response.get("body")
    if not isinstance(headers, dict) or not isinstance(body_map, dict):
        return response
    name = next((k for k in headers if str(k).lower() == "content-encoding"), None)
    values = headers.get(name) if name is not None else None
    values = [values] if isinstance(values, str) else values
    if not isinstance(values, list) or not values:
        return response
    encoding = str(values[0]).strip().lower()
    if encoding not in _VCRPY_ENCODINGS or (encoding == "br" and find_spec("brotli") is None):
        return response
    try:
        body = body_bytes(body_map.get("string"))
    except ValueError:
        return response
    decoded, _, undone = decode_recorded([(0.0, body)] if body else [], [("content-encoding", encoding)])
    if undone is not None:
        body = b"".join(data for _, data in decoded)
    kept = {k: v for k, v in headers.items() if k != name and str(k).lower() != "content-length"}
    if values[1:]:
        kept[name] = values[1:]
    kept["content-length"] = [str(len(body))]
    return {**response, "headers": kept, "body": {**body_map, "string": body}}


def parse_vcr(
    data: Any,
    source: str = "<data>",
    *,
    synthetic_timing: SyntheticTiming = DEFAULT_SYNTHETIC_TIMING,
    keep_secrets: bool = False,
) -> Cassette:
    """A vcrpy cassette's parsed YAML/JSON as a native :class:`Cassette`.

    Example usage::

        cassette = parse_vcr(yaml.safe_load(text), "old.yaml")
    """
    if not is_vcr_data(data):
        raise CassetteFormatError(
            f"{source}: not a vcrpy cassette (expected a mapping with 'interactions' and 'version: 1')."
        )
    interactions: list[Interaction] = []
    for i, raw in enumerate(data["interactions"]):
        try:
            interactions.append(
                interaction_from_vcr(raw, synthetic_timing=synthetic_timing, keep_secrets=keep_secrets)
            )
        except (ValueError, TypeError) as exc:
            raise CassetteFormatError(
                f"{source}: vcrpy interaction #{i} is invalid: {exc}. Fix it, or re-record the cassette."
            ) from None
    return Cassette(interactions=interactions)


# -- export ------------------------------------------------------------------------------------
