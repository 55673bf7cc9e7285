"""The exceptions llm-replay raises.

None of them subclasses the HTTP client's ``RequestError``/``TransportError``: the SDKs retry
those with real back-off sleeps, and a replay miss must fail at once, loudly.

:class:`NoMatchingInteraction` derives from ``BaseException``, as pytest's own outcome
exceptions (``pytest.fail``) do: it is raised inside the application's call stack, where an
``except Exception:`` fallback, or the retry loop of an SDK that catches every ``Exception``
(groq, together), would otherwise swallow a stale cassette and let the test pass on the wrong
path. Catch it by name (``except replay.NoMatchingInteraction``) when a test expects it.
"""

from __future__ import annotations

__all__ = [
    "CassetteError",
    "CassetteFormatError",
    "CassetteNotFoundError",
    "CassetteWriteError",
    "NoMatchingInteraction",
    "ReplayError",
    "ReplayWarning",
]


class ReplayError(Exception):
    """Base class of every error llm-replay raises."""


class CassetteError(ReplayError):
    """A problem with a cassette file as a whole."""


class CassetteNotFoundError(CassetteError):
    """The cassette file does not exist and the record mode does not allow creating it."""


class CassetteFormatError(CassetteError):
    """The cassette file cannot be read: bad YAML, wrong shape, or a field that fails validation."""


class CassetteWriteError(CassetteError):
    """The cassette could not be written (the previous file, if any, is left untouched)."""


class NoMatchingInteraction(BaseException):
    """A request has no recorded interaction to replay, and recording is not allowed.

    Also raised when the cassette file does not exist (record mode ``none``, or ``once`` with
    recording disabled): the message then says how to record it.
    """


class ReplayWarning(UserWarning):
    """Base class of every warning llm-replay emits (filter them all with ``replay.ReplayWarning``)."""
