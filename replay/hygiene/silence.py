"""Nothing silent: a cassette that no request reached says so when it closes.

A cassette that served no request (nothing replayed, nothing recorded) is either dead weight or,
worse, a sign that the test's HTTP traffic went around llm-replay (a client it does not
intercept), so a recording test "passes" having recorded nothing. :func:`silence_message`
describes it, naming the hosts and clients seen connecting outside the adapters
(:mod:`replay.transport.traffic`); :func:`report_silence` warns with
:class:`CassetteUnusedWarning`, or raises :class:`CassetteUnusedError` for a strict cassette
(``strict=True``, ``--replay-strict``).

Example::

    with replay.use_cassette("c.yaml", record_mode="once"):
        http.client.HTTPConnection("127.0.0.1", 8000).request("GET", "/")
    # CassetteUnusedWarning: Cassette c.yaml (record mode 'once') recorded nothing: ...
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING

from ..errors import ReplayError, ReplayWarning

if TYPE_CHECKING:
    from ..engine.player import ActiveCassette

__all__ = ["CassetteUnusedError", "CassetteUnusedWarning", "report_silence", "silence_message"]

_CLIENTS = "httpx2/httpx (any transport), requests/urllib3 (botocore), aiohttp"


class CassetteUnusedWarning(ReplayWarning):
    """A cassette closed without any request reaching it."""


class CassetteUnusedError(ReplayError):
    """A strict cassette closed without any request reaching it."""


def silence_message(active: ActiveCassette) -> str | None:
    """Why this cassette's silence is suspicious, or None when a request reached it."""
    if active.reached:
        return None
    mode = active.record_mode
    records = mode.may_record(active.existed)
    unseen = sorted({f"{target} (from {client})" for target, client in active.unseen})
    if unseen:
        what = "recorded nothing" if records else "replayed nothing"
        shown = ", ".join(unseen[:5]) + (f" and {len(unseen) - 5} more" if len(unseen) > 5 else "")
        return (
            f"Cassette {active.path} (record mode '{mode.value}') {what}: no request reached "
            f"llm-replay, but the test connected to {shown} through a client it does not intercept. "
            f"Intercepted clients: {_CLIENTS}. To fix: send these requests with one of them, or "
            "run with block_network=True (--replay-block-network) to see where they are made."
        )
    if records and not active.existed:
        return (
            f"Cassette {active.path} (record mode '{mode.value}') recorded nothing: no HTTP request "
            "was made while it was active, so no file was written. To fix: make the request inside "
            "the cassette's block (or test), or remove the cassette from this test."
        )
    if active.existed and active.interactions:
        n = len(active.interactions)
        return (
            f"Cassette {active.path} was not used: none of its {n} interaction{'s' if n != 1 else ''} "
            "was requested while it was active. To fix: make the requests inside the cassette's block "
            "(or test), or remove the cassette from this test."
        )
    return None


def report_silence(active: ActiveCassette, stacklevel: int = 2) -> None:
    """Warn (or raise for a strict cassette) once if no request reached ``active``."""
    if active.silence_reported:
        return
    message = silence_message(active)
    if message is None:
        return
    active.silence_reported = True
    if active.strict:
        raise CassetteUnusedError(message)
    warnings.warn(message, CassetteUnusedWarning, stacklevel=stacklevel + 1)
