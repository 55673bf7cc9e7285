"""Cassette files: YAML in/out, loading and saving, atomic and locked persistence."""

from __future__ import annotations

__all__: list[str] = []
