"""The support API of llm-replay's pytest plugin (``replay_pytest``), public and documented.

The plugin reaches below ``replay``'s top-level API for its own machinery only: usage
bookkeeping and listeners (``--replay-usage-log``, strict usage), the unused-cassette report,
cassette expiry options, the continuous clocks pytest's own durations read,
fault variants, and the pytest-recording drop-in (its native engine, the vcrpy bridge, their
timing). These names are
the whole of that contract; another pytest plugin may use them too. Each loads on first use
(PEP 562), so a pytest session pays nothing for a name no test needs.

Example usage::

    from replay import pytest_support

    pytest_support.add_listener(my_listener)   # told when cassettes open and close
    age = pytest_support.parse_max_age("30d")
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .lazy import lazy_attributes

if TYPE_CHECKING:
    from .faults.variants import Variant, collect
    from .hygiene.expiry import Expiry, parse_max_age
    from .hygiene.listeners import add_listener, remove_listener
    from .hygiene.silence import report_silence
    from .hygiene.usage import (
        CassetteUse,
        UnusedInteractionsError,
        UsageLog,
        cassette_key,
        describe_interaction,
        unused_message,
        use_from_active,
    )
    from .timing.continuous import continuous_perf_counter, continuous_time
    from .timing.policy import make_timing
    from .vcr.bridge import SafePersister, vcr_cassette
    from .vcr.format import DEFAULT_SYNTHETIC_TIMING, SyntheticTiming
    from .vcr.native_load import load_entries, native_rules
    from .vcr.playback import BridgeOptions, VcrPlayback, load_vcrpy, vcr_playback

__all__ = [
    "DEFAULT_SYNTHETIC_TIMING",
    "BridgeOptions",
    "CassetteUse",
    "Expiry",
    "SafePersister",
    "SyntheticTiming",
    "UnusedInteractionsError",
    "UsageLog",
    "Variant",
    "VcrPlayback",
    "add_listener",
    "cassette_key",
    "collect",
    "continuous_perf_counter",
    "continuous_time",
    "describe_interaction",
    "load_entries",
    "load_vcrpy",
    "make_timing",
    "native_rules",
    "parse_max_age",
    "remove_listener",
    "report_silence",
    "unused_message",
    "use_from_active",
    "vcr_cassette",
    "vcr_playback",
]

_HOMES = {
    "Variant": "faults.variants",
    "collect": "faults.variants",
    "Expiry": "hygiene.expiry",
    "parse_max_age": "hygiene.expiry",
    "add_listener": "hygiene.listeners",
    "remove_listener": "hygiene.listeners",
    "CassetteUse": "hygiene.usage",
    "UnusedInteractionsError": "hygiene.usage",
    "UsageLog": "hygiene.usage",
    "cassette_key": "hygiene.usage",
    "describe_interaction": "hygiene.usage",
    "unused_message": "hygiene.usage",
    "use_from_active": "hygiene.usage",
    "make_timing": "timing.policy",
    "continuous_perf_counter": "timing.continuous",
    "continuous_time": "timing.continuous",
    "report_silence": "hygiene.silence",
    "SafePersister": "vcr.bridge",
    "vcr_cassette": "vcr.bridge",
    "load_entries": "vcr.native_load",
    "native_rules": "vcr.native_load",
    "BridgeOptions": "vcr.playback",
    "VcrPlayback": "vcr.playback",
    "vcr_playback": "vcr.playback",
    "load_vcrpy": "vcr.playback",
    "DEFAULT_SYNTHETIC_TIMING": "vcr.format",
    "SyntheticTiming": "vcr.format",
}


__getattr__ = lazy_attributes(__name__, _HOMES, globals(), base="replay")
