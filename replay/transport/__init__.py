"""Patching the HTTP clients, the Interceptor protocol, adapters, timed byte streams, the network guard."""

from __future__ import annotations

__all__: list[str] = []
