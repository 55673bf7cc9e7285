"""The cassette model: schema, headers, bodies, stream framings. Imports nothing above it."""

from __future__ import annotations

__all__: list[str] = []
