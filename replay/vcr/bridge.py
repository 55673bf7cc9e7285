"""vcrpy's cassette semantics with llm-replay's interception: the engine of the pytest-recording
drop-in (:mod:`replay_pytest.recording_compat`).

The cassette object is vcrpy's own ``vcr.cassette.Cassette``, so matching (vcrpy's default
method, scheme, host, port, path, query; the first not-yet-played match in file order), record
modes, ``allow_playback_repeats``, ``before_record_request/response``, ``filter_headers``,
``ignore_hosts`` and the rest behave exactly as in vcrpy. What changes is how traffic reaches it:

- httpx2 and httpx go through llm-replay's transport patch (below ``Client.send``): replayed
  bodies stream chunk by chunk (SSE split at events, gzip replayed as stored with
  ``content-encoding`` intact); recorded bodies pass through as they arrive, and a stream the test
  abandons is read to its end on close so the cassette holds the whole response, as vcrpy's does.
- ``requests``/``urllib3``/``http.client`` and the other libraries vcrpy knows go through vcrpy's
  own stubs, on the same cassette.
- Files are read by :class:`SafePersister`: the safe YAML loader (no Python tags, no aliases),
  native llm-replay files as well as vcrpy ones, extra cassettes merged in; writes are atomic and
  never contain secret headers.

Timing: replayed chunks are paced by a timing policy, ``instant`` by default (as vcrpy). Bodies
recorded by this bridge carry their chunk times in vcrpy's response mapping (key ``llm_replay``,
ignored by vcrpy), so ``virtual`` or ``real`` timing can replay them as recorded.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from typing import Any

from ..model.cassette import Chunk, StreamEnd
from ..timing.base import REAL, Schedule, TimingPolicy
from ..transport.adapters import HttpLib, LiveRequest
from ..transport.interceptor import PASS_THROUGH, Recording
from ..transport.streams import PendingRecording, RecordingTap, ResponsePlan
from .format import (
    DEFAULT_SYNTHETIC_TIMING,
    TIMING_KEY,
    SyntheticTiming,
    interaction_from_vcr,
    replayed_vcr_response,
)
from .miss import RECORD_HINT, CannotOverwriteExistingCassetteException, VcrCassetteMiss
from .persister import SafePersister
from .playback import BridgeOptions

__all__ = [
    "BridgeOptions",
    "CannotOverwriteExistingCassetteException",
    "SafePersister",
    "VcrBridge",
    "VcrCassetteMiss",
    "vcr_cassette",
]


# -- one response, vcrpy's mapping <-> a timed plan --------------------------------------------


def _plan(response: dict[str, Any], source: str, synthetic: SyntheticTiming) -> ResponsePlan:
    # decode=False: vcrpy's before_record_response decoded the body already when asked to.
    raw = replayed_vcr_response(response, decode=False)
    interaction = interaction_from_vcr(
        {"request": {"method": "GET", "uri": "http://replay.invalid/"}, "response": raw},
        synthetic_timing=synthetic,
        keep_secrets=True,
        decode=False,
    )
    return ResponsePlan.from_response(interaction.response, source)


def _response_mapping(pending: PendingRecording, phrase: str) -> dict[str, Any]:
    grouped: dict[str, list[str]] = {}
    for name, value in pending.headers:
        grouped.setdefault(name, []).append(value)
    chunks = [Chunk(t=max(pending.head_t, t), data=d) for t, d in pending.raw]
    meta: dict[str, Any] = {
        "t": round(pending.head_t, 6),
        "chunks": " ".join(f"{round(c.t, 6)}/{len(c.data)}" for c in chunks),
    }
    if pending.end is not None:
        meta["end"] = pending.end.model_dump(exclude_none=True)
    return {
        "status": {"code": pending.status, "message": phrase},
        "headers": grouped,
        "body": {"string": b"".join(d for _, d in pending.raw)},
        TIMING_KEY: meta,
    }


class _DrainingTap(RecordingTap):
    """A recording tap that reads the rest of the body when the application closes early.

    vcrpy records whole responses; a test that stops reading a stream midway still gets a
    cassette that replays the full response. The rest is read by resuming the very iterator the
    application abandoned. Completion (or failure) appends the interaction to the cassette.
    """

    __slots__ = ("_agen", "_done", "_gen")

    def __init__(self, inner: Any, pending: PendingRecording, lib: HttpLib, done: Callable[[], None]) -> None:
        super().__init__(inner, pending, lib)
        self._done = done
        self._gen: Iterator[bytes] | None = None
        self._agen: AsyncIterator[bytes] | None = None

    def iter_sync(self) -> Iterator[bytes]:
        self._gen = self._sync()
        return self._gen

    def iter_async(self) -> AsyncIterator[bytes]:
        self._agen = self._async()
        return self._agen

    def _sync(self) -> Iterator[bytes]:
        try:
            yield from RecordingTap.iter_sync(self)
        finally:
            if self._pending.done:
                self._done()

    async def _async(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in RecordingTap.iter_async(self):
                yield chunk
        finally:
            if self._pending.done:
                self._done()

    def close(self) -> None:
        if not self._pending.done:
            with contextlib.suppress(Exception):
                for _ in self._gen if self._gen is not None else self.iter_sync():
                    pass
        RecordingTap.close(self)

    async def aclose(self) -> None:
        if not self._pending.done:
            with contextlib.suppress(Exception):
                async for _ in self._agen if self._agen is not None else self.iter_async():
                    pass
        await RecordingTap.aclose(self)

    def _closed_by_app(self) -> None:
        # Whatever the close left (a failed read, or the base's own end): append it now.
        RecordingTap._closed_by_app(self)
        self._done()


@dataclass(frozen=True, slots=True)
class _VcrRecording:
    bridge: VcrBridge
    lib: HttpLib
    vreq: Any

    def wrap(self, response: Any, sent_at: float) -> Any:
        return self.bridge._record(self.lib, self.vreq, response, sent_at)


class VcrBridge:
    """Answers httpx2/httpx requests from a vcrpy ``Cassette`` (see the module docstring).

    Pushed onto llm-replay's interception stack by :func:`vcr_cassette`.
    """

    def __init__(self, cassette: Any, options: BridgeOptions) -> None:
        self.cassette = cassette
        self.options = options
        self._lock = threading.Lock()
        self._open: list[tuple[Any, PendingRecording, list[bool]]] = []

    # -- deciding -------------------------------------------------------------------------

    def _vcr_request(self, lib: HttpLib, request: Any, body: bytes) -> Any:
        from vcr.request import Request as VcrRequest

        headers = {k: v for k, v in request.headers.items()}
        return VcrRequest(request.method, str(request.url), body or None, headers)

    def _replay_plan(self, vreq: Any) -> ResponsePlan | None:
        cassette = self.cassette
        if cassette.can_play_response_for(vreq):
            response = cassette.play_response(vreq)
            return _plan(response, f"{cassette._path}", self.options.synthetic_timing)
        if cassette.write_protected and cassette.filter_request(vreq):
            raise VcrCassetteMiss(cassette, vreq, self.options.record_hint or RECORD_HINT)
        return None

    # -- the Interceptor protocol (see replay.transport.interceptor) -----------------------

    def handle(self, request: LiveRequest) -> ResponsePlan | Recording:
        if not isinstance(request.lib, HttpLib):
            # requests/urllib3 and aiohttp: vcrpy's own patches below record and replay them.
            return PASS_THROUGH
        vreq = self._vcr_request(request.lib, request.raw, request.body)
        plan = self._replay_plan(vreq)
        if plan is not None:
            plan.headers = list(plan.headers)
            return plan
        return _VcrRecording(self, request.lib, vreq)

    def schedule(self) -> Schedule:
        return self.options.timing.schedule()

    def _record(self, lib: HttpLib, vreq: Any, response: Any, sent_at: float) -> Any:
        pending = PendingRecording(
            request=None,  # type: ignore[arg-type]  # the vcrpy request stands in for it
            status=response.status_code,
            headers=[(k.decode("latin-1"), v.decode("latin-1")) for k, v in response.headers.raw],
            sent_at=sent_at,
            head_t=REAL.perf_counter() - sent_at,
        )
        appended = [False]
        phrase = str(getattr(response, "reason_phrase", "") or "")

        def done() -> None:
            with self._lock:
                if appended[0]:
                    return
                appended[0] = True
            self.cassette.append(vreq, _response_mapping(pending, phrase))

        with self._lock:
            self._open.append((done, pending, appended))
        response.stream = lib.recording_stream(_DrainingTap(response.stream, pending, lib, done))
        return response

    def finish(self) -> None:
        """Append what arrived of bodies the application never finished nor closed."""
        with self._lock:
            left = [(done, pending) for done, pending, appended in self._open if not appended[0]]
            self._open.clear()
        for done, pending in left:
            pending.finish(StreamEnd(kind="closed_early"))
            done()


class vcr_cassette:
    """Open a vcrpy cassette context (requests, urllib3, ... via vcrpy) with a :class:`VcrBridge`
    for httpx2/httpx. ``context`` is what ``VCR.use_cassette(...)`` returned.

    Example usage::

        vcr = VCR(record_mode="none"); vcr.register_persister(SafePersister())
        with vcr_cassette(vcr.use_cassette("c.yaml", skip_patchers=("httpx", "httpx2")), timing) as c:
            ...
    """

    def __init__(
        self,
        context: Any,
        timing: TimingPolicy,
        *,
        synthetic_timing: SyntheticTiming = DEFAULT_SYNTHETIC_TIMING,
        record_hint: str | None = None,
    ) -> None:
        self._context = context
        self._options = BridgeOptions(timing, synthetic_timing, record_hint)
        self._bridge: VcrBridge | None = None
        self._active: contextlib.AbstractContextManager[Any] | None = None

    def __enter__(self) -> Any:
        from ..transport.patch import intercepting

        cassette = self._context.__enter__()
        try:
            bridge = VcrBridge(cassette, self._options)
            active = intercepting(bridge, self._options.timing)
            active.__enter__()
        except BaseException:
            self._context.__exit__(None, None, None)
            raise
        self._bridge, self._active = bridge, active
        return cassette

    def __exit__(self, *exc_info: Any) -> None:
        bridge, active = self._bridge, self._active
        self._bridge = self._active = None
        try:
            if bridge is not None and active is not None:
                active.__exit__(None, None, None)
                bridge.finish()
        finally:
            self._context.__exit__(*exc_info)
