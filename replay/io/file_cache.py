"""Parsed cassette files kept for the session, keyed on the file's version.

A pytest session may open one cassette in many tests (parametrized tests, shared cassettes), and
parsing plus validating is most of what opening costs. Most cassettes are opened by one test
only, so a file version is kept from its second load: the first pays no memory. A file that
changes on disk has a new version (mtime, size) and is parsed again.

Example usage::

    _FILES: ParsedFiles[list[Entry]] = ParsedFiles()
    version = file_version(path)
    entries, shared = _FILES.load((version, decode), lambda: parse(path))
"""

from __future__ import annotations

import os
from collections.abc import Callable, Hashable
from pathlib import Path
from typing import Generic, TypeVar

from ..errors import CassetteFormatError

__all__ = ["ParsedFiles", "file_version"]

V = TypeVar("V")


def file_version(path: Path) -> tuple[str, int, int] | None:
    """(absolute path, mtime, size), or None when there is no such file."""
    try:
        stat = path.stat()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise CassetteFormatError(f"{path}: cannot be read ({exc}).") from None
    # abspath, not resolve(): no system calls; a file reached by two routes is at worst parsed twice.
    return (os.path.abspath(path), stat.st_mtime_ns, stat.st_size)


class ParsedFiles(Generic[V]):
    """What was parsed from each file version, kept from its second load (at most ``size``)."""

    def __init__(self, size: int = 1024) -> None:
        self._size = size
        self._kept: dict[Hashable, V] = {}
        self._seen: set[Hashable] = set()

    def load(self, key: Hashable, parse: Callable[[], V | None]) -> tuple[V | None, bool]:
        """The value for ``key`` (``parse()`` unless kept) and whether the cache holds it too
        (then the caller must not change it)."""
        kept = self._kept.get(key)
        if kept is not None:
            return kept, True
        value = parse()
        if value is None:
            return None, False
        if key not in self._seen:
            if len(self._seen) >= self._size:
                self._seen.clear()
            self._seen.add(key)
            return value, False
        if len(self._kept) >= self._size:
            self._kept.clear()
        self._kept[key] = value
        return value, True

    def clear(self) -> None:
        self._kept.clear()
        self._seen.clear()
