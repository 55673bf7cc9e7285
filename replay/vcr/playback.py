"""The pytest-recording drop-in's native engine: vcrpy cassettes replayed with vcrpy's rules,
without vcrpy.

A test whose vcrpy settings :func:`~replay.vcr.native_load.native_rules` accepts, in a record
mode that cannot record (``none``, or ``once`` over an existing cassette), is served here:

- every request from httpx2/httpx, ``requests``/``urllib3`` (botocore) and ``aiohttp`` is
  answered by the first recorded interaction, in file order, that vcrpy's matchers (default:
  method, scheme, host, port, path, query) accept and that has not been played yet (any, with
  ``allow_playback_repeats``); ``ignore_hosts``/``ignore_localhost`` requests go to the network;
- a request nothing answers raises :class:`~replay.vcr.miss.CannotOverwriteExistingCassetteException`
  (a subclass of vcrpy's), with vcrpy's own explanation of the closest recorded request;
- a request sent through ``http.client`` directly (``urllib.request``, ``httplib2``), which only
  vcrpy's stubs replay, fails with the same error and says how to hand the suite to vcrpy.

The ``vcr`` fixture's value, :class:`PlaybackCassette`, keeps vcrpy's counters (``play_count``,
``all_played``, ``play_counts``, ``len``) itself; any other ``Cassette`` attribute is read from a
vcrpy ``Cassette`` loaded on first use, sharing the play counts. vcrpy is imported only then, or
for a miss: a suite that replays what it recorded never imports it.

Example usage (what :mod:`replay_pytest.recording_compat` does)::

    playback = VcrPlayback(entries, native_rules(vcr_config), BridgeOptions(timing), "c.yaml", to_vcrpy)
    with vcr_playback(playback, "none") as cassette:
        ...
"""

from __future__ import annotations

import contextlib
import http.client
import threading
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..timing.base import Schedule, TimingPolicy
from ..transport.adapters import LiveRequest
from ..transport.interceptor import PASS_THROUGH, Recording
from ..transport.streams import ResponsePlan
from .format import DEFAULT_SYNTHETIC_TIMING, SyntheticTiming
from .native_load import Entry, VcrRules, request_parts

__all__ = ["BridgeOptions", "PlaybackCassette", "VcrPlayback", "load_vcrpy", "vcr_playback"]

_DIRECT_HINT = (
    "vcrpy's stubs replay http.client: run this suite with --replay-vcr-engine=vcrpy "
    "(or `replay_vcr_engine = vcrpy` in the pytest ini file)."
)


def load_vcrpy() -> None:
    """Import vcrpy (and :mod:`replay.vcr.miss`) as it must be imported: with the client
    libraries unpatched, whatever cassette is active (see ``import_unpatched``)."""
    from ..transport.patch import import_unpatched

    import_unpatched("replay.vcr.miss")


@dataclass(frozen=True, slots=True)
class BridgeOptions:
    """How a drop-in cassette paces replays, times untimed bodies, and words a miss."""

    timing: TimingPolicy
    synthetic_timing: SyntheticTiming = DEFAULT_SYNTHETIC_TIMING
    record_hint: str | None = None


@dataclass(eq=False)
class VcrPlayback:
    """Answers requests from a vcrpy cassette's interactions by vcrpy's rules (module docstring).

    ``to_vcrpy`` builds the equivalent vcrpy ``Cassette`` (loaded, not entered): used for the
    attributes :class:`PlaybackCassette` does not keep, and for vcrpy's wording of a miss.
    """

    entries: Sequence[Entry]
    rules: VcrRules
    options: BridgeOptions
    source: str
    to_vcrpy: Callable[[], Any]
    play_counts: Counter[int] = field(default_factory=Counter, init=False)
    _vcrpy: Any = field(default=None, init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)
    _index: dict[tuple[Any, ...], list[int]] = field(default_factory=dict, init=False)

    def __post_init__(self) -> None:
        for number, entry in enumerate(self.entries):
            self._index.setdefault(self.rules.key(entry.parts), []).append(number)

    def vcrpy_cassette(self) -> Any:
        """The vcrpy ``Cassette`` for this test, built once, counting plays with this engine."""
        with self._lock:
            if self._vcrpy is None:
                cassette = self.to_vcrpy()
                cassette.play_counts = self.play_counts
                self._vcrpy = cassette
            return self._vcrpy

    # -- the Interceptor protocol (see replay.transport.interceptor) -----------------------

    def handle(self, request: LiveRequest) -> ResponsePlan | Recording:
        method, url, body, _ = request.key
        parts = request_parts(method, url, body)
        if self.rules.ignores(parts["host"]):
            return PASS_THROUGH
        repeats = self.rules.allow_playback_repeats
        with self._lock:
            for number in self._index.get(self.rules.key(parts), ()):
                if repeats or self.play_counts[number] == 0:
                    self.play_counts[number] += 1
                    break
            else:
                number = -1
        if number < 0:
            raise self._miss(method, url, body, request)
        response = self.entries[number].interaction.response
        plan = ResponsePlan.from_response(response, f"{self.source} #{number}")
        plan.headers = list(plan.headers)
        return plan

    def schedule(self) -> Schedule:
        return self.options.timing.schedule()

    # -- misses ------------------------------------------------------------------------------

    def _miss(self, method: str, url: str, body: bytes, request: LiveRequest) -> BaseException:
        load_vcrpy()
        from vcr.request import Request as VcrRequest

        from .miss import RECORD_HINT, VcrCassetteMiss

        headers = {name: value for name, value in request.model.headers}
        failed = VcrRequest(method, url, body or None, headers)
        return VcrCassetteMiss(self.vcrpy_cassette(), failed, self.options.record_hint or RECORD_HINT)

    def refuse_direct(self, connection: http.client.HTTPConnection, method: str, url: str) -> None:
        """An ``http.client`` request: let an ignored host through, refuse anything else."""
        if url.startswith(("http://", "https://")):
            uri = url
        else:
            scheme = "https" if isinstance(connection, http.client.HTTPSConnection) else "http"
            uri = f"{scheme}://{connection.host}:{connection.port}{url}"
        parts = request_parts(method, uri, b"")
        if self.rules.ignores(parts["host"]):
            return
        load_vcrpy()
        from vcr.request import Request as VcrRequest

        from .miss import CannotOverwriteExistingCassetteException

        held = (
            "the cassette holds a matching interaction"
            if self._index.get(self.rules.key(parts))
            else f"none of the cassette's {len(self.entries)} interactions matches it either"
        )
        message = (
            f"{method} {uri} was sent through http.client directly (urllib.request, httplib2, ...), "
            f"which llm-replay's native drop-in engine does not replay; {held} ({self.source}). "
            f"{_DIRECT_HINT}"
        )
        failed = VcrRequest(method, uri, None, {})
        raise CannotOverwriteExistingCassetteException.unsupported(self.vcrpy_cassette(), failed, message)


class PlaybackCassette:
    """The ``vcr`` fixture's value on the native engine: a vcrpy ``Cassette`` to the test.

    Example usage::

        def test_chat(vcr):
            ...
            assert vcr.play_count == 2 and vcr.all_played
    """

    def __init__(self, playback: VcrPlayback, record_mode: str) -> None:
        self._playback = playback
        self.record_mode = record_mode

    @property
    def play_counts(self) -> Counter[int]:
        return self._playback.play_counts

    @property
    def play_count(self) -> int:
        return sum(self._playback.play_counts.values())

    @property
    def all_played(self) -> bool:
        return len(self._playback.play_counts) == len(self._playback.entries)

    @property
    def write_protected(self) -> bool:
        return True  # the native engine never records

    def __len__(self) -> int:
        return len(self._playback.entries)

    def __contains__(self, request: Any) -> bool:
        return request in self._playback.vcrpy_cassette()

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return getattr(self._playback.vcrpy_cassette(), name)

    def __repr__(self) -> str:
        return (
            f"<PlaybackCassette {self._playback.source} ({len(self)} interactions, {self.play_count} played)>"
        )


@contextlib.contextmanager
def vcr_playback(playback: VcrPlayback, record_mode: str) -> Iterator[PlaybackCassette]:
    """Let ``playback`` answer every request in the block; the value is its :class:`PlaybackCassette`.

    Example usage::

        with vcr_playback(playback, "none") as cassette:
            httpx2.get("https://api.example.com/v1/models")
    """
    from ..transport.patch import intercepting

    with intercepting(playback, playback.options.timing):
        yield PlaybackCassette(playback, record_mode)
