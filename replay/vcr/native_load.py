"""vcrpy cassettes read for the drop-in's native engine, and the vcrpy settings it honours.

:mod:`replay.vcr.playback` answers requests from vcrpy cassettes with vcrpy's matching rules but
without vcrpy (no import, no patchers, no ``Cassette``). This module gives it the two things it
needs: the interactions of a file, parsed and validated once per session (files are immutable
while a suite runs; a changed file has a new mtime or size), each with the request parts vcrpy's
matchers compare; and :func:`native_rules`, which says whether a test's vcrpy settings are ones
the native engine reproduces exactly. Settings it cannot reproduce (custom matchers, request or
response hooks, ``body``/``headers`` matching, recording) return None: vcrpy itself serves them.

Example usage::

    rules = native_rules({"match_on": ["method", "uri"], "allow_playback_repeats": True})
    entries = load_entries(Path("cassettes/test_chat.yaml"), decode=False)
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlparse

import yaml

from ..errors import CassetteFormatError
from ..io.file_cache import ParsedFiles, file_version
from ..io.storage import load_cassette
from ..model.cassette import Interaction
from ..model.yamlio import YamlAliasError, gc_paused, load_data
from .format import (
    DEFAULT_SYNTHETIC_TIMING,
    SyntheticTiming,
    interaction_from_vcr,
    is_vcr_data,
    replayed_vcr_response,
)
from .pydantic_ai import from_pydantic_ai_data, is_pydantic_ai_data

__all__ = ["Entry", "VcrRules", "load_entries", "native_rules", "read_data"]

# vcrpy's matchers the native engine computes itself; "body" and "headers" need vcrpy's own
# transformers and header dictionary, so a suite matching on them is served by vcrpy.
NATIVE_MATCHERS = frozenset({"method", "uri", "scheme", "host", "port", "path", "query", "raw_body"})
VCR_DEFAULT_MATCH_ON = ("method", "scheme", "host", "port", "path", "query")
# vcrpy settings that either change nothing in replay or are reproduced here. Anything else
# (before_record_request/response, custom_patches, persister, after_load_interaction,
# skip_patchers, ...) sends the test to vcrpy.
_NATIVE_KEYS = frozenset(
    {
        "match_on",
        "allow_playback_repeats",
        "decode_compressed_response",
        "ignore_hosts",
        "ignore_localhost",
        "filter_headers",  # only compared by the "headers" matcher, which is not native
        "filter_query_parameters",
        "filter_post_data_parameters",
        "filter_nested_post_data_parameters",
        "serializer",
        "record_on_exception",  # saving only: replay saves nothing
        "drop_unused_requests",  # only when false: vcrpy rewrites the file without the unplayed
    }
)
_LOCALHOST = ("localhost", "0.0.0.0", "127.0.0.1", "::1")  # vcrpy's ignore_localhost list
_DEFAULT_PORTS = {"https": 443, "http": 80}


@dataclass(frozen=True, slots=True)
class Entry:
    """One recorded interaction and the request parts vcrpy's matchers compare."""

    interaction: Interaction
    parts: dict[str, Any]


def request_parts(method: str, uri: str, body: bytes) -> dict[str, Any]:
    """What vcrpy's ``vcr.request.Request`` exposes to its matchers, computed once."""
    parsed = urlparse(uri)
    port = parsed.port
    if port is None:
        port = _DEFAULT_PORTS.get(parsed.scheme)
    normalized = uri
    if not parsed.path:
        # vcrpy's uri matcher: a bare-host URL equals the same URL with "/".
        authority = f"{parsed.scheme}://{parsed.netloc}"
        if uri.startswith(authority):
            normalized = authority + "/" + uri[len(authority) :]
    return {
        "method": method,
        "uri": normalized,
        "scheme": parsed.scheme,
        "host": parsed.hostname,
        "port": port,
        "path": parsed.path or "/",
        "query": tuple(sorted(parse_qsl(parsed.query))),
        "raw_body": body,
    }


@dataclass(frozen=True, slots=True)
class VcrRules:
    """The vcrpy settings a native replay honours: matchers, repeats, decoding, ignored hosts."""

    match_on: tuple[str, ...] = VCR_DEFAULT_MATCH_ON
    allow_playback_repeats: bool = False
    decode: bool = False
    query_replacements: tuple[tuple[str, str | None], ...] = ()
    ignore_names: frozenset[str] = frozenset()
    ignore_patterns: tuple[re.Pattern[str], ...] = ()

    def ignores(self, host: str | None) -> bool:
        """vcrpy's ignore_hosts/ignore_localhost: such requests go to the network untouched."""
        if host is None:
            return False
        return host in self.ignore_names or any(p.fullmatch(host) for p in self.ignore_patterns)

    def key(self, parts: Mapping[str, Any]) -> tuple[Any, ...]:
        """The values the request is matched on, after vcrpy's query-parameter filter."""
        if not self.query_replacements:
            return tuple(parts[name] for name in self.match_on)
        return tuple(self._filtered_query(parts) if n == "query" else parts[n] for n in self.match_on)

    def _filtered_query(self, parts: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
        replacements = dict(self.query_replacements)
        kept = []
        for name, value in parts["query"]:
            if name not in replacements:
                kept.append((name, value))
            elif (replacement := replacements[name]) is not None:
                kept.append((name, replacement))
        return tuple(sorted(kept))


def _pairs(value: Any) -> list[tuple[str, Any]] | None:
    """vcrpy's filter list (names, or (name, replacement) pairs); None if not plain data."""
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        return None
    out: list[tuple[str, Any]] = []
    for item in value:
        if isinstance(item, str):
            out.append((item, None))
        elif isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], str):
            out.append(item)
        else:
            return None
    return out


def native_rules(config: Mapping[str, Any]) -> VcrRules | None:
    """The :class:`VcrRules` for vcrpy settings ``config`` (a ``use_cassette`` keyword mapping,
    record mode removed), or None when only vcrpy can honour them exactly."""
    if not set(config) <= _NATIVE_KEYS or config.get("serializer", "yaml") not in ("yaml", "json"):
        return None
    match_on = config.get("match_on", VCR_DEFAULT_MATCH_ON)
    if isinstance(match_on, str) or not isinstance(match_on, Iterable):
        return None
    match_on = tuple(match_on)
    if not match_on or not all(isinstance(m, str) and m in NATIVE_MATCHERS for m in match_on):
        return None
    queries = _pairs(config.get("filter_query_parameters") or ())
    if queries is None or any(r is not None and not isinstance(r, str) for _, r in queries):
        return None  # a callable replacement sees vcrpy's Request
    if queries and "uri" in match_on:
        return None  # vcrpy rebuilds the URI from the filtered query: its exact text is vcrpy's
    if config.get("filter_post_data_parameters") and "raw_body" in match_on:
        return None
    if config.get("drop_unused_requests"):
        return None  # vcrpy saves the cassette without its unplayed interactions, even in "none"
    hosts = config.get("ignore_hosts") or ()
    if isinstance(hosts, str) or not all(isinstance(h, (str, re.Pattern)) for h in hosts):
        return None
    names = {h for h in hosts if isinstance(h, str)}
    if config.get("ignore_localhost"):
        names.update(_LOCALHOST)
    return VcrRules(
        match_on=match_on,
        allow_playback_repeats=bool(config.get("allow_playback_repeats", False)),
        decode=bool(config.get("decode_compressed_response", False)),
        query_replacements=tuple(queries),
        ignore_names=frozenset(names),
        ignore_patterns=tuple(h for h in hosts if isinstance(h, re.Pattern)),
    )


# -- files -------------------------------------------------------------------------------------

# Entries are never changed after loading: every test shares them.
_FILES: ParsedFiles[list[Entry]] = ParsedFiles()


def load_entries(
    path: Path, *, decode: bool, synthetic_timing: SyntheticTiming = DEFAULT_SYNTHETIC_TIMING
) -> list[Entry] | None:
    """The interactions of a vcrpy or native cassette; None when there is no such cassette (no
    file, or an empty one: vcrpy records those). ``decode`` is vcrpy's
    ``decode_compressed_response``. Raises :class:`CassetteFormatError` naming the file and the
    interaction for a file that is not a valid cassette."""
    version = file_version(path)
    if version is None:
        return None
    entries, _ = _FILES.load(
        (version, decode, synthetic_timing), lambda: _parse(path, decode, synthetic_timing)
    )
    return entries


def read_data(path: Path) -> Any:
    """A cassette file's parsed YAML/JSON; None for a missing or empty file (vcrpy records
    those). Raises :class:`CassetteFormatError` naming the file for unreadable or unsafe YAML."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise CassetteFormatError(f"{path}: cannot be read as YAML text ({exc}).") from None
    if not text.strip():
        return None
    try:
        return load_data(text)
    except YamlAliasError as exc:
        raise CassetteFormatError(f"{path}: {exc}; refusing to load it.") from None
    except yaml.YAMLError as exc:
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise CassetteFormatError(
            f"{path}: invalid YAML ({problem}). A cassette is data: Python tags are refused."
        ) from None


def _parse(path: Path, decode: bool, synthetic: SyntheticTiming) -> list[Entry] | None:
    data = read_data(path)
    if data is None:
        return None
    if not is_vcr_data(data):
        # A native file (or garbage, which load_cassette words properly).
        interactions = load_cassette(path, synthetic_timing=synthetic).interactions
        return [_entry(i) for i in interactions]
    if is_pydantic_ai_data(data):
        data = from_pydantic_ai_data(data)
    with gc_paused():  # a tree of new objects without cycles: nothing for the collector
        return _entries(path, data["interactions"], decode, synthetic)


def _entries(path: Path, interactions: list[Any], decode: bool, synthetic: SyntheticTiming) -> list[Entry]:
    entries = []
    for index, raw in enumerate(interactions):
        if isinstance(raw, dict) and "response" in raw:
            raw = {**raw, "response": replayed_vcr_response(raw["response"], decode=decode)}
        try:
            interaction = interaction_from_vcr(
                raw, synthetic_timing=synthetic, keep_secrets=True, decode=False
            )
        except (ValueError, TypeError) as exc:
            raise CassetteFormatError(
                f"{path}: vcrpy interaction #{index} is invalid: {exc}. Fix it, or re-record the cassette."
            ) from None
        entries.append(_entry(interaction))
    return entries


def _entry(interaction: Interaction) -> Entry:
    request = interaction.request
    return Entry(interaction, request_parts(request.method, request.url, request.body))
