"""Kill a recording process at chosen and random points and check the cassette after each kill.

The child (:func:`record_forever`) records into one cassette in a loop until it is stopped.

Run in a forkserver child (preloaded imports make each start cheap). Each loop opens the
cassette in ``new_episodes`` mode, sends one chat request through httpx2 to the local server
(a request body of 20 kB), and saves on exit. After
each save returns it increments ``saved``, so the parent knows how many saves had completed
when it killed the process. Request ``k`` of the file carries ``model=f"m{k}"`` and a body
derived from ``k``, so the parent can verify every interaction byte for byte.

Where the process dies is driven, not hoped for: for a step "inside the write" the child parks
itself at one point of the library's atomic write (:data:`STOP_POINTS`: half of the temporary
file written, the temporary file complete and fsynced but not renamed, or just renamed) and
says so in ``phase``; the parent waits for that and only then sends the signal. The hooks wrap
``os`` functions in the child only; the code that runs is the library's own.
"""

from __future__ import annotations

import json
import os
import random
import signal
import time
from pathlib import Path
from typing import Any

__all__ = [
    "IN_SAVE",
    "IN_WRITE",
    "PARKED",
    "STOP_POINTS",
    "kill_iterations",
    "payload",
    "record_forever",
    "temp_files",
]

BODY_CHARS = 20_000
IN_SAVE = 1  # phase values: inside save_session (lock held: re-read, merge, check, dump, write)
IN_WRITE = 2  # inside write_atomic (the temporary file exists)
PARKED = 3  # parked at the requested stop point, waiting for the signal
# partial: half the data is in the temporary file; fsynced: all of it, not yet renamed;
# replaced: renamed over the cassette, the save not yet returned.
STOP_POINTS = ("partial", "fsynced", "replaced")


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


def _park(phase: Any) -> None:
    phase.value = PARKED
    while True:  # until the parent's signal (SIGINT raises KeyboardInterrupt here)
        time.sleep(0.01)


def _stop_inside_write(stop: str, after_saves: int, saved: Any, phase: Any) -> None:
    """Park the process at ``stop`` in the write of save number ``after_saves`` (0-based)."""

    def armed() -> bool:
        return phase.value == IN_WRITE and saved.value >= after_saves

    if stop == "partial":
        real_fdopen = os.fdopen

        class Half:
            def __init__(self, f: Any) -> None:
                self._f = f

            def __enter__(self) -> Any:
                return self

            def __exit__(self, *exc: Any) -> None:
                self._f.close()

            def write(self, data: bytes) -> int:
                self._f.write(data[: len(data) // 2])
                self._f.flush()
                _park(phase)
                return 0

            def __getattr__(self, name: str) -> Any:
                return getattr(self._f, name)

        def fdopen(fd: int, *args: Any, **kwargs: Any) -> Any:
            f = real_fdopen(fd, *args, **kwargs)
            return Half(f) if armed() else f

        os.fdopen = fdopen
    else:
        real_replace = os.replace

        def replace(src: Any, dst: Any, **kwargs: Any) -> None:
            stopping = armed()
            if stopping and stop == "fsynced":
                _park(phase)
            real_replace(src, dst, **kwargs)
            if stopping:
                _park(phase)

        os.replace = replace  # type: ignore[assignment]


def payload(k: int) -> dict[str, Any]:
    """The request body of the file's k-th interaction."""
    text = (f"interaction {k} " * (BODY_CHARS // 14))[:BODY_CHARS]
    return {"model": f"m{k}", "messages": [{"role": "user", "content": text}]}


def record_forever(
    path: str,
    url: str,
    start: int,
    saved: Any,
    phase: Any,
    stop: str | None = None,
    after_saves: int = 0,
    stderr: str | None = None,
) -> None:
    import httpx2

    import replay
    from replay.engine import player
    from replay.io import storage

    if stderr is not None:  # for the parent to read what Python reported
        os.dup2(os.open(stderr, os.O_WRONLY | os.O_CREAT | os.O_TRUNC), 2)
    # A forkserver child inherits an ignored SIGINT; the SIGINT iterations need Python's default.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    phase.value = 0  # ready: a SIGINT from now on raises KeyboardInterrupt
    _instrument(player, "save_session", phase, IN_SAVE)
    _instrument(storage, "write_atomic", phase, IN_WRITE)
    if stop is not None:
        _stop_inside_write(stop, after_saves, saved, phase)
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


def _wait_for(condition: Any, what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting until {what}")
        time.sleep(0.0005)


def _check_file(path: Path, count: int, expected: set[int]) -> int:
    """The file is an intact cassette holding ``count + n`` interactions for an ``n`` in
    ``expected`` (the old file or the new one, never half of one); returns how many."""
    import replay

    found = replay.load_cassette(path).interactions if path.exists() else []
    assert len(found) - count in expected, (count, expected, len(found))
    for k in range(count, len(found)):
        assert json.loads(found[k].request.body) == payload(k)
        assert found[k].response.status == 200 and found[k].response.body
    return len(found)


def _check_step(path: Path, pid: int, how: str, stop: str | None, count: int, stats: dict[str, int]) -> int:
    """After a step: the file and the temporary files are as they must be; the new count."""
    from replay.io.atomic import temp_writer_pid

    temps = temp_files(path)
    stats["max_temps"] = max(stats["max_temps"], len(temps))
    stats["temp_left"] += bool(temps)
    if stop is None:
        assert len(temps) <= 1, temps
        return _check_file(path, count, {0, 1})
    # Parked before the rename: the old file; after it: the new one. A SIGKILL before the
    # rename leaves exactly this writer's temporary file; a SIGINT unwinds and removes it.
    renamed = stop == "replaced"
    if how == "kill" and not renamed:
        assert [temp_writer_pid(f, path) for f in temps] == [pid], temps
    else:
        assert temps == [], temps
    return _check_file(path, count, {int(renamed)})


def _stop(proc: Any, how: str, when: str, stderr: Path, stats: dict[str, int]) -> None:
    """Send the step's signal; a SIGINT that Python swallowed is sent again, as a user would."""
    os.kill(proc.pid, signal.SIGKILL if how == "kill" else signal.SIGINT)
    proc.join(5 if how == "int" else 20)
    if how == "int" and proc.exitcode is None:
        # A KeyboardInterrupt raised inside a finalizer (__del__, a weakref callback) is
        # reported as "Exception ignored in ..." and lost: CPython's rule, not llm-replay's.
        # Anything else that keeps the process running is a bug.
        reported = stderr.read_text(errors="replace")
        if "Exception ignored" in reported and "KeyboardInterrupt" in reported:
            stats["repeated_int"] += 1
            os.kill(proc.pid, signal.SIGINT)
            proc.join(20)
    if proc.exitcode is None:
        proc.kill()
        printed = stderr.read_text(errors="replace")
        raise AssertionError(f"the recorder did not stop on {how} ({when}); it printed:\n{printed}")


def kill_iterations(
    ctx: Any, server: Any, path: Path, plan: list[tuple[str, str]], seed: int
) -> dict[str, int]:
    """Start a recorder per step, stop it with a signal, and check the file every time.

    A step is (signal, when): ``kill`` (SIGKILL) or ``int`` (SIGINT: KeyboardInterrupt), at a
    ``random`` moment (0-350 ms after start: opening, recording, merging, writing) or parked at
    one of :data:`STOP_POINTS` inside the write (of the process's first or second save).
    After every step at most one temporary file is beside the cassette: the one of a writer
    SIGKILLed inside the write (the next save removes it).
    """
    url = server.base_url + "/v1/chat/completions"
    rng = random.Random(seed)
    stderr = path.parent / "recorder.stderr"
    stats = dict.fromkeys(
        ("steps", "repeated_int", "parked", "in_write", "temp_left", "max_temps", "saves", "resets"), 0
    )
    count = 0  # interactions in the file, as last verified
    for how, when in plan:
        if count >= 8:  # keep the file (and each write) a bounded size
            path.unlink()
            count = 0
            stats["resets"] += 1
        saved, phase = ctx.Value("i", 0), ctx.Value("i", -1)
        stop = None if when == "random" else when
        after = rng.randint(0, 1)
        proc = ctx.Process(
            target=record_forever,
            args=(str(path), url, count, saved, phase, stop, after, str(stderr)),
            daemon=True,
        )
        proc.start()
        _wait_for(lambda: phase.value != -1, "the recorder started")  # noqa: B023
        if stop is None:
            time.sleep(rng.uniform(0.0, 0.35))
        else:
            # Reaching the write means the lock was free: no earlier kill left a stale lock.
            _wait_for(lambda: phase.value == PARKED, f"the recorder parked at {stop}")  # noqa: B023
            stats["parked"] += 1
        _stop(proc, how, when, stderr, stats)
        stats["steps"] += 1
        confirmed = saved.value
        stats["saves"] += confirmed
        stats["in_write"] += phase.value in (IN_WRITE, PARKED)  # a SIGINT unwinds it: SIGKILLs only
        count = _check_step(path, proc.pid, how, stop, count + confirmed, stats)
        assert stop is None or confirmed == after, (how, when, confirmed, after)
    return stats
