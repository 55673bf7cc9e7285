"""Record modes and timing policies, as validated string enums."""

from __future__ import annotations

from enum import Enum

__all__ = ["RecordMode", "Timing", "parse_record_mode", "parse_timing", "record_command"]


class RecordMode(str, Enum):
    """When requests go to the network and what is written back.

    - ``none``: replay only; a request with no recorded match is an error.
    - ``once``: record everything if the cassette file does not exist yet, else behave as ``none``.
    - ``new_episodes``: replay what matches, record (and append) what does not.
    - ``all``: record every request, never replay; new interactions are appended (vcrpy's meaning).
    - ``rewrite``: record every request and replace the file's interactions with them
      (pytest-recording's meaning).
    """

    NONE = "none"
    ONCE = "once"
    NEW_EPISODES = "new_episodes"
    ALL = "all"
    REWRITE = "rewrite"

    # The rules above, as predicates: every part of llm-replay asks these, none re-derives them.

    @property
    def records_everything(self) -> bool:
        """Every request goes to the network; nothing is replayed (``all``, ``rewrite``).

        >>> RecordMode.REWRITE.records_everything, RecordMode.ONCE.records_everything
        (True, False)
        """
        return self in (RecordMode.ALL, RecordMode.REWRITE)

    @property
    def replaces_file(self) -> bool:
        """The recordings replace the file's interactions instead of joining them (``rewrite``)."""
        return self is RecordMode.REWRITE

    def replays(self, existed: bool) -> bool:
        """Whether a cassette opened in this mode (its file ``existed`` or not) plays anything back.

        >>> RecordMode.ONCE.replays(existed=False), RecordMode.ONCE.replays(existed=True)
        (False, True)
        """
        return not self.records_everything and not (self is RecordMode.ONCE and not existed)

    def may_record(self, existed: bool) -> bool:
        """Whether a request with no recorded match may go to the network and be recorded."""
        if self is RecordMode.NONE:
            return False
        return not (self is RecordMode.ONCE and existed)


class Timing(str, Enum):
    """How replayed chunks are paced.

    - ``virtual``: freezegun's clock jumps to each recorded offset; no wall time passes.
    - ``real``: chunks arrive at the recorded offsets on the real clock.
    - ``instant``: no delays at all.
    """

    VIRTUAL = "virtual"
    REAL = "real"
    INSTANT = "instant"


def _parse(enum: type[RecordMode] | type[Timing], value: object, what: str) -> str:
    if isinstance(value, enum):
        return str(value.value)
    names = [m.value for m in enum]
    if isinstance(value, str) and value in names:
        return value
    raise ValueError(f"Unknown {what} {value!r}; expected one of: {', '.join(names)}.")


def parse_record_mode(value: object) -> RecordMode:
    """Validate a record mode given as a string or :class:`RecordMode`."""
    return RecordMode(_parse(RecordMode, value, "record mode"))


def parse_timing(value: object) -> Timing:
    """Validate a timing policy given as a string or :class:`Timing`."""
    return Timing(_parse(Timing, value, "timing"))


def record_command(record_hint: str | None, mode: RecordMode, path: object) -> str:
    """The command that records a cassette in ``mode``, for error messages.

    ``record_hint`` is a command template in which ``{mode}`` stands for the record mode (the
    plugin passes ``pytest --replay-record-mode={mode} <test>``); a hint without the placeholder
    is shown as given. ``str.replace``, not ``format``: test ids may hold braces.
    """
    if record_hint is None:
        return f"use_cassette({str(path)!r}, record_mode={mode.value!r})"
    return record_hint.replace("{mode}", mode.value)
