"""Reading and writing vcrpy cassette files for the pytest-recording drop-in: the safe YAML
loader (no Python tags, no aliases), native llm-replay files as well as vcrpy ones, extra
cassettes merged in; writes are atomic and never contain secret headers."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..errors import CassetteFormatError
from ..io.file_cache import ParsedFiles, file_version
from ..io.storage import dump_cassette, load_cassette, write_atomic
from ..model.cassette import Headers
from ..model.headers import COOKIE_HEADERS, CREDENTIAL_HEADERS, PLACEHOLDER
from .export import to_vcr_pairs
from .format import (
    interaction_from_vcr,
    is_vcr_data,
    redact_headers,
)
from .native_load import read_data
from .pydantic_ai import from_pydantic_ai_data, is_pydantic_ai_data

__all__ = ["SafePersister"]

# -- reading and writing files ---------------------------------------------------------------


# vcrpy keeps the loaded objects (old interactions) and hooks may change them, so a load of a
# kept file gets its own deep copy: cheaper than parsing again.
_FILES: ParsedFiles[tuple[list[Any], list[Any]]] = ParsedFiles()


def _read_pairs(path: Path) -> tuple[list[Any], list[Any]] | None:
    """vcrpy's (requests, responses) from a vcrpy or native file; None if it does not exist."""
    version = file_version(path)
    if version is None:
        return None
    pairs, shared = _FILES.load(version, lambda: _parse_pairs(path))
    return copy.deepcopy(pairs) if shared else pairs


def _parse_pairs(path: Path) -> tuple[list[Any], list[Any]] | None:
    from vcr.serialize import deserialize

    data = read_data(path)
    if data is None:
        return None  # vcrpy treats an empty file as a missing cassette, to be recorded
    if not is_vcr_data(data):
        # Native files (or garbage, which load_cassette words properly) become vcrpy's form.
        return to_vcr_pairs(load_cassette(path).interactions)
    if is_pydantic_ai_data(data):
        data = from_pydantic_ai_data(data)

    class _Preloaded:
        @staticmethod
        def deserialize(_: str) -> Any:
            return data

    for i, raw in enumerate(data["interactions"]):
        try:
            interaction_from_vcr(raw, keep_secrets=True, decode=False, frame=False)
        except (ValueError, TypeError) as exc:
            raise CassetteFormatError(
                f"{path}: vcrpy interaction #{i} is invalid: {exc}. Fix it, or re-record the cassette."
            ) from None
    requests, responses, *_ = deserialize("", _Preloaded())
    return list(requests), list(responses)


def _redact_request(request: Any) -> Any:
    import copy

    request = copy.copy(request)
    headers: Headers = [(k, str(v)) for k, v in request.headers.items()]
    request.headers = dict(redact_headers(headers))
    return request


def _redact_response(response: Any) -> Any:
    if not isinstance(response, dict) or not isinstance(response.get("headers"), dict):
        return response
    out = dict(response)
    out["headers"] = {
        name: ([PLACEHOLDER] * len(v) if isinstance(v, list) else PLACEHOLDER)
        if name.lower() in CREDENTIAL_HEADERS
        else v
        for name, v in response["headers"].items()
        if name.lower() not in COOKIE_HEADERS
    }
    return out


class SafePersister:
    """A vcrpy persister: safe loading of vcrpy and native files, extra cassettes, atomic saves.

    ``extra_paths`` are loaded after the main cassette (pytest-recording's extra cassettes) and
    never written. ``ignore_existing`` loads nothing from the main file (``rewrite``: the file is
    replaced when the cassette is saved, not deleted up front).
    """

    def __init__(self, extra_paths: Sequence[str | Path] = (), *, ignore_existing: bool = False) -> None:
        self.extra_paths = [Path(p) for p in extra_paths]
        self.ignore_existing = ignore_existing

    def load_cassette(self, cassette_path: str | Path, serializer: Any) -> tuple[list[Any], list[Any]]:
        from vcr.persisters.filesystem import CassetteNotFoundError

        main = Path(cassette_path)
        requests: list[Any] = []
        responses: list[Any] = []
        found_main = False
        paths = ([] if self.ignore_existing else [main]) + [p for p in self.extra_paths if p != main]
        for path in paths:
            pairs = _read_pairs(path)
            if pairs is None:
                continue
            found_main = found_main or path == main
            requests.extend(pairs[0])
            responses.extend(pairs[1])
        if not requests and not found_main:
            raise CassetteNotFoundError()
        return requests, responses

    def save_cassette(
        self, cassette_path: str | Path, cassette_dict: dict[str, Any], serializer: Any
    ) -> None:
        from vcr.serialize import serialize

        path = Path(cassette_path)
        requests = [_redact_request(r) for r in cassette_dict["requests"]]
        responses = [_redact_response(r) for r in cassette_dict["responses"]]
        if not self.ignore_existing and _is_native_file(path):
            # A cassette converted to the native format stays native.
            from ..model.cassette import Cassette

            raw = [{"request": r._to_dict(), "response": s} for r, s in zip(requests, responses, strict=True)]
            interactions = [interaction_from_vcr(item) for item in raw]
            text = dump_cassette(Cassette(interactions=interactions))
        else:
            text = serialize({**cassette_dict, "requests": requests, "responses": responses}, serializer)
        write_atomic(path, text.encode("utf-8"))


def _is_native_file(path: Path) -> bool:
    try:
        with path.open("r", encoding="utf-8") as f:
            head = f.read(4096)
    except (OSError, UnicodeDecodeError):
        return False
    return "\nformat: llm-replay" in "\n" + head
