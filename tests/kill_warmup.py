"""Preloaded by the forkserver that starts :mod:`kill_harness` recorders.

Opening a cassette for the first time in a process installs the library's patches (half a
second); doing it once here, in the forkserver, lets every recorder forked from it start
with that done, so the kill tests spend their time killing.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import replay

__all__: list[str] = []

with (
    tempfile.TemporaryDirectory() as _folder,
    replay.use_cassette(Path(_folder) / "warm-up.yaml", record_mode="new_episodes", timing="instant"),
):
    pass
