"""Which cassette file a request or a session names, kept inside the served directory.

A name comes from a URL (``/c/<name>/...``) or the control API, so it is untrusted input: it
must be a relative path of plain segments ending in a cassette suffix, and the file it resolves
to (symlinks followed) must lie inside the served directory. Anything else is refused with an
error saying what was wrong and what a valid name looks like.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote

__all__ = ["CASSETTE_SUFFIXES", "CassetteName", "CassettePathError", "resolve_cassette", "split_prefixed"]

CASSETTE_SUFFIXES = (".yaml", ".yml", ".json")
_EXAMPLE = "e.g. 'chat.yaml' or 'test_module/test_chat.yaml'"


class CassettePathError(ValueError):
    """A cassette name that is malformed or points outside the served directory."""


class CassetteName(str):
    """A validated cassette name: relative, '/'-separated, ending in a cassette suffix."""


def _check_segment(segment: str, name: str) -> None:
    if segment in ("", ".", ".."):
        what = "an empty segment (absolute path or '//')" if segment == "" else f"a {segment!r} segment"
        raise CassettePathError(
            f"Cassette name {name!r} has {what}; names are relative to the served directory ({_EXAMPLE})."
        )
    if "\x00" in segment or "\\" in segment or "/" in segment:
        raise CassettePathError(
            f"Cassette name {name!r} contains a NUL, a backslash or an encoded '/' in one segment; "
            f"use plain '/'-separated segments ({_EXAMPLE})."
        )


def resolve_cassette(root: Path, name: str | list[str]) -> tuple[CassetteName, Path]:
    """The file a cassette name (or its decoded URL segments) stands for, checked to stay
    inside ``root``.

    Example usage::

        name, path = resolve_cassette(Path("cassettes"), "chat/openai.yaml")
    """
    if isinstance(name, list):
        segments, name = name, "/".join(name)
    elif isinstance(name, str) and name:
        segments = name.split("/")
    else:
        raise CassettePathError(f"A cassette name is required ({_EXAMPLE}).")
    for segment in segments:
        _check_segment(segment, name)
    if not segments[-1].endswith(CASSETTE_SUFFIXES):
        raise CassettePathError(
            f"Cassette name {name!r} does not end in {', '.join(CASSETTE_SUFFIXES)}: the suffix is part of "
            f"the name, so the server can tell where it ends ({_EXAMPLE})."
        )
    base = root.resolve()
    path = base.joinpath(*segments)
    # resolve() follows every symlink on the way: a link pointing out of the directory, or a
    # directory link on the path, lands outside `base` and is refused.
    resolved = path.resolve()
    if not resolved.is_relative_to(base):
        raise CassettePathError(
            f"Cassette name {name!r} leads outside the served directory {base} (through a symlink); "
            "only cassettes inside it can be served."
        )
    return CassetteName("/".join(segments)), resolved


def split_prefixed(raw_path: str) -> tuple[list[str], str]:
    """Split ``<name with suffix>/<rest>`` (raw, percent-encoded) into the cassette name's
    decoded segments (an encoded '/' stays inside its segment, to be refused) and the
    still-encoded rest of the path (``/v1/chat/completions``)."""
    parts = raw_path.split("/")
    for i, part in enumerate(parts):
        if unquote(part).endswith(CASSETTE_SUFFIXES):
            return [unquote(p) for p in parts[: i + 1]], "/" + "/".join(parts[i + 1 :])
    raise CassettePathError(
        f"No cassette name in the path prefix /c/{raw_path}: after /c/ comes the cassette's path inside "
        f"the served directory, suffix included, then the API path "
        f"(e.g. /c/chat.yaml/v1/chat/completions)."
    )
