"""The virtual timeline (clock, scheduler, event loops), real and instant timing.

- :mod:`.timeline`: one clock for the process and the autojump rule;
- :mod:`.fakes`: the ``time`` functions the application calls, and which call sites keep real time;
- :mod:`.loop`: asyncio event loops on the timeline (sleep, wait_for, timeouts, call_later);
- :mod:`.bindings`: where modules hold the real functions (imports, defaults, closures);
- :mod:`.virtual`: the virtual timing policy that ties them to a cassette;
- :mod:`.real`: the real clock, for code that wants wall time;
- :mod:`.continuous`: real time plus replayed time, for pytest's durations.
"""

from __future__ import annotations

from .continuous import continuous_perf_counter, continuous_time
from .real import REAL, real_monotonic, real_perf_counter, real_time

__all__ = [
    "REAL",
    "continuous_perf_counter",
    "continuous_time",
    "real_monotonic",
    "real_perf_counter",
    "real_time",
]
