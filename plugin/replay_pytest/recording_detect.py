"""Whether llm-replay should serve pytest-recording's interface, decided without importing vcrpy.

pytest-recording 0.15 calls ``pytest.register_assert_rewrite("vcr.matchers")`` when it is
imported; entry points load in install order, so a plugin that imports vcrpy first makes that call
warn, and a session run with ``filterwarnings = error`` dies before collecting anything. This
module is what :mod:`replay_pytest.plugin` consults at start-up; vcrpy (through
:mod:`replay_pytest.recording_compat`) is only imported once the drop-in is really needed.
"""

from __future__ import annotations

import importlib.util

import pytest

__all__ = ["PLUGIN_NAME", "is_needed"]

PLUGIN_NAME = "recording"  # pytest-recording's entry-point name


def is_needed(pluginmanager: pytest.PytestPluginManager) -> bool:
    """True when pytest-recording is not installed, or installed but disabled with ``-p no:recording``."""
    if pluginmanager.has_plugin(PLUGIN_NAME) or pluginmanager.has_plugin("vcr"):
        return False  # pytest-recording (or pytest-vcr) is already serving the vcr marker
    if pluginmanager.is_blocked(PLUGIN_NAME):
        return True
    return importlib.util.find_spec("pytest_recording") is None
