"""Cassette hygiene: usage log, expiry, change summaries, prune."""

from __future__ import annotations

__all__: list[str] = []
