"""``use_cassette``: the entry point, as a context manager (sync or async) and a decorator."""

from __future__ import annotations

import functools
import inspect
import os
from collections.abc import Callable, Iterable
from datetime import timedelta
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar, cast

from ..faults import Fault
from ..faults.injector import FaultInjector
from ..hygiene.checks import after_close, after_open, plan_open
from ..hygiene.expiry import ExpiryPolicy
from ..io.atomic import check_path
from ..model.cassette import Request, Response
from ..modes import RecordMode, Timing, parse_record_mode, parse_timing
from ..scrub import Scrubber
from ..timing.clock import make_timing
from ..transport.netguard import NetworkPolicy
from ..transport.patch import pop_interceptor, push_interceptor
from ..vcr.format import SyntheticTiming
from .matching import normalize_match_on
from .player import ActiveCassette

__all__ = ["CassetteContext", "use_cassette"]

F = TypeVar("F", bound=Callable[..., Any])


class CassetteContext:
    """Activates a cassette for the duration of a ``with`` block or a decorated function.

    Each entry makes a fresh :class:`~replay.engine.player.ActiveCassette`, so one decorated function
    can run many times.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        record_mode: RecordMode | str,
        timing: Timing | str,
        speed: float,
        allow_playback_repeats: bool,
        match_on: Iterable[str] | None,
        record_on_failure: bool,
        record_hint: str | None,
        synthetic_timing: SyntheticTiming | None = None,
        strict: bool = False,
        max_age: object = None,
        expiry: str = "warn",
        faults: Iterable[Fault] = (),
        scrubber: Scrubber | None = None,
        network: NetworkPolicy | None = None,
        as_api: str | Iterable[str] | None = None,
    ) -> None:
        self.path = Path(path)
        self.synthetic_timing = synthetic_timing
        self.record_mode = parse_record_mode(record_mode)
        self.timing = parse_timing(timing)
        make_timing(self.timing, speed)  # validates speed now, not at first request
        self.speed = speed
        self.allow_playback_repeats = bool(allow_playback_repeats)
        self.match_on = normalize_match_on(match_on)
        self.record_on_failure = bool(record_on_failure)
        self.record_hint = record_hint
        self.strict = bool(strict)
        self.expiry = ExpiryPolicy.make(max_age, expiry)
        self.faults: tuple[Fault, ...] = tuple(FaultInjector(faults).faults)  # validated now
        self.scrubber = scrubber if scrubber is not None else Scrubber()
        self.network = network if network is not None else NetworkPolicy()
        self.as_api = _parse_as_api(as_api)  # validated now, not at first request
        self._active: list[ActiveCassette] = []

    def open(self) -> ActiveCassette:
        """Activate a new :class:`ActiveCassette` (what ``__enter__`` does)."""
        check_path(self.path)  # before any request: a path that cannot be saved loses recordings
        plan = plan_open(self.path, self.record_mode, self.expiry, self.record_hint, self.synthetic_timing)
        active = ActiveCassette(
            self.path,
            record_mode=plan.record_mode,
            timing=make_timing(self._effective_timing(plan.record_mode), self.speed),
            match_on=self.match_on,
            allow_playback_repeats=self.allow_playback_repeats,
            record_on_failure=self.record_on_failure,
            record_hint=self.record_hint,
            synthetic_timing=self.synthetic_timing,
            loaded=plan.loaded,
            faults=self.faults,
            scrubber=self.scrubber,
            network=self.network,
            as_api=self.as_api,
        )
        push_interceptor(active)
        try:
            active.activate()
        except BaseException:
            pop_interceptor(active)
            raise
        try:
            after_open(active, plan, self.strict)
        except BaseException:
            # A listener refused the open: undo it whole, or the clock and patches would outlive it.
            try:
                pop_interceptor(active)
            finally:
                active.deactivate(failed=True)
            raise
        self._active.append(active)
        return active

    def _effective_timing(self, mode: RecordMode) -> Timing:
        # Recording always runs on the real clock: when nothing can be replayed there is no
        # reason to freeze the application's clock.
        if not mode.replays(existed=self.path.exists()):
            return Timing.INSTANT
        return self.timing

    def close(self, *, failed: bool = False, check_faults: bool = True) -> None:
        """Deactivate the most recent :meth:`open`; ``failed`` suppresses saving new recordings.

        Unless the block failed (or ``check_faults`` is false), a fault that changed no
        response raises :class:`~replay.faults.FaultNotApplied`: such a test tests nothing.
        """
        active = self._active.pop()
        try:
            pop_interceptor(active)
        finally:
            active.deactivate(failed=failed)
        after_close(active, failed)
        if check_faults and not failed:
            error = active.faults.not_applied_error(self.path)
            if error is not None:
                raise error

    def __enter__(self) -> ActiveCassette:
        return self.open()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close(failed=exc_type is not None)

    async def __aenter__(self) -> ActiveCassette:
        return self.__enter__()

    async def __aexit__(self, *exc_info: Any) -> None:
        self.__exit__(*exc_info)

    def __call__(self, func: F) -> F:
        if inspect.iscoroutinefunction(func):

            @functools.wraps(func)
            async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
                async with self:
                    return await func(*args, **kwargs)

            return cast(F, async_wrapper)

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with self:
                return func(*args, **kwargs)

        return cast(F, wrapper)


def use_cassette(
    path: str | os.PathLike[str],
    *,
    record_mode: RecordMode | str = "none",
    timing: Timing | str = "virtual",
    speed: float = 1.0,
    allow_playback_repeats: bool = False,
    match_on: Iterable[str] | None = None,
    record_on_failure: bool = False,
    record_hint: str | None = None,
    synthetic_timing: SyntheticTiming | None = None,
    strict: bool = False,
    max_age: str | float | timedelta | None = None,
    expiry: str = "warn",
    faults: Iterable[Fault] = (),
    # safety: secrets and network (replay.scrub, replay.transport.netguard)
    filter_headers: Iterable[str | tuple[str, str | None]] | None = None,
    filter_query: Iterable[str | tuple[str, str | None]] | None = None,
    filter_body_fields: Iterable[str | tuple[str, str]] | None = None,
    before_record_request: Callable[[Request], Request] | None = None,
    before_record_response: Callable[[Response], Response] | None = None,
    allow_secrets: bool = False,
    block_network: bool = False,
    allowed_hosts: Iterable[str] | str | None = None,
    # provider translation (replay.chat): answer calls in these APIs from recordings in another
    as_api: str | Iterable[str] | None = None,
) -> CassetteContext:
    """Record or replay every HTTP request (httpx2/httpx, requests/urllib3, aiohttp) made inside the
    block or decorated function.

    ``record_mode`` is one of ``none`` (replay only; the default), ``once``, ``new_episodes``,
    ``all`` or ``rewrite``; ``timing`` one of ``virtual`` (default), ``real`` or ``instant``;
    ``speed`` divides recorded offsets (2.0 replays twice as fast). Requests match on
    ``match_on`` (default method, URL and body). If the block raises, new recordings are not
    saved unless ``record_on_failure`` is true. ``record_hint`` is the command a miss error
    tells the user to run; ``{mode}`` in it stands for the record mode that fixes that miss.
    A vcrpy cassette (detected automatically) has no timing: ``synthetic_timing`` (a
    :class:`replay.vcr.format.SyntheticTiming`) schedules its bodies.

    Hygiene: with ``strict=True`` a block that ends normally raises
    :class:`~replay.hygiene.usage.UnusedInteractionsError` if a recorded interaction was never played.
    ``max_age`` (``"30d"``, ``"12h"``, seconds) bounds the age of the oldest interaction; past it,
    ``expiry`` decides: ``"warn"`` (a :class:`~replay.hygiene.expiry.CassetteExpiredWarning`), ``"fail"``
    (:class:`~replay.hygiene.expiry.CassetteExpiredError`) or ``"record"`` (re-record, as ``rewrite``).
    After a re-recording, ``cassette.changes`` summarises what changed.
    saved unless ``record_on_failure`` is true. ``faults`` (see :mod:`replay.faults`) rewrite
    the replayed responses, never the file; one that changes no response is an error at exit.

    Secrets are scrubbed before anything is written (credential headers, keys in URLs, key-shaped
    values in requests; see :mod:`replay.scrub`); ``filter_headers``, ``filter_query``,
    ``filter_body_fields`` and the ``before_record_request``/``before_record_response`` hooks add
    rules, and the same scrubbing applies to both sides of matching. A write that would still
    contain a key is refused unless ``allow_secrets`` is true. ``block_network`` refuses any
    connection not made through httpx2/httpx while the cassette is active (``allowed_hosts``
    lists exceptions; ``"localhost"`` admits loopback).

    ``as_api`` (an API name such as ``"anthropic-messages"``, or several) answers chat calls made
    in those APIs from recordings made in another one: requests match on their conversation and
    tools as data, and the answer is the recording translated into the caller's wire format
    with the recorded timing (see :func:`replay.translate`).

    Example usage::

        with replay.use_cassette("cassettes/chat.yaml", record_mode="once") as cassette:
            client = openai.OpenAI()
            for chunk in client.chat.completions.create(model="gpt-4o-mini", messages=msgs, stream=True):
                ...
    """
    return CassetteContext(
        path,
        record_mode=record_mode,
        timing=timing,
        speed=speed,
        allow_playback_repeats=allow_playback_repeats,
        match_on=match_on,
        record_on_failure=record_on_failure,
        record_hint=record_hint,
        synthetic_timing=synthetic_timing,
        strict=strict,
        max_age=max_age,
        expiry=expiry,
        faults=faults,
        scrubber=Scrubber.build(
            filter_headers=filter_headers,
            filter_query=filter_query,
            filter_body_fields=filter_body_fields,
            before_record_request=before_record_request,
            before_record_response=before_record_response,
            allow_secrets=allow_secrets,
        ),
        network=NetworkPolicy.build(block_network, allowed_hosts),
        as_api=as_api,
    )


def _parse_as_api(value: str | Iterable[str] | None) -> tuple[str, ...]:
    if value is None:
        return ()
    # The chat models and codecs load only for a cassette that translates (~0.2 s of imports).
    from ..chat.as_api import parse_as_api

    return parse_as_api(value)
