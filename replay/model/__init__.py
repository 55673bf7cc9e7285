"""The cassette model: values that describe recorded traffic, and the stream framings that cut a
response body into events. Nothing here does I/O or imports a layer above it."""

from __future__ import annotations

__all__: list[str] = []
