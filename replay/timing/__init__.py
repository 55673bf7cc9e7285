"""The virtual timeline (clock, scheduler), real and instant timing, the time freezer."""

from __future__ import annotations

__all__: list[str] = []
