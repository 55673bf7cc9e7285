"""Fault injection: turn one recording into the failures and edge cases a live API produces rarely.

Each fault is a frozen dataclass. It applies to every replayed response unless narrowed with
``interaction=`` (the index of the recorded interaction) and/or ``match=`` (a predicate on the
live :class:`~replay.model.cassette.Request`), and to the first ``times=K`` responses it changes
(default: all). Faults compose, and always apply in one fixed order whatever the list order:

1. ``HTTPError`` replaces the response (and does not use up the recorded interaction, so
   "429 twice, then the recording" needs one interaction);
2. content rewrites: ``EmptyChoices``, ``NullDeltaContent``, ``UsageOnlyChunk``,
   ``FinishReason``, ``MalformedEvent``, ``ErrorEvent`` (Content-Length is recomputed);
3. framing: ``Rechunk``;
4. delivery: ``Latency``, ``Truncate``, ``Disconnect``, ``Stall``.

One module per stage: :mod:`.replacement`, :mod:`.content` and :mod:`.events`, :mod:`.framing`,
:mod:`.delivery`, on :mod:`.base`; :mod:`.draft` is the response being edited, :mod:`.injector`
applies a list of faults, :mod:`.variants` runs a test once per fault set.

``after_events=N`` / ``at_event=N`` count the data events of the stream as delivered
(``[DONE]`` and usage-only chunks count; comments, empty frames and Anthropic ``ping``
keep-alives do not); ``at_event`` is 0-based and ``after_events=N`` delivers N events. A fault
that does not fit a response (``after_events`` on a JSON body, ``FinishReason`` on a body
without one) leaves it alone; a fault that fitted no response at all is reported when the
cassette closes (:class:`FaultNotApplied`). The cassette file is never modified.

Example usage::

    from replay.faults import HTTPError, Truncate

    with replay.use_cassette("chat.yaml", faults=[HTTPError(429, retry_after=20, times=2)]):
        client.chat.completions.create(...)   # two 429s (retried by the SDK), then the recording
"""

from __future__ import annotations

from .base import Fault, FaultNotApplied
from .content import EmptyChoices, FinishReason, NullDeltaContent, UsageOnlyChunk
from .delivery import Disconnect, Latency, Stall, Truncate
from .events import ErrorEvent, MalformedEvent
from .framing import Rechunk
from .replacement import HTTPError

__all__ = [
    "Disconnect",
    "EmptyChoices",
    "ErrorEvent",
    "Fault",
    "FaultNotApplied",
    "FinishReason",
    "HTTPError",
    "Latency",
    "MalformedEvent",
    "NullDeltaContent",
    "Rechunk",
    "Stall",
    "Truncate",
    "UsageOnlyChunk",
]
