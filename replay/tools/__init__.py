"""Diff, summary, timeline and plot (used by the CLI)."""

from __future__ import annotations

__all__: list[str] = []
