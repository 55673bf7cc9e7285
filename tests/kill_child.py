"""A recording process to kill: it records into one cassette in a loop until it is stopped.

Run in a forkserver child (preloaded imports make each start cheap). Where the process was
when it died is read from ``phase``: the child wraps the library's save and write functions
to set it (instrumentation only; the code that runs is the library's own). Each loop opens the
cassette in ``new_episodes`` mode, sends one chat request through httpx2 to the local server
(a large request body, so that writing the cassette takes a while), and saves on exit. After
each save returns it increments ``saved``, so the parent knows how many saves had completed
when it killed the process. Request ``k`` of the file carries ``model=f"m{k}"`` and a body
derived from ``k``, so the parent can verify every interaction byte for byte.
"""

from __future__ import annotations

import os
import signal
from typing import Any

__all__ = ["IN_SAVE", "IN_WRITE", "payload", "record_forever"]

BODY_CHARS = 150_000
IN_SAVE = 1  # phase values: inside save_session (lock held: re-read, merge, check, dump, write)
IN_WRITE = 2  # inside write_atomic (the temporary file exists)


def _instrument(module: Any, name: str, phase: Any, value: int) -> None:
    """Record in ``phase`` when the process is inside ``module.name`` (read after the kill)."""
    original = getattr(module, name)

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        before = phase.value
        phase.value = value
        try:
            return original(*args, **kwargs)
        finally:
            phase.value = before

    setattr(module, name, wrapper)


def payload(k: int) -> dict[str, Any]:
    """The request body of the file's k-th interaction."""
    text = (f"interaction {k} " * (BODY_CHARS // 14))[:BODY_CHARS]
    return {"model": f"m{k}", "messages": [{"role": "user", "content": text}]}


def record_forever(path: str, url: str, start: int, saved: Any, phase: Any) -> None:
    import httpx2

    import replay
    from replay import player, storage

    # A forkserver child inherits an ignored SIGINT; the SIGINT iterations need Python's default.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    _instrument(player, "save_session", phase, IN_SAVE)
    _instrument(storage, "write_atomic", phase, IN_WRITE)
    k = start
    try:
        with httpx2.Client() as client:
            while True:
                with replay.use_cassette(path, record_mode="new_episodes", timing="instant"):
                    response = client.post(url, json=payload(k))
                    response.read()
                k += 1
                with saved.get_lock():
                    saved.value += 1
    except KeyboardInterrupt:
        # Every `finally` and `__exit__` on the way out has run, as for any interrupted
        # program; exit without the traceback (it would only clutter the test output).
        os._exit(130)
