"""The active cassette: decides, per request, to replay or record, and does it.

Data flow of one request (see ``shared/DESIGN.md``)::

    request -> match -> interaction -> ResponsePlan -> (faults) -> ChunkPlayer on a Schedule
    request -> real transport -> RecordingTap (chunks pass through as they arrive) -> cassette
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import NoMatchingInteraction, ReplayError
from ..faults import Fault
from ..faults.draft import FaultContext
from ..faults.injector import FaultInjector, FaultStatus, apply_read_timeout, read_timeout_of
from ..io.persist import save_session
from ..io.storage import load_cassette
from ..model.cassette import Cassette, Interaction, Request, StreamEnd
from ..modes import RecordMode, record_command
from ..scrub import Scrubber
from ..timing.clock import Schedule, TimingPolicy, VirtualTiming
from ..timing.virtual import live_recording
from ..transport import netguard, traffic
from ..transport.adapters import LiveRequest, encode_headers
from ..transport.drain import wait_for_drains
from ..transport.interceptor import Recording
from ..transport.netguard import NetworkPolicy
from ..transport.streams import PendingRecording, ResponsePlan
from ..vcr.format import SyntheticTiming
from .matching import Match, Matcher, RequestParts
from .recording import NativeRecording

if TYPE_CHECKING:
    from ..chat.as_api import AsApiView
    from ..hygiene.changes import RecordingChanges

__all__ = ["ActiveCassette"]


class ActiveCassette:
    """A cassette in use: what ``use_cassette(...)`` yields and the ``replay_cassette`` fixture is.

    Example usage::

        with replay.use_cassette("cassettes/chat.yaml") as cassette:
            client.chat.completions.create(...)
        assert cassette.all_played
    """

    def __init__(
        self,
        path: Path,
        *,
        record_mode: RecordMode,
        timing: TimingPolicy,
        match_on: Sequence[str] | None,
        allow_playback_repeats: bool,
        record_on_failure: bool,
        record_hint: str | None = None,
        synthetic_timing: SyntheticTiming | None = None,
        loaded: Cassette | None = None,
        faults: Sequence[Fault] = (),
        scrubber: Scrubber | None = None,
        network: NetworkPolicy | None = None,
        as_api: Sequence[str] = (),
    ) -> None:
        self.path = path
        self.record_mode = record_mode
        self.timing = timing
        self.allow_playback_repeats = allow_playback_repeats
        self.record_on_failure = record_on_failure
        self.record_hint = record_hint
        self._match_on = match_on
        self._lock = threading.Lock()
        self._recordings: list[PendingRecording] = []
        self._drains: list[Any] = []  # bodies read to their end after the app closed them
        self._plans: dict[tuple[int, int], tuple[ResponsePlan, float]] = {}
        # Safety (scrubbing, network blocking): see replay.scrub, replay.transport.netguard and
        # replay.io.persist.
        self.scrubber = scrubber if scrubber is not None else Scrubber()
        self.network = network if network is not None else NetworkPolicy()
        self.existed = path.exists()
        # What the file held when opened, for a rewrite to tell its own old interactions from
        # those a parallel worker adds meanwhile (None: unreadable, replace it all).
        self.cassette, self._baseline = self._open(record_mode, loaded, synthetic_timing)
        self.as_api: AsApiView | None = None
        if as_api:  # the chat models and codecs load only for a cassette that translates (~0.2 s)
            from ..chat.as_api import AsApiView

            self.as_api = AsApiView(self.cassette.interactions, as_api, str(path))
        self.matcher = self._matcher(match_on, allow_playback_repeats)
        self.saved = False
        # Cassette hygiene (set by use_cassette): strict usage, and what a re-recording replaced.
        self.strict = False
        self.previous: Cassette | None = None
        self.changes: RecordingChanges | None = None
        self.faults = FaultInjector(faults)
        self._answered: dict[int, int] = {}  # interaction index -> requests a fault answered
        # Nothing silent (replay.hygiene.silence): requests that reached this cassette, and
        # connections made around the adapters while it was active.
        self.reached = 0
        self.unseen: list[tuple[str, str]] = []
        self.silence_reported = False

    def _open(
        self, record_mode: RecordMode, loaded: Cassette | None, synthetic_timing: SyntheticTiming | None
    ) -> tuple[Cassette, list[Interaction] | None]:
        """What to replay from, and the baseline a rewrite compares with (see ``_baseline``)."""
        if self.existed and not record_mode.replaces_file:
            # ``loaded``: the caller read the file already (to check its age).
            if loaded is not None:
                return loaded, []
            return load_cassette(self.path, synthetic_timing=synthetic_timing), []
        if not self.existed:
            return Cassette(), []
        try:
            return Cassette(), load_cassette(self.path).interactions
        except ReplayError:
            return Cassette(), None

    def _matcher(self, match_on: Sequence[str] | None, allow_playback_repeats: bool) -> Matcher:
        # Requests made in another API are answered from translations (replay.chat.as_api):
        # the matcher indexes the translations; play counts and messages speak of the file's own.
        return Matcher(
            self.as_api.interactions if self.as_api is not None else self.cassette.interactions,
            match_on=match_on,
            allow_playback_repeats=allow_playback_repeats,
            prepare=self.scrubber.prepare,
            # A user hook may read any header; only then must every request be prepared anew.
            memoize=self.scrubber.before_record_request is None,
        )

    # -- public view ----------------------------------------------------------------------

    @property
    def interactions(self) -> list[Interaction]:
        """The file's interactions, then those recorded in this session so far (finished
        responses, scrubbed as they will be saved), as vcrpy's cassette grows while recording.

        Example usage::

            with replay.use_cassette(path, record_mode="once") as cassette:
                client.chat.completions.create(...)
                first_byte = cassette.interactions[-1].response.t  # recorded or replayed
        """
        recorded = self.recorded
        return [*self.cassette.interactions, *recorded] if recorded else self.cassette.interactions

    @property
    def loaded(self) -> list[Interaction]:
        """The interactions loaded from the file: what :attr:`play_counts` and :attr:`unplayed`
        index."""
        return self.cassette.interactions

    @property
    def play_counts(self) -> list[int]:
        """How many times each loaded interaction was replayed."""
        counts = self.matcher.play_counts
        if self.as_api is not None:
            return self.as_api.file_counts(counts)
        return counts[: len(self.cassette.interactions)]

    @property
    def use_counts(self) -> list[int]:
        """How many requests each loaded interaction answered: replayed, or replaced by a fault
        (an ``HTTPError`` that answers instead of it leaves it unplayed but has used it)."""
        return [n + self._answered.get(i, 0) for i, n in enumerate(self.play_counts)]

    @property
    def all_played(self) -> bool:
        """True when every loaded interaction was used (see :attr:`use_counts`) at least once."""
        return all(self.use_counts)

    @property
    def unplayed(self) -> list[int]:
        """Indices of loaded interactions never used (see :attr:`use_counts`)."""
        return [i for i, n in enumerate(self.use_counts) if n == 0]

    @property
    def recorded(self) -> list[Interaction]:
        """Interactions recorded in this session so far (finished responses, scrubbed as they
        will be saved), in the order requests were sent; :attr:`interactions` ends with them."""
        return [self.scrubber.scrub_interaction(p.to_interaction()) for p in self._recordings if p.done]

    # -- faults ---------------------------------------------------------------------------

    def inject(self, fault: Fault) -> None:
        """Add a fault to the replayed responses from now on (e.g. part-way through a test).

        Example usage::

            replay_cassette.inject(replay.faults.HTTPError(429, retry_after=20, times=1))
        """
        self.faults.add(fault)

    @property
    def fault_report(self) -> list[FaultStatus]:
        """Each fault, how many responses it changed, and why it did not fit the others."""
        return self.faults.report()

    def __repr__(self) -> str:
        return (
            f"<ActiveCassette {self.path} mode={self.record_mode.value} timing={self.timing.name.value} "
            f"interactions={len(self.cassette.interactions)} recorded={len(self._recordings)}>"
        )

    # -- lifecycle ------------------------------------------------------------------------

    def note_unseen(self, target: str, client: str) -> None:
        """A connection no adapter saw was opened while this cassette was active."""
        with self._lock:
            if len(self.unseen) < 100:
                self.unseen.append((target, client))

    def activate(self) -> None:
        """Watch traffic, start the timing, block the network: all of it or, on an error, none."""
        traffic.watch(self)
        try:
            self.timing.activate()
            try:
                if self.network.block:
                    netguard.block(self.network, str(self.path))
            except BaseException:
                self.timing.deactivate()
                raise
        except BaseException:
            traffic.unwatch(self)
            raise

    def deactivate(self, failed: bool) -> None:
        traffic.unwatch(self)
        self.timing.deactivate()
        if self.network.block:
            netguard.unblock(self.network, str(self.path))
        wait_for_drains(self._drains)
        for pending in self._recordings:
            if not pending.done:
                # The application never finished or closed this body: keep what arrived.
                pending.finish(StreamEnd(kind="closed_early"))
        if self._recordings and (not failed or self.record_on_failure):
            self.save()

    def save(self) -> None:
        """Write the file's interactions + the newly recorded ones (scrubbed), atomically.

        The file is re-read under its lock and merged, so parallel workers recording into the
        same cassette lose nothing (see :func:`replay.io.persist.save_session`).
        """
        new = [self.scrubber.scrub_interaction(p.to_interaction()) for p in self._recordings]
        rewrite = self.record_mode.replaces_file
        save_session(self.path, new, scrubber=self.scrubber, rewrite=rewrite, baseline=self._baseline)
        self.saved = True

    # -- deciding -------------------------------------------------------------------------

    def _may_record(self) -> bool:
        return self.record_mode.may_record(self.existed)

    def _may_replay(self) -> bool:
        return not self.record_mode.records_everything and bool(self.matcher)

    def _decide(self, live: LiveRequest, parts: RequestParts | None, *, consume: bool = True) -> Match | None:
        """The interaction to replay, or None to record; raises when neither is allowed."""
        if parts is not None and not self.record_mode.records_everything:
            match = self.matcher.find(parts, consume=consume)
            if match is not None:
                return match
        if self._may_record():
            if self.faults:
                self.faults.note_recorded(live.model)
            return None
        raise self._miss(live.model)

    def _miss(self, request: Request) -> NoMatchingInteraction:
        # The live URL may carry a key (?key=...): error messages end up in CI logs.
        shown = self.scrubber.prepare(request)
        what = f"{shown.method} {shown.url}"
        if not self.existed:
            # `once` records a cassette that does not exist yet: the one case where it works.
            once = record_command(self.record_hint, RecordMode.ONCE, self.path)
            return NoMatchingInteraction(
                f"Cassette {self.path} does not exist (record mode '{self.record_mode.value}'), so "
                f"{what} cannot be replayed.\nRecord it: {once}."
            )
        # `once` never records into an existing file: name the modes that do.
        rewrite = record_command(self.record_hint, RecordMode.REWRITE, self.path)
        add = record_command(self.record_hint, RecordMode.NEW_EPISODES, self.path)
        return NoMatchingInteraction(
            f"No interaction in {self.path} matches {what} (record mode '{self.record_mode.value}').\n"
            f"{self.matcher.explain_miss(request)}\n"
            f"To fix: re-record the cassette with {rewrite}, or add the missing request with {add}; "
            f"or widen match_on (now: {', '.join(self.matcher.match_on)})."
        )

    def _source(self, index: int) -> str:
        if self.as_api is not None:
            index, api = self.as_api.origin(index)
            return f"{self.path} interaction #{index}" + (f" (as {api})" if api else "")
        return f"{self.path} interaction #{index}"

    def _plain_plan(self, match: Match) -> tuple[ResponsePlan, float]:
        """An interaction's fault-free plan (headers encoded for the client library) and its
        longest silence, built once: replaying it again only checks that against the timeout."""
        key = (match.index, id(match.interaction))  # as_api: streamed and whole answers differ
        cached = self._plans.get(key)
        if cached is None:
            response = match.interaction.response
            plan = ResponsePlan.from_response(response, self._source(match.index))
            plan.headers = encode_headers(response.headers)  # type: ignore[assignment]
            silence = plan.head_t
            previous = plan.head_t
            for t in response.chunk_times:  # the array itself: no per-chunk copy
                silence = max(silence, t - previous)
                previous = t
            if response.end is not None and response.end.t is not None:
                silence = max(silence, response.end.t - previous)
            cached = self._plans[key] = (plan, silence)
        return cached

    def _answer_as(self, match: Match, live: Request) -> Match:
        if self.as_api is None:
            return match
        return Match(match.index, self.as_api.answer(match.index, live), match.repeat)

    def _replay_plan(self, live: LiveRequest) -> ResponsePlan | None:
        """What to replay for this request after faults (None: record it)."""
        request = live.raw
        with self._lock:
            if not self._may_replay():
                # Nothing can be replayed (recording everything, or nothing recorded yet): do not
                # prepare the request for matching, it goes straight to the network.
                self._decide(live, None)
                return None
            parts = self.matcher.cached_parts(live.key) or self.matcher.parts_of(live.model)
            if not self.faults:
                # The common case: no fault to consult, so the match is used up at once.
                match = self._decide(live, parts)
                if match is None:
                    return None
                match = self._answer_as(match, live.model)
                plan, silence = self._plain_plan(match)
                timeout = read_timeout_of(request)
                speed = getattr(self.timing, "speed", 1.0)
                if timeout is None or silence <= timeout * speed:
                    return plan
                return apply_read_timeout(plan, timeout, speed, plan.source)
            match = self._decide(live, parts, consume=False)
            if match is None:
                return None
            match = self._answer_as(match, live.model)
            ctx = FaultContext(
                request=live.model,
                interaction=match.interaction,
                index=match.index,
                source=self._source(match.index),
                read_timeout=read_timeout_of(request),
                speed=getattr(self.timing, "speed", 1.0),
            )
            plan, replaced = self.faults.build(match.interaction.response, ctx)
            if replaced:
                # A fault that answers instead of the recording leaves it for the next request,
                # but the recording was used: strict usage must not call it stale.
                self._answered[match.index] = self._answered.get(match.index, 0) + 1
            else:
                self.matcher.find(parts)
            return plan

    # -- the Interceptor protocol (see replay.transport.interceptor) -----------------------

    def handle(self, request: LiveRequest) -> ResponsePlan | Recording:
        self.reached += 1
        plan = self._replay_plan(request)
        if plan is not None:
            return plan
        # The request model is built when the recording is saved, not before the request
        # leaves: recording must not delay what the application receives.
        return NativeRecording(self, request, self._virtual_now(), live_recording(self.timing))

    def schedule(self) -> Schedule:
        return self.timing.schedule()

    def _virtual_now(self) -> float | None:
        clock = self.timing.clock if isinstance(self.timing, VirtualTiming) else None
        return clock.now() if clock is not None else None

    def note_recording(self, pending: PendingRecording) -> None:
        """Keep a response being recorded for the save (see :class:`NativeRecording`)."""
        with self._lock:
            self._recordings.append(pending)

    def note_drain(self, drain: Any) -> None:
        """Keep a background drain of a body the app closed unread (waited for at the save)."""
        self._drains.append(drain)
