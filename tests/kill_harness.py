"""Kill a recording process at random points and check the cassette after each kill.

The child (:func:`record_forever`) records into one cassette in a loop until it is stopped.

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

import json
import os
import random
import signal
import time
from pathlib import Path
from typing import Any

__all__ = ["IN_SAVE", "IN_WRITE", "kill_iterations", "payload", "record_forever", "temp_files"]

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
    from replay.engine import player
    from replay.io import storage

    # A forkserver child inherits an ignored SIGINT; the SIGINT iterations need Python's default.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    phase.value = 0  # ready: a SIGINT from now on raises KeyboardInterrupt
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


# -- the parent side ----------------------------------------------------------------------------


def temp_files(path: Path) -> list[Path]:
    """Temporary files of an atomic write of ``path`` (left behind only by a killed writer)."""
    return sorted(path.parent.glob(f".{path.name}.*.tmp"))


def kill_iterations(
    ctx: Any, server: Any, path: Path, plan: list[tuple[str, str]], seed: int
) -> dict[str, int]:
    """Start a recorder per step, stop it with a signal, and check the file every time.

    A step is (signal, when): ``kill`` (SIGKILL) or ``int`` (SIGINT: KeyboardInterrupt), at a
    ``random`` moment (0-350 ms after start: opening, recording, merging, writing) or during
    the ``write`` itself (the parent spins until the child is inside ``write_atomic``, then
    waits 0-0.5 ms).
    """
    import replay

    url = server.base_url + "/v1/chat/completions"
    rng = random.Random(seed)
    stats = {"steps": 0, "in_save": 0, "in_write": 0, "temp_left": 0, "saves": 0, "resets": 0}
    count = 0  # interactions in the file, as last verified
    for how, when in plan:
        if count >= 8:  # keep the file (and each write) a bounded size
            path.unlink()
            count = 0
            stats["resets"] += 1
        temps_before = set(temp_files(path))
        saved, phase = ctx.Value("i", 0), ctx.Value("i", -1)
        proc = ctx.Process(target=record_forever, args=(str(path), url, count, saved, phase), daemon=True)
        proc.start()
        deadline = time.monotonic() + 10
        while phase.value == -1 and time.monotonic() < deadline:
            time.sleep(0.0005)
        if when == "write":
            deadline = time.monotonic() + 10
            while phase.value != IN_WRITE and time.monotonic() < deadline:
                pass
            # Reaching the write means the lock was free: no earlier kill left a stale lock.
            assert phase.value == IN_WRITE, "the recorder never reached the write"
            time.sleep(rng.uniform(0.0, 0.0005))
        else:
            time.sleep(rng.uniform(0.0, 0.35))
        os.kill(proc.pid, signal.SIGKILL if how == "kill" else signal.SIGINT)
        proc.join(20)
        if proc.exitcode is None:
            proc.kill()
            raise AssertionError(f"the recorder did not stop on {how} ({when})")
        stats["steps"] += 1
        confirmed = saved.value
        stats["saves"] += confirmed
        stats["in_save"] += phase.value >= IN_SAVE
        stats["in_write"] += phase.value == IN_WRITE
        stats["temp_left"] += bool(set(temp_files(path)) - temps_before)
        # The file is the old cassette or the new one: it loads, and holds exactly the
        # interactions of the saves that completed (plus possibly the one whose rename
        # happened just before the signal), each intact.
        found = replay.load_cassette(path).interactions if path.exists() else []
        assert len(found) in (count + confirmed, count + confirmed + 1), (
            how,
            when,
            count,
            confirmed,
            len(found),
        )
        for k in range(count, len(found)):
            assert json.loads(found[k].request.body) == payload(k)
            assert found[k].response.status == 200 and found[k].response.body
        count = len(found)
    return stats
