"""Who is told when a cassette opens and closes: the pytest plugin's usage log and strict checks.

Kept apart from :mod:`replay.hygiene.usage` (pydantic models of the usage log) so a pytest
session registers its listener without importing the cassette model.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from ..engine.player import ActiveCassette

__all__ = ["CassetteListener", "add_listener", "notify_close", "notify_open", "remove_listener"]


class CassetteListener(Protocol):
    """Told about every cassette that opens and closes (in any thread)."""

    def cassette_opened(self, active: ActiveCassette) -> None: ...

    def cassette_closed(self, active: ActiveCassette, failed: bool) -> None: ...


_listeners: list[CassetteListener] = []
_listeners_lock = threading.Lock()


def add_listener(listener: CassetteListener) -> None:
    with _listeners_lock:
        _listeners.append(listener)


def remove_listener(listener: CassetteListener) -> None:
    with _listeners_lock:
        if listener in _listeners:
            _listeners.remove(listener)


def notify_open(active: ActiveCassette) -> None:
    with _listeners_lock:
        listeners = list(_listeners)
    for listener in listeners:
        listener.cassette_opened(active)


def notify_close(active: ActiveCassette, failed: bool) -> None:
    with _listeners_lock:
        listeners = list(_listeners)
    for listener in listeners:
        listener.cassette_closed(active, failed)
