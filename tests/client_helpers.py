"""Helpers for the client-adapter tests: what a cassette recorded, and when chunks arrived on the
virtual clock."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from replay.io.storage import load_cassette

__all__ = ["Arrivals", "recorded_chunks", "recorded_times"]


def recorded_chunks(path: Path, index: int = 0) -> list[bytes]:
    """The body chunks of interaction ``index`` as the cassette file holds them."""
    return [c.data for c in load_cassette(path).interactions[index].response.chunks]


def recorded_times(path: Path, index: int = 0) -> list[float]:
    return [c.t for c in load_cassette(path).interactions[index].response.chunks]


class Arrivals:
    """Notes the virtual clock's reading (relative to :meth:`start`) at each chunk the test reads."""

    def __init__(self, cassette: Any) -> None:
        self._now: Callable[[], float] = cassette.timing.clock.now
        self._t0 = 0.0
        self.times: list[float] = []
        self.chunks: list[bytes] = []

    def start(self) -> None:
        self._t0 = self._now()

    def note(self, chunk: bytes) -> None:
        self.chunks.append(chunk)
        self.times.append(self._now() - self._t0)
