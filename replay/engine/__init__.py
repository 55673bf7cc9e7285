"""use_cassette, the active session, matching."""

from __future__ import annotations

__all__: list[str] = []
