"""Cassette expiry: how old a recording may get before it warns, fails, or is re-recorded.

A cassette's age is the age of its oldest interaction (``recorded_at``). Interactions without
``recorded_at`` (imported from tools that do not keep it) have no known age and never expire.
Ages are measured on the real clock, so a test that freezes time does not change the verdict.

Example usage::

    with replay.use_cassette("cassettes/chat.yaml", max_age="30d", expiry="record"):
        ...  # a cassette older than 30 days is re-recorded instead of replayed
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import CassetteError, ReplayWarning
from ..modes import RecordMode, record_command

if TYPE_CHECKING:
    from ..model.cassette import Cassette

__all__ = [
    "CassetteExpiredError",
    "CassetteExpiredWarning",
    "Expiry",
    "ExpiryPolicy",
    "cassette_age",
    "format_age",
    "parse_expiry",
    "parse_max_age",
]


class CassetteExpiredError(CassetteError):
    """A cassette is older than its ``max_age`` and ``expiry="fail"`` was chosen."""


class CassetteExpiredWarning(ReplayWarning):
    """A cassette is older than its ``max_age`` (``expiry="warn"``, the default).

    Filter it like any warning, e.g. ``-W error::replay.CassetteExpiredWarning`` to make stale
    cassettes fail, or ``filterwarnings = ["ignore::replay.CassetteExpiredWarning"]``.
    """


class Expiry(str, Enum):
    """What happens to a cassette older than ``max_age``."""

    WARN = "warn"
    FAIL = "fail"
    RECORD = "record"


_UNITS = {"w": 7 * 86400.0, "d": 86400.0, "h": 3600.0, "m": 60.0, "s": 1.0}
_PART = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([wdhms])", re.IGNORECASE)
_SECONDS = re.compile(r"\d+(?:\.\d*)?|\.\d+")


def parse_max_age(value: object) -> timedelta:
    """``"30d"``, ``"12h"``, ``"1d12h"``, ``"90m"``, ``"2w"``, seconds as a number, or a timedelta."""
    if isinstance(value, timedelta):
        seconds = value.total_seconds()
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        seconds = float(value)
    elif isinstance(value, str) and _SECONDS.fullmatch(value.strip()):
        seconds = float(value)  # "60", "1.0": the error below offers "a number of seconds"
    elif isinstance(value, str):
        text = value.strip()
        pos = 0
        seconds = 0.0
        for m in _PART.finditer(text):
            if m.start() != pos:
                break
            seconds += float(m.group(1)) * _UNITS[m.group(2).lower()]
            pos = m.end()
        if not text or pos != len(text):
            raise ValueError(
                f"Invalid max_age {value!r}: give a number with a unit, e.g. '30d', '12h', '1d12h' "
                "(units: w, d, h, m, s), or a number of seconds."
            )
    else:
        raise ValueError(f"max_age must be a duration like '30d' or a number of seconds, got {value!r}")
    if not seconds > 0:
        raise ValueError(f"max_age must be longer than zero, got {value!r}")
    return timedelta(seconds=seconds)


def parse_expiry(value: object) -> Expiry:
    """Validate ``expiry`` given as a string or :class:`Expiry`."""
    if isinstance(value, Expiry):
        return value
    names = [e.value for e in Expiry]
    if isinstance(value, str) and value in names:
        return Expiry(value)
    raise ValueError(f"Unknown expiry {value!r}; expected one of: {', '.join(names)}.")


def format_age(age: timedelta) -> str:
    """A short human form: ``41d 3h``, ``5h 2m``, ``12m``, ``40s``."""
    total = int(age.total_seconds())
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h" if hours else f"{days}d"
    if hours:
        return f"{hours}h {minutes}m" if minutes else f"{hours}h"
    if minutes:
        return f"{minutes}m"
    return f"{seconds}s"


def _real_now() -> datetime:
    # freezegun may be running (ours or the test's): ask the clock it does not patch.
    from ..timing.clock import REAL  # only when an age is checked: the clock is not light

    return datetime.fromtimestamp(REAL.time(), tz=timezone.utc)


def cassette_age(cassette: Cassette, now: datetime | None = None) -> tuple[timedelta, int] | None:
    """(age of the oldest interaction, its index), or None when no interaction has ``recorded_at``."""
    oldest: tuple[datetime, int] | None = None
    for i, interaction in enumerate(cassette.interactions):
        at = interaction.recorded_at
        if at is None:
            continue
        if at.tzinfo is None:
            at = at.replace(tzinfo=timezone.utc)
        if oldest is None or at < oldest[0]:
            oldest = (at, i)
    if oldest is None:
        return None
    return (now or _real_now()) - oldest[0], oldest[1]


@dataclass(frozen=True, slots=True)
class ExpiryPolicy:
    """``max_age`` plus what to do past it."""

    max_age: timedelta
    action: Expiry = Expiry.WARN

    @classmethod
    def make(cls, max_age: object, expiry: object) -> ExpiryPolicy | None:
        """Validate user settings; None when ``max_age`` is not set."""
        action = parse_expiry(expiry)
        if max_age is None:
            return None
        return cls(parse_max_age(max_age), action)

    def expired_message(self, path: Path, cassette: Cassette, now: datetime | None = None) -> str | None:
        """A description of how the cassette is too old, or None when it is fresh enough."""
        found = cassette_age(cassette, now)
        if found is None:
            return None
        age, index = found
        if age <= self.max_age:
            return None
        at = cassette.interactions[index].recorded_at
        stamp = at.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ") if at is not None else "?"
        return (
            f"Cassette {path} is {format_age(age)} old (interaction #{index} recorded {stamp}), "
            f"older than max_age={format_age(self.max_age)}."
        )

    @staticmethod
    def fix_hint(record_hint: str | None) -> str:
        if record_hint:
            how = record_command(record_hint, RecordMode.REWRITE, None)
        else:
            how = "use_cassette(..., record_mode='rewrite')"
        return (
            f"To fix: re-record it ({how}), pass expiry='record' to re-record expired cassettes "
            "automatically, or raise max_age."
        )
