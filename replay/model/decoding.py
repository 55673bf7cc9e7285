"""Content-Encoding at record time: cassettes store bodies decoded, so they stay readable.

The application received the encoded bytes and its client decoded them; what it observed was
the decoded bytes, piece by piece. We decode each recorded chunk the same way (incrementally,
so chunk boundaries and times are kept), drop ``content-encoding`` and fix ``content-length``.
An encoding we cannot decode, or a body that fails to decode, is stored as received, headers
untouched, and replayed as is.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from typing import Any

from ..limits import MAX_DECODED_BODY, MAX_DECOMPRESSION_RATIO
from .cassette import Headers

__all__ = ["DecompressionLimitError", "decode_recorded"]


class DecompressionLimitError(ValueError):
    """A compressed body inflates past :data:`~replay.limits.MAX_DECOMPRESSION_RATIO` or
    :data:`~replay.limits.MAX_DECODED_BODY` (a decompression bomb)."""


def _limit(compressed: int) -> int:
    return min(MAX_DECODED_BODY, max(1 << 20, compressed * MAX_DECOMPRESSION_RATIO))


class _Zlib:
    def __init__(self, wbits: int) -> None:
        self._d = zlib.decompressobj(wbits)

    def feed(self, data: bytes, room: int) -> bytes:
        # At most room + 1 bytes: one more than allowed proves the bomb without inflating it.
        return self._d.decompress(data, room + 1)

    def flush(self) -> bytes:
        out = self._d.flush()
        if not self._d.eof:
            raise zlib.error("incomplete compressed body")
        return out


class _Brotli:
    def __init__(self) -> None:
        import brotli  # type: ignore[import-not-found]

        self._d = brotli.Decompressor()

    def feed(self, data: bytes, room: int) -> bytes:
        out: bytes = self._d.process(data)
        return out

    def flush(self) -> bytes:
        return b""


class _Zstd:
    def __init__(self) -> None:
        import zstandard  # type: ignore[import-not-found]

        self._d = zstandard.ZstdDecompressor().decompressobj()

    def feed(self, data: bytes, room: int) -> bytes:
        out: bytes = self._d.decompress(data)
        return out

    def flush(self) -> bytes:
        return b""


_DECODERS: dict[str, Callable[[], Any]] = {
    "gzip": lambda: _Zlib(zlib.MAX_WBITS | 16),
    "x-gzip": lambda: _Zlib(zlib.MAX_WBITS | 16),
    "deflate": lambda: _Zlib(zlib.MAX_WBITS),
    "br": _Brotli,
    "zstd": _Zstd,
}


def decode_recorded(
    raw: list[tuple[float, bytes]], headers: Headers
) -> tuple[list[tuple[float, bytes]], Headers, str | None]:
    """Decode recorded chunks per the response's Content-Encoding, if we can."""
    encodings = [
        e.strip().lower()
        for name, value in headers
        if name.lower() == "content-encoding"
        for e in value.split(",")
        if e.strip() and e.strip().lower() != "identity"
    ]
    if not encodings:
        return raw, headers, None
    try:
        decoded = raw
        for encoding in reversed(encodings):  # the last-applied encoding is undone first
            decoded = _decode(decoded, encoding)
    except DecompressionLimitError:
        raise
    except Exception:
        return raw, headers, None
    size = sum(len(d) for _, d in decoded)
    new_headers: Headers = []
    for name, value in headers:
        lname = name.lower()
        if lname == "content-encoding":
            continue
        if lname == "content-length":
            value = str(size)
        new_headers.append((name, value))
    return decoded, new_headers, ",".join(encodings)


def _decode(chunks: list[tuple[float, bytes]], encoding: str) -> list[tuple[float, bytes]]:
    factory = _DECODERS.get(encoding)
    if factory is None:
        raise ValueError(f"unsupported content-encoding {encoding!r}")
    decoder = factory()
    out: list[tuple[float, bytes]] = []
    last_t = 0.0
    limit = _limit(sum(len(d) for _, d in chunks))
    total = 0
    for t, data in chunks:
        pieces: list[bytes] = []
        # Small slices bound what one call can inflate for decoders without an output limit.
        for start in range(0, len(data), 4096):
            piece = decoder.feed(data[start : start + 4096], limit - total)
            total += len(piece)
            if total > limit:
                raise DecompressionLimitError(
                    f"the {encoding} body ({sum(len(d) for _, d in chunks)} bytes) inflates past "
                    f"{limit} bytes (limits: {MAX_DECOMPRESSION_RATIO}x, {MAX_DECODED_BODY} bytes); "
                    "a real response never does: delete the interaction or re-record it"
                )
            pieces.append(piece)
        if any(pieces):
            out.append((t, b"".join(pieces)))
        last_t = t
    tail = decoder.flush()
    if tail:
        out.append((last_t, tail))
    return out
