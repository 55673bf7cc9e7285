"""Sessions: one cassette in use by the server, with its play counts, faults and recordings.

A :class:`ServeSession` is the server's counterpart of an active cassette: it matches each
request (engine :class:`~replay.matching.Matcher`, on method, path, query and body), builds the
response plan through the engine's :class:`~replay.injection.FaultInjector`, and saves each
finished recording at once, scrubbed, through the engine's locked atomic save (a server may be
killed at any time; nothing recorded before is lost).

The :class:`SessionRegistry` holds the sessions of one server: the default session (a served
file), one implicit session per cassette named by path prefix, and the sessions opened through
the control API.
"""

from __future__ import annotations

import math
import secrets
import sys
import threading
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from .engine_link import (
    SERVE_MATCH_ON,
    AsApiView,
    Fault,
    FaultContext,
    FaultInjector,
    Interaction,
    Matcher,
    PendingRecording,
    RecordMode,
    ReplayError,
    Request,
    ResponsePlan,
    Scrubber,
    Timing,
    load_cassette,
    save_session,
)
from .paths import CassetteName, resolve_cassette

__all__ = ["Miss", "ServeSession", "SessionRegistry", "SessionSettings"]


@dataclass(frozen=True, slots=True)
class SessionSettings:
    """How a session replays and records (the server's options, or a control API request)."""

    record_mode: RecordMode = RecordMode.NONE
    timing: Timing = Timing.REAL
    speed: float = 1.0
    allow_playback_repeats: bool = False
    upstream: str | None = None
    faults: tuple[Fault, ...] = ()
    # Chat APIs a request may be made in besides the recorded one (replay.chat.as_api).
    as_api: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Miss:
    """No recording answers the request and the record mode forbids recording it."""

    message: str


@dataclass(eq=False)
class ServeSession:
    """One cassette served: matching, faults, recordings saved as they finish."""

    id: str
    name: CassetteName
    path: Path
    settings: SessionSettings
    scrubber: Scrubber

    def __post_init__(self) -> None:
        settings, scrubber, path = self.settings, self.scrubber, self.path
        self.existed = path.exists()
        self.closed = False
        self._lock = threading.Lock()
        self._baseline: list[Interaction] | None = []
        interactions: list[Interaction] = []
        if self.existed and settings.record_mode is not RecordMode.REWRITE:
            interactions = load_cassette(path).interactions
        elif self.existed:
            try:
                self._baseline = load_cassette(path).interactions
            except ReplayError:
                self._baseline = None
        self.interactions = interactions
        # A request in another API matches a recording through its translations; play counts and
        # messages speak of the file's own interactions.
        self.as_api = AsApiView(interactions, settings.as_api, str(path)) if settings.as_api else None
        self.matcher = Matcher(
            self.as_api.interactions if self.as_api is not None else interactions,
            match_on=SERVE_MATCH_ON,
            allow_playback_repeats=settings.allow_playback_repeats,
            prepare=scrubber.prepare,
            memoize=scrubber.before_record_request is None,
        )
        self.faults = FaultInjector(settings.faults)
        self.recorded: list[Interaction] = []
        self.misses: list[str] = []
        self.errors: list[str] = []

    # -- deciding ---------------------------------------------------------------------------

    def may_record(self) -> bool:
        mode = self.settings.record_mode
        if mode is RecordMode.NONE:
            return False
        return not (mode is RecordMode.ONCE and self.existed)

    def decide(self, request: Request) -> ResponsePlan | Miss | None:
        """The plan to replay, a :class:`Miss`, or None: record it (forward to the upstream)."""
        mode = self.settings.record_mode
        with self._lock:
            if mode not in (RecordMode.ALL, RecordMode.REWRITE) and len(self.matcher):
                parts = self.matcher.parts_of(request)
                match = self.matcher.find(parts, consume=False)
                if match is not None:
                    interaction, source = self._answer(match.index, match.interaction, request)
                    ctx = FaultContext(
                        request=request,
                        interaction=interaction,
                        index=match.index,
                        source=source,
                        # Over the wire the client's read timeout is its own business: a stall
                        # is silence for as long as the fault says, and the client gives up.
                        read_timeout=math.inf,
                        speed=self.settings.speed,
                    )
                    plan, replaced = self.faults.build(interaction.response, ctx)
                    if not replaced:
                        self.matcher.find(parts)
                    return plan
            if self.may_record():
                self.faults.note_recorded(request)
                return None
            message = self._miss_message(request)
            self.misses.append(message.splitlines()[0])
            return Miss(message)

    def _answer(self, index: int, matched: Interaction, request: Request) -> tuple[Interaction, str]:
        """What to play for a match, and where it came from (for errors and fault reports)."""
        if self.as_api is None:
            return matched, f"{self.path} interaction #{index}"
        recorded, api = self.as_api.origin(index)
        where = f"{self.path} interaction #{recorded}" + (f" (as {api})" if api else "")
        return self.as_api.answer(index, request), where

    def _miss_message(self, request: Request) -> str:
        what = f"{request.method} {_path_of(request)}"
        mode = self.settings.record_mode.value
        if not self.existed:
            return (
                f"Cassette {self.name} does not exist in the served directory (record mode '{mode}'), so "
                f"{what} cannot be replayed. Record it: run the server with --record-mode once and "
                "--upstream URL, or open a session with record_mode 'once'."
            )
        return (
            f"No interaction in {self.name} matches {request.method} {_path_of(request)} "
            f"(record mode '{mode}').\n"
            f"{self.matcher.explain_miss(request)}\n"
            "To fix: re-record it (--record-mode new_episodes --upstream URL), or allow repeats "
            "(--allow-playback-repeats) if the request was replayed already."
        )

    # -- recording --------------------------------------------------------------------------

    def save_recording(self, pending: PendingRecording) -> None:
        """Scrub one finished recording and merge it into the cassette file (blocking I/O)."""
        interaction = self.scrubber.scrub_interaction(pending.to_interaction())
        try:
            save_session(
                self.path,
                [interaction],
                scrubber=self.scrubber,
                rewrite=self.settings.record_mode is RecordMode.REWRITE,
                baseline=self._baseline,
            )
        except ReplayError as exc:
            self.errors.append(str(exc))
            print(f"llm-replay serve: recording not saved: {exc}", file=sys.stderr, flush=True)
            return
        with self._lock:
            self.recorded.append(interaction)

    # -- reporting --------------------------------------------------------------------------

    def report(self) -> dict[str, Any]:
        """What was played, what is unused, what was recorded, and how each fault fared."""
        with self._lock:
            counts = self.matcher.play_counts
            if self.as_api is not None:
                counts = self.as_api.file_counts(counts)
            counts = list(counts[: len(self.interactions)])
            return {
                "id": self.id,
                "cassette": str(self.name),
                "record_mode": self.settings.record_mode.value,
                "as_api": list(self.settings.as_api),
                "closed": self.closed,
                "interactions": len(self.interactions),
                "play_counts": counts,
                "played": [i for i, n in enumerate(counts) if n],
                "unused": [
                    {"index": i, "method": x.request.method, "path": _path_of(x.request)}
                    for i, (x, n) in enumerate(zip(self.interactions, counts, strict=True))
                    if not n
                ],
                "recorded": [
                    {"method": x.request.method, "url": x.request.url, "status": x.response.status}
                    for x in self.recorded
                ],
                "faults": [s.describe() for s in self.faults.report()],
                "misses": list(self.misses),
                "errors": list(self.errors),
            }


def _path_of(request: Request) -> str:
    rest = request.url.split("://", 1)[-1]
    return "/" + rest.split("/", 1)[1] if "/" in rest else "/"


@dataclass
class SessionRegistry:
    """The sessions of one server, by id; implicit ones by cassette name."""

    root: Path
    file_mode: bool
    defaults: SessionSettings
    scrubber: Scrubber = field(default_factory=Scrubber)
    _sessions: dict[str, ServeSession] = field(default_factory=dict)
    _by_name: dict[str, ServeSession] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def default(self) -> ServeSession:
        """The served file's session (file mode)."""
        return self.implicit(self.root.name, self.root)

    def cached(self, name: str) -> ServeSession | None:
        """The implicit session of ``name`` if it was opened already (validated then)."""
        with self._lock:
            return self._by_name.get(name)

    def implicit(self, name: str, path: Path | None = None) -> ServeSession:
        """The shared session of a cassette named by path prefix, created on first use."""
        with self._lock:
            session = self._by_name.get(name)
        if session is not None:
            return session
        if path is None:
            checked, path = resolve_cassette(self.root, name.split("/"))
            name = checked
        created = ServeSession(f"c:{name}", CassetteName(name), path, self.defaults, self.scrubber)
        with self._lock:
            return self._by_name.setdefault(name, created)

    def open(self, name: str | None, settings: SessionSettings) -> ServeSession:
        """A new session of its own (control API), with a fresh id and fresh play counts."""
        if self.file_mode:
            if name not in (None, self.root.name):
                raise ValueError(
                    f"This server serves the single file {self.root}; leave 'cassette' out or give "
                    f"{self.root.name!r} (serve a directory to choose among cassettes)."
                )
            checked, path = CassetteName(self.root.name), self.root
        else:
            if name is None:
                raise ValueError("'cassette' is required: this server serves a directory of cassettes.")
            checked, path = resolve_cassette(self.root, name)
        session = ServeSession(secrets.token_hex(8), checked, path, settings, self.scrubber)
        with self._lock:
            self._sessions[session.id] = session
        return session

    def ids(self) -> list[str]:
        with self._lock:
            return sorted(self._sessions)

    def get(self, sid: str) -> ServeSession | None:
        with self._lock:
            return self._sessions.get(sid)

    def close(self, sid: str) -> ServeSession | None:
        with self._lock:
            session = self._sessions.pop(sid, None)
        if session is not None:
            session.closed = True
        return session

    def settings(self, **changes: Any) -> SessionSettings:
        """The server's defaults with the given fields changed (None: keep the default)."""
        return replace(self.defaults, **{k: v for k, v in changes.items() if v is not None})
