"""Where a virtual timeline starts: the real clock readings of one moment."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from .real import REAL

__all__ = ["Origin"]


@dataclass(frozen=True, slots=True)
class Origin:
    """The real clock readings of the moment a timeline starts."""

    monotonic: float
    monotonic_ns: int
    perf_counter: float
    perf_counter_ns: int
    time: float
    time_ns: int
    utc: datetime  # naive UTC datetime of ``time``, to the microsecond
    utc_offset: timedelta  # local time - UTC at that moment (what ``datetime.now()`` adds)

    @classmethod
    def now(cls) -> Origin:
        wall = REAL.time()
        utc = datetime.fromtimestamp(wall, tz=timezone.utc)
        local = datetime.fromtimestamp(wall)
        return cls(
            monotonic=REAL.monotonic(),
            monotonic_ns=REAL.monotonic_ns(),
            perf_counter=REAL.perf_counter(),
            perf_counter_ns=REAL.perf_counter_ns(),
            time=wall,
            time_ns=REAL.time_ns(),
            utc=utc.replace(tzinfo=None),
            utc_offset=local - utc.replace(tzinfo=None),
        )
