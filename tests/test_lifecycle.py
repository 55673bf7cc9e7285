"""A cassette that fails to open, or whose opening is refused, leaves nothing behind: no
virtual clock, no patched ``Thread.start``, no interceptor. A leftover timeline makes every later
thread in the process join it (test servers then hang), so each failure path is checked."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from cassette_factory import chat_stream, write_cassette

import replay
from replay.engine import player
from replay.hygiene import listeners
from replay.timing.clock import VirtualClock
from replay.transport import patch


class RefusingListener:
    def cassette_opened(self, active: replay.ActiveCassette) -> None:
        raise RuntimeError("refused by a listener")

    def cassette_closed(self, active: replay.ActiveCassette, failed: bool) -> None:
        raise AssertionError("a cassette that never opened is never closed")


def _nothing_left(start: object, monotonic: object) -> None:
    assert VirtualClock._current is None
    assert threading.Thread.start is start
    assert time.monotonic is monotonic
    assert not patch._stack


# The reopened cassette is left unused on purpose: only its opening matters here.
@pytest.mark.filterwarnings("ignore::replay.hygiene.silence.CassetteUnusedWarning")
def test_a_listener_refusing_the_open_undoes_it(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    write_cassette(path, chat_stream("a"))
    start, monotonic = threading.Thread.start, time.monotonic
    refusing = RefusingListener()
    listeners.add_listener(refusing)
    try:
        with pytest.raises(RuntimeError, match="refused by a listener"):
            replay.use_cassette(path, timing="virtual").open()
    finally:
        listeners.remove_listener(refusing)
    _nothing_left(start, monotonic)
    # The same cassette opens normally afterwards: nothing half-open stands in its way.
    with replay.use_cassette(path, timing="virtual") as active:
        assert threading.Thread.start is not start
        assert active.cassette.interactions
    _nothing_left(start, monotonic)


def test_a_failure_to_block_the_network_stops_the_clock_it_started(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "c.yaml"
    write_cassette(path, chat_stream("a"))
    start, monotonic = threading.Thread.start, time.monotonic

    def refuse(policy: object, where: str) -> None:
        raise OSError("socket patching refused")

    monkeypatch.setattr(player.netguard, "block", refuse)
    with pytest.raises(OSError, match="socket patching refused"):
        replay.use_cassette(path, timing="virtual", block_network=True).open()
    _nothing_left(start, monotonic)
