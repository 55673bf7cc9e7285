"""The virtual timeline (clock, scheduler, event loops), real and instant timing.

- :mod:`.clock`: the policies by name (``make_timing``) and the names other layers import;
- :mod:`.base`: the Schedule and TimingPolicy protocols, instant and real timing;
- :mod:`.timeline`: one virtual clock for the process and the autojump rule;
- :mod:`.fakes`: the ``time`` functions the application calls, and which call sites keep real time;
- :mod:`.loop`: asyncio event loops on the timeline (sleep, wait_for, timeouts, call_later);
- :mod:`.threads`: threads the application starts, and threads parked on each other;
- :mod:`.bindings`: where modules hold the real functions (imports, defaults, closures);
- :mod:`._freeze`: freezegun's datetime fakes, started in microseconds;
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
