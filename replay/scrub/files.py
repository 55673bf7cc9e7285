"""Scrubbing cassette files in place: native llm-replay cassettes and vcrpy cassettes.

A native cassette is loaded, scrubbed with a :class:`~replay.scrub.Scrubber` and written back
atomically under its lock. A vcrpy cassette (YAML or JSON) is rewritten in vcrpy's own format
by vcrpy's own serializer, so vcrpy keeps reading it; only the scrubbed fields change (and a
file with nothing to scrub is not rewritten at all). vcrpy bodies stored gzip- or
deflate-compressed are decompressed to be checked, and recompressed if they are rewritten.

Example usage::

    from replay.scrub import Scrubber
    from replay.scrub.files import scrub_path

    for result in scrub_path(Path("tests/cassettes"), Scrubber(), check_only=True):
        print(result.path, result.findings)
"""

from __future__ import annotations

import gzip
import json
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from ..errors import CassetteFormatError, ReplayError
from ..io.persist import cassette_lock
from ..io.storage import dump_cassette, load_cassette, parse_cassette, write_atomic
from ..model.cassette import Chunk, Headers, Interaction, Request, Response
from ..model.yamlio import YamlAliasError, load_data
from ..vcr.format import body_bytes
from . import Finding, Scrubber

__all__ = ["FileResult", "iter_cassette_files", "scrub_file", "scrub_path"]

Kind = Literal["llm-replay", "vcrpy", "not a cassette"]
_SUFFIXES = (".yaml", ".yml", ".json")


@dataclass(frozen=True, slots=True)
class FileResult:
    """What scrubbing one file did: ``fixed`` were removed, ``findings`` remain."""

    path: Path
    kind: Kind
    rewritten: bool = False
    fixed: list[Finding] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    error: str | None = None


def iter_cassette_files(path: Path) -> Iterator[Path]:
    """``path`` itself, or every ``.yaml``/``.yml``/``.json`` file under it (hidden ones skipped)."""
    if not path.exists():
        raise CassetteFormatError(f"{path} does not exist.")
    if path.is_file():
        yield path
        return
    for candidate in sorted(path.rglob("*")):
        rel = candidate.relative_to(path)
        if any(part.startswith(".") for part in rel.parts):
            continue  # .git, .venv, and our own temporary files
        if candidate.is_file() and candidate.suffix.lower() in _SUFFIXES:
            yield candidate


def scrub_path(path: Path, scrubber: Scrubber, *, check_only: bool = False) -> Iterator[FileResult]:
    """:func:`scrub_file` for a file or every cassette file under a folder."""
    for file in iter_cassette_files(path):
        yield scrub_file(file, scrubber, check_only=check_only)


def scrub_file(path: Path, scrubber: Scrubber, *, check_only: bool = False) -> FileResult:
    """Scrub one file in place (or, with ``check_only``, only report what is secret-looking)."""
    try:
        with cassette_lock(path):
            return _scrub_file(path, scrubber, check_only)
    except ReplayError as exc:
        return FileResult(path, "not a cassette", error=str(exc))


def _read(path: Path) -> tuple[str, Any]:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise CassetteFormatError(f"{path}: cannot read the file: {exc.strerror or exc}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CassetteFormatError(f"{path}: not UTF-8 text (byte {exc.start}).") from None
    if path.suffix.lower() == ".json":
        try:
            return text, json.loads(text)
        except (ValueError, RecursionError) as exc:
            raise CassetteFormatError(f"{path}: invalid JSON: {exc}.") from None
    try:
        return text, load_data(text)
    except YamlAliasError as exc:
        raise CassetteFormatError(f"{path}: {exc}; refusing to load it.") from None
    except yaml.constructor.ConstructorError:
        # Older vcrpy cassettes hold a few Python tags (str, tuple, BytesIO); vcrpy's own loader
        # builds exactly those and refuses every other Python tag.
        try:
            return text, _vcr_serializer("yaml").deserialize(text)
        except (yaml.YAMLError, ValueError) as exc:
            raise CassetteFormatError(f"{path}: invalid YAML: {_yaml_problem(exc)}.") from None
    except yaml.YAMLError as exc:
        raise CassetteFormatError(f"{path}: invalid YAML: {_yaml_problem(exc)}.") from None
    except RecursionError:
        raise CassetteFormatError(f"{path}: the YAML is nested too deeply to be a cassette.") from None


def _vcr_serializer(kind: str) -> Any:
    """vcrpy's own serializer module (imported on demand: vcrpy is slow to import)."""
    from vcr.serializers import jsonserializer, yamlserializer  # type: ignore[import-untyped,unused-ignore]

    return jsonserializer if kind == "json" else yamlserializer


def _yaml_problem(exc: BaseException) -> str:
    mark = getattr(exc, "problem_mark", None)
    where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    return f"{problem}{where}"


def _scrub_file(path: Path, scrubber: Scrubber, check_only: bool) -> FileResult:
    _, data = _read(path)
    if isinstance(data, dict) and data.get("format") == "llm-replay":
        return _scrub_native(path, data, scrubber, check_only)
    if isinstance(data, dict) and "interactions" in data:
        return _scrub_vcrpy(path, data, scrubber, check_only)
    if isinstance(data, list) and data and isinstance(data[0], dict) and "request" in data[0]:
        raise CassetteFormatError(
            f"{path}: a vcrpy cassette in the format of vcrpy before 1.0 (a list at top level), which "
            "vcrpy itself no longer reads; migrate it first with `python -m vcr.migration PATH`."
        )
    return FileResult(path, "not a cassette")


# -- native -------------------------------------------------------------------------------------


def _scrub_native(path: Path, data: Any, scrubber: Scrubber, check_only: bool) -> FileResult:
    cassette = parse_cassette(data, str(path))
    before = scrubber.findings(cassette.interactions)
    if check_only or not before:
        return FileResult(path, "llm-replay", findings=before)
    cleaned = cassette.model_copy(
        update={"interactions": [scrubber.scrub_interaction(i) for i in cassette.interactions]}
    )
    write_atomic(path, dump_cassette(cleaned).encode("utf-8"))
    after = scrubber.findings(load_cassette(path).interactions)
    return FileResult(path, "llm-replay", rewritten=True, fixed=_minus(before, after), findings=after)


def _minus(before: list[Finding], after: list[Finding]) -> list[Finding]:
    remaining = list(after)
    out = []
    for f in before:
        if f in remaining:
            remaining.remove(f)
        else:
            out.append(f)
    return out


# -- vcrpy --------------------------------------------------------------------------------------


def _vcr_shape(path: Path, data: dict[str, Any]) -> list[dict[str, Any]]:
    """Check the shape before walking: interactions is a list of {request, response} mappings."""
    interactions = data.get("interactions")
    if not isinstance(interactions, list):
        raise CassetteFormatError(f"{path}: 'interactions' must be a list (vcrpy cassette).")
    for i, item in enumerate(interactions):
        if (
            not isinstance(item, dict)
            or not isinstance(item.get("request"), dict)
            or not isinstance(item.get("response"), dict)
        ):
            raise CassetteFormatError(
                f"{path}: interactions[{i}] must be a mapping with 'request' and 'response' mappings."
            )
        request = item["request"]
        if not isinstance(request.get("uri"), str) or not isinstance(request.get("method"), str):
            raise CassetteFormatError(f"{path}: interactions[{i}].request needs 'method' and 'uri' strings.")
        for side in ("request", "response"):
            headers = item[side].get("headers")
            if headers is not None and not isinstance(headers, dict):
                raise CassetteFormatError(f"{path}: interactions[{i}].{side}.headers must be a mapping.")
    return interactions


def _vcr_headers(value: Any) -> Headers:
    out: Headers = []
    for name, values in (value or {}).items():
        for v in values if isinstance(values, list) else [values]:
            out.append((str(name), "" if v is None else str(v)))
    return out


def _vcr_headers_back(original: dict[str, Any], headers: Headers) -> dict[str, Any]:
    grouped: dict[str, list[str]] = {}
    for name, value in headers:
        grouped.setdefault(name, []).append(value)
    out: dict[str, Any] = {}
    for name, values in original.items():
        if name in grouped:
            out[name] = grouped[name] if isinstance(values, list) else grouped[name][0]
    return out


def _set_length(headers: dict[str, Any], size: int) -> None:
    for name, values in headers.items():
        if name.lower() == "content-length":
            headers[name] = [str(size)] if isinstance(values, list) else str(size)


def _as_bytes(value: Any) -> bytes:
    try:
        return body_bytes(value)
    except ValueError as exc:
        raise CassetteFormatError(str(exc)) from None


def _like(original: Any, data: bytes) -> Any:
    """``data`` in the original body's type (text stays text)."""
    if isinstance(original, str):
        return data.decode("utf-8", "surrogateescape")
    if original is None and not data:
        return None
    return data


def _encoding(headers: Headers) -> str:
    for name, value in headers:
        if name.lower() == "content-encoding":
            return value.strip().lower()
    return ""


def _decompress(data: bytes, encoding: str) -> bytes | None:
    try:
        if encoding in ("gzip", "x-gzip"):
            return gzip.decompress(data)
        if encoding == "deflate":
            try:
                return zlib.decompress(data)
            except zlib.error:
                return zlib.decompress(data, -zlib.MAX_WBITS)
    except (OSError, EOFError, zlib.error):
        return None
    return None


def _compress(data: bytes, encoding: str) -> bytes:
    if encoding == "deflate":
        return zlib.compress(data)
    return gzip.compress(data, mtime=0)


def _vcr_to_models(path: Path, item: dict[str, Any], i: int) -> tuple[Request, Response, str, bool]:
    req, resp = item["request"], item["response"]
    try:
        request = Request(
            method=req["method"],
            url=req["uri"],
            headers=_vcr_headers(req.get("headers")),
            body=_as_bytes(req.get("body")),
        )
        body_field = resp.get("body")
        raw = _as_bytes(body_field.get("string") if isinstance(body_field, dict) else body_field)
        resp_headers = _vcr_headers(resp.get("headers"))
        encoding = _encoding(resp_headers)
        decoded = _decompress(raw, encoding) if encoding in ("gzip", "x-gzip", "deflate") else None
        status = resp.get("status")
        code = status.get("code") if isinstance(status, dict) else status
        response = Response(
            status=int(code) if isinstance(code, int) else 200,
            headers=resp_headers,
            chunks=[Chunk(t=0.0, data=decoded if decoded is not None else raw)] if raw else [],
        )
    except (ValueError, TypeError) as exc:
        raise CassetteFormatError(f"{path}: interactions[{i}]: {exc}") from None
    return request, response, encoding, decoded is not None


def _scrub_vcrpy(path: Path, data: dict[str, Any], scrubber: Scrubber, check_only: bool) -> FileResult:
    items = _vcr_shape(path, data)
    # The loader's checks (timing, limits, decompression bombs) before this module decodes
    # anything itself: a file scrub accepts is one every other command can read.
    parse_cassette(data, str(path))
    models = [_vcr_to_models(path, item, i) for i, item in enumerate(items)]
    as_interactions = [Interaction(request=r, response=s) for r, s, _, _ in models]
    before = scrubber.findings(as_interactions)
    if check_only or not before:
        return FileResult(path, "vcrpy", findings=before)
    for item, (request, response, encoding, compressed) in zip(items, models, strict=True):
        clean_req = scrubber.scrub_request(request)
        clean_resp = scrubber.scrub_response(response)
        req = item["request"]
        if clean_req is not request:
            req["uri"] = clean_req.url
            req["headers"] = _vcr_headers_back(req.get("headers") or {}, clean_req.headers)
            if clean_req.body != request.body:
                req["body"] = _like(req.get("body"), clean_req.body)
        if clean_resp is not response:
            resp = item["response"]
            resp["headers"] = _vcr_headers_back(resp.get("headers") or {}, clean_resp.headers)
            if clean_resp.body != response.body:
                body = clean_resp.body
                if compressed:
                    body = _compress(body, encoding)
                    _set_length(resp["headers"], len(body))
                body_field = resp.get("body")
                if isinstance(body_field, dict):
                    body_field["string"] = _like(body_field.get("string"), body)
                else:
                    resp["body"] = _like(body_field, body)
    text = _vcr_serializer("json" if path.suffix.lower() == ".json" else "yaml").serialize(data)
    write_atomic(path, text.encode("utf-8"))
    _, reread = _read(path)
    after_items = _vcr_shape(path, reread)
    after = scrubber.findings(
        [
            Interaction(request=r, response=s)
            for r, s, _, _ in (_vcr_to_models(path, it, i) for i, it in enumerate(after_items))
        ]
    )
    return FileResult(path, "vcrpy", rewritten=True, fixed=_minus(before, after), findings=after)
