"""Threads the application starts take part in the timeline from the moment they are started.

Without this, a worker that has been started but has not yet sent its request is invisible to
the timeline: the threads already streaming would see "everyone is blocked" and the clock would
jump past the newcomer's send time, serialising what ran concurrently live. So, while a virtual
timeline is active and the caller already takes part in it (the thread that opened the cassette,
a thread that read a replayed response, or one started this way):

- ``threading.Thread.start`` gives the new thread a hold from ``start()`` until its ``run()``
  returns;
- ``ThreadPoolExecutor.submit`` gives the work item a hold from submission until the call
  returns (pool workers themselves live on, idle, between items: they hold nothing then).

A thread started by a thread that takes no part (a server's accept loop started before the
cassette) holds nothing: its requests' handlers do not slow the clock down.

A thread that takes part and blocks on another thread is *parked* (not waited for) for as long
as it blocks: ``Thread.join`` and ``Condition.wait`` (which ``Event.wait``, ``Queue.get``,
``Future.result``, ``Executor.map`` and ``concurrent.futures.wait`` use) are patched for that.
The thread that opened the cassette fanning work out and joining it is the common case.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import thread as _pool_thread
from typing import Any

from .timeline import Hold, Member, Timeline

__all__ = ["ThreadDriver"]


class ThreadDriver:
    """Patches ``Thread.start`` and ``ThreadPoolExecutor.submit`` while a timeline is active."""

    def __init__(self, timeline: Timeline) -> None:
        self.timeline = timeline
        self._saved: list[tuple[type, str, Any]] = []
        # id(condition or thread) -> members parked on it, in the order they started waiting
        self._parked_on: dict[int, list[Member]] = {}
        self._lock = threading.Lock()

    def start(self) -> None:
        self._patch_parking()
        self._patch_starts()

    def _parked(self, key: int, block: Callable[[], Any]) -> Any:
        """Run ``block`` (a real wait on the object ``key``) with the calling thread parked."""
        member = self.timeline.park()
        if member is None:
            return block()
        with self._lock:
            self._parked_on.setdefault(key, []).append(member)
        try:
            return block()
        finally:
            self._forget(key, member)
            self.timeline.unpark(member)

    def _patch_parking(self) -> None:
        join = threading.Thread.join
        wait = threading.Condition.wait
        notify = threading.Condition.notify
        parked_on = self._parked_on

        def parked_join(thread: threading.Thread, timeout: float | None = None) -> None:
            self._parked(id(thread), lambda: join(thread, timeout))

        def parked_wait(condition: threading.Condition, timeout: float | None = None) -> bool:
            return bool(self._parked(id(condition), lambda: wait(condition, timeout)))

        def waking_notify(condition: threading.Condition, n: int = 1) -> None:
            # The waiters this wakes run from now on: unpark them before they get the chance
            # (``notify_all`` calls ``notify``, so it is covered too).
            if id(condition) in parked_on:
                self._wake(id(condition), n)
            notify(condition, n)

        self._replace(threading.Thread, "join", parked_join)
        self._replace(threading.Condition, "wait", parked_wait)
        self._replace(threading.Condition, "notify", waking_notify)

    def _patch_starts(self) -> None:
        timeline = self.timeline
        start = threading.Thread.start
        submit = ThreadPoolExecutor.submit

        def thread_start(thread: threading.Thread) -> None:
            target = getattr(thread, "_target", None)
            if target is _pool_thread._worker or not timeline.is_member(threading.get_ident()):
                return start(thread)
            hold = timeline.hold(detached=True)
            run = thread.run

            def run_holding() -> None:
                hold.to_current_thread()
                try:
                    run()
                finally:
                    self._wake(id(thread), None)  # whoever joins it runs from now on
                    hold.release()

            thread.run = run_holding  # type: ignore[method-assign]
            try:
                start(thread)
            except BaseException:
                hold.release()
                raise
            return None

        def pool_submit(
            pool: ThreadPoolExecutor, fn: Callable[..., Any], /, *args: Any, **kwargs: Any
        ) -> Future[Any]:
            if not timeline.is_member(threading.get_ident()):
                return submit(pool, fn, *args, **kwargs)
            hold = timeline.hold(detached=True)
            try:
                future = submit(pool, _holding, hold, fn, *args, **kwargs)
            except BaseException:
                hold.release()
                raise
            # Released once the result is set (after set_result has woken whoever waits on it),
            # not when fn returns: else the clock could move on in between.
            future.add_done_callback(lambda _: hold.release())
            return future

        thread_start.__wrapped__ = start  # type: ignore[attr-defined]
        pool_submit.__wrapped__ = submit  # type: ignore[attr-defined]
        self._replace(threading.Thread, "start", thread_start)
        self._replace(ThreadPoolExecutor, "submit", pool_submit)

    def _wake(self, key: int, n: int | None) -> None:
        with self._lock:
            members = self._parked_on.get(key, [])
            woken = members[:] if n is None else members[:n]
            del members[: len(woken)]
        for member in woken:
            self.timeline.unpark(member)

    def _forget(self, key: int, member: Member) -> None:
        with self._lock:
            members = self._parked_on.get(key)
            if members is not None:
                if member in members:
                    members.remove(member)
                if not members:
                    del self._parked_on[key]

    def stop(self) -> None:
        for owner, name, original in reversed(self._saved):
            setattr(owner, name, original)
        self._saved.clear()

    def _replace(self, owner: type, name: str, value: Any) -> None:
        self._saved.append((owner, name, owner.__dict__[name]))
        setattr(owner, name, value)


def _holding(hold: Hold, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
    hold.to_current_thread()
    return fn(*args, **kwargs)
