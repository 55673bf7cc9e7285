"""Default bounds on what a client may send the server."""

from __future__ import annotations

__all__ = ["DEFAULT_MAX_BODY", "DEFAULT_MAX_FIELD"]

DEFAULT_MAX_BODY = 64 * 1024 * 1024  # bytes; LLM requests with images run to tens of MB
DEFAULT_MAX_FIELD = 16 * 1024  # bytes per header line (and request line)
