"""What kind of request body a scrubber or matcher is looking at, told from the bytes as well as
the content type, and where the secret fields of a multipart body lie.

Both sides of matching must be scrubbed alike: the live request as it leaves the client and the
recording as it was written (perhaps by another tool, with other headers). Telling a form body
by its bytes, not only by its ``content-type``, keeps the two symmetric when one side lost or
changed its header.

Example usage::

    looks_like_form(b"grant_type=refresh_token&apikey=abc")     # True
    multipart_fields(body)   # [(name, start, end), ...] value spans, byte offsets
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl

__all__ = ["form_pairs", "looks_like_form", "multipart_fields"]

# name=value pairs joined by '&', names and values URL-encoded (no raw spaces, '=' or '&').
_FORM = re.compile(rb"[A-Za-z0-9._~%+*\[\]-]+=[^&=\s]*(?:&[A-Za-z0-9._~%+*\[\]-]+=[^&=\s]*)*")
_BOUNDARY = re.compile(rb"--([!-~]{1,70})\r?\n")
_NAME = re.compile(rb'content-disposition:[^\r\n]*;\s*name="([^"]*)"', re.IGNORECASE)


def looks_like_form(body: bytes) -> bool:
    """Whether ``body`` is ``application/x-www-form-urlencoded`` text (ASCII pairs)."""
    return bool(body) and body.isascii() and _FORM.fullmatch(body) is not None


def form_pairs(body: bytes) -> tuple[tuple[str, str], ...]:
    """The decoded ``(name, value)`` pairs of a form body, in order: how matching compares
    form bodies, so ``urn%3Aibm`` and ``urn:ibm`` are the same value."""
    return tuple(parse_qsl(body.decode("ascii"), keep_blank_values=True))


def multipart_fields(body: bytes) -> list[tuple[str, int, int]]:
    """``(field name, value start, value end)`` of each part of a ``multipart/form-data`` body,
    found from its own boundary line (so a missing content type does not matter)."""
    m = _BOUNDARY.match(body)
    if m is None:
        return []
    delimiter = b"--" + m.group(1)
    out: list[tuple[str, int, int]] = []
    pos = 0
    while True:
        start = body.find(delimiter, pos)
        if start == -1:
            break
        head_start = start + len(delimiter)
        if body.startswith(b"--", head_start):
            break  # the closing delimiter
        head_end = body.find(b"\r\n\r\n", head_start)
        sep = 4
        if head_end == -1:
            head_end, sep = body.find(b"\n\n", head_start), 2
        if head_end == -1:
            break
        value_start = head_end + sep
        nxt = body.find(delimiter, value_start)
        if nxt == -1:
            break
        value_end = nxt - 2 if body[nxt - 2 : nxt] == b"\r\n" else nxt - (body[nxt - 1 : nxt] == b"\n")
        name = _NAME.search(body, head_start, head_end)
        if name is not None:
            out.append((name.group(1).decode("latin-1"), value_start, value_end))
        pos = nxt
    return out
