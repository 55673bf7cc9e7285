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
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import thread as _pool_thread
from typing import Any

from .timeline import Hold, Timeline

__all__ = ["ThreadDriver"]


class ThreadDriver:
    """Patches ``Thread.start`` and ``ThreadPoolExecutor.submit`` while a timeline is active."""

    def __init__(self, timeline: Timeline) -> None:
        self.timeline = timeline
        self._saved: list[tuple[type, str, Any]] = []

    def start(self) -> None:
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
                    hold.release()

            thread.run = run_holding  # type: ignore[method-assign]
            try:
                start(thread)
            except BaseException:
                hold.release()
                raise
            return None

        def pool_submit(pool: ThreadPoolExecutor, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
            if not timeline.is_member(threading.get_ident()):
                return submit(pool, fn, *args, **kwargs)
            hold = timeline.hold(detached=True)
            try:
                return submit(pool, _holding, hold, fn, *args, **kwargs)
            except BaseException:
                hold.release()
                raise

        thread_start.__wrapped__ = start  # type: ignore[attr-defined]
        pool_submit.__wrapped__ = submit  # type: ignore[attr-defined]
        self._replace(threading.Thread, "start", thread_start)
        self._replace(ThreadPoolExecutor, "submit", pool_submit)

    def stop(self) -> None:
        for owner, name, original in reversed(self._saved):
            setattr(owner, name, original)
        self._saved.clear()

    def _replace(self, owner: type, name: str, value: Any) -> None:
        self._saved.append((owner, name, owner.__dict__[name]))
        setattr(owner, name, value)


def _holding(hold: Hold, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
    hold.to_current_thread()
    try:
        return fn(*args, **kwargs)
    finally:
        hold.release()
