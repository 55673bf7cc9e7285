"""vcrpy cassettes: the format and the pytest-recording bridge."""

from __future__ import annotations

__all__: list[str] = []
