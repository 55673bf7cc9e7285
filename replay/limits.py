"""The bounds past which a cassette is refused, in one place (README "Bad input is refused clearly").

A cassette is data a test run trusts: a hand edit, a bad merge or a hostile file must fail with
a clear error naming the file, in bounded time and memory, never exhaust the machine. Each limit
is far beyond anything a real recording reaches.
"""

from __future__ import annotations

__all__ = [
    "MAX_CHUNK_T",
    "MAX_DECODED_BODY",
    "MAX_DECOMPRESSION_RATIO",
    "MAX_FILE_BYTES",
    "MAX_FORMAT_PARAM",
    "MAX_JSON_DEPTH",
    "MAX_NAME_BYTES",
    "MAX_STATUS",
    "MIN_STATUS",
]

MAX_FILE_BYTES = 1 << 30
"""A cassette file larger than 1 GiB is refused before it is read."""

MAX_DECODED_BODY = 256 << 20
"""A body built from a cassette (formatted JSON, decompressed gzip/deflate/br) is at most 256 MiB."""

MAX_DECOMPRESSION_RATIO = 200
"""A compressed body may inflate to at most 200 times its size (text compresses ~10x)."""

MAX_FORMAT_PARAM = 64
"""Formatting parameters of a body (``format: indent=N``) are at most 64."""

MAX_CHUNK_T = 86_400.0
"""A recorded time (head, chunk, end) is at most one day after the request was sent."""

MIN_STATUS, MAX_STATUS = 100, 999
"""An HTTP status has three digits."""

MAX_JSON_DEPTH = 400
"""Data nested deeper than this (YAML, or JSON in a body) is refused: real API payloads nest a few
levels, and every parser and walker downstream stays within Python's recursion limit."""

MAX_NAME_BYTES = 255
"""The longest file name (one path component) the common file systems accept (NAME_MAX)."""
