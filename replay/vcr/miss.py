"""The drop-in's error for a request no recorded interaction answers, as vcrpy names it.

Importing this module imports vcrpy: the native engine (:mod:`replay.vcr.playback`) imports it
only when a request misses, with the client libraries unpatched.
"""

from __future__ import annotations

from typing import Any

from vcr.errors import CannotOverwriteExistingCassetteException as _VcrMiss

from ..errors import NoMatchingInteraction

__all__ = ["RECORD_HINT", "CannotOverwriteExistingCassetteException", "VcrCassetteMiss"]

RECORD_HINT = "Record it with --record-mode=once (new cassette) or new_episodes."


class CannotOverwriteExistingCassetteException(NoMatchingInteraction, _VcrMiss):  # type: ignore[misc]
    """A request the cassette cannot answer: a subclass of vcrpy's exception of the same name (so
    suites that catch it, and logs searched for it, keep working) and of llm-replay's
    :class:`NoMatchingInteraction`.

    Example usage::

        raise CannotOverwriteExistingCassetteException(cassette, vcr_request, RECORD_HINT)
    """

    def __init__(self, cassette: Any, failed_request: Any, hint: str) -> None:
        _VcrMiss.__init__(self, cassette=cassette, failed_request=failed_request)
        self.args = (f"{self.args[0]}\n{hint}",)

    @classmethod
    def unsupported(
        cls, cassette: Any, failed_request: Any, message: str
    ) -> CannotOverwriteExistingCassetteException:
        """The miss for a request the engine cannot replay whatever the cassette holds (vcrpy's
        explanation, which assumes it could, would mislead): ``message`` says why.
        ``reason`` is ``"unsupported_client"``."""
        error = cls.__new__(cls)
        Exception.__init__(error, message)
        error.cassette = cassette
        error.failed_request = failed_request
        error.similar_requests = []
        error.reason = "unsupported_client"
        return error


VcrCassetteMiss = CannotOverwriteExistingCassetteException
