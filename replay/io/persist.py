"""Saving a recording session into a cassette file that other processes may be writing too.

pytest-xdist runs tests in several processes, and two of them may record into the same
cassette. Each save takes an exclusive lock on that cassette (``filelock``: ``flock`` on POSIX,
released by the kernel if the process dies, so a killed worker never leaves a stale lock),
re-reads the file as it is *now*, merges this session's new interactions into it, checks for
secrets, and writes atomically (:func:`replay.io.storage.write_atomic`). A worker saving
``new_episodes`` therefore keeps what another worker wrote meanwhile instead of overwriting it.

Lock files live in the system temp folder (one per cassette, named by a hash of its resolved
path), not beside the cassettes, so they never show up in ``git status``.
"""

from __future__ import annotations

import atexit
import contextlib
import glob
import hashlib
import os
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import CassetteFormatError, CassetteWriteError
from ..model.cassette import Cassette, Interaction
from ..scrub import Scrubber
from .atomic import temp_stem, temp_writer_pid, write_target
from .storage import load_cassette, save_cassette

if TYPE_CHECKING:
    from filelock import FileLock

__all__ = ["LOCK_TIMEOUT", "cassette_lock", "interaction_key", "lock_path", "save_session"]

LOCK_TIMEOUT = 120.0  # seconds; far beyond any real write, short enough to surface a hung writer
_STALE_TEMP_AGE = 60.0  # a temporary file this old belongs to a writer that died


# One FileLock object per lock file, kept for the life of the process. A FileLock left to the
# garbage collector releases itself in __del__, and a Ctrl-C that lands inside a finalizer is
# swallowed by Python ("Exception ignored in ..."): the interrupted program would carry on.
# filelock (~14 ms to import) loads with the first save: a session that only replays never does.
_LOCKS: dict[Path, FileLock] = {}
_LOCKS_GUARD = threading.Lock()


@atexit.register
def _drop_locks() -> None:
    # Dropped before the interpreter tears modules down: a FileLock finalized later finds
    # filelock's own globals already cleared (os is None) and Python prints one
    # "Exception ignored in BaseFileLock.__del__" traceback per lock at exit.
    with _LOCKS_GUARD:
        _LOCKS.clear()


def _file_lock(where: Path) -> FileLock:
    from filelock import FileLock

    with _LOCKS_GUARD:
        lock = _LOCKS.get(where)
        if lock is None:
            lock = _LOCKS[where] = FileLock(where)
        return lock


def lock_path(path: Path) -> Path:
    """The lock file guarding ``path``: in a per-user folder under the system temp folder."""
    digest = hashlib.sha256(str(path.resolve()).encode("utf-8", "surrogateescape")).hexdigest()[:32]
    user = os.getuid() if hasattr(os, "getuid") else os.environ.get("USERNAME", "user")
    folder = Path(tempfile.gettempdir()) / f"llm-replay-locks-{user}"
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    return folder / f"{digest}.lock"


@contextlib.contextmanager
def cassette_lock(path: Path, timeout: float = LOCK_TIMEOUT) -> Iterator[None]:
    """Hold the exclusive write lock of cassette ``path`` (across processes and threads).

    Example usage::

        with cassette_lock(Path("cassettes/chat.yaml")):
            ...  # read, merge and write the file; no other llm-replay writer runs meanwhile
    """
    try:
        where = lock_path(path)
    except OSError as exc:
        raise CassetteWriteError(
            f"Cannot create the lock for cassette {path}: {exc.strerror or exc}"
        ) from None
    lock = _file_lock(where)
    from filelock import Timeout

    try:
        # A short poll: threads of one process saving the same cassette queue on this lock,
        # and filelock's default (50 ms) would add that much to each save in the queue.
        lock.acquire(timeout=timeout, poll_interval=0.002)
    except Timeout:
        raise CassetteWriteError(
            f"Timed out after {timeout:g}s waiting to write cassette {path}: another process holds its "
            f"lock ({where}). If no test run is writing it, that process is hung; stop it and re-run."
        ) from None
    try:
        yield
    finally:
        lock.release()


def interaction_key(interaction: Interaction) -> tuple[Any, ...]:
    """Identity of a recorded interaction (to tell which ones another process added)."""
    request, response = interaction.request, interaction.response
    return (
        request.method,
        request.url,
        request.body,
        response.status,
        tuple((c.t, c.data) for c in response.chunks),
        interaction.recorded_at,
    )


def save_session(
    path: Path,
    new: Sequence[Interaction],
    *,
    scrubber: Scrubber,
    rewrite: bool = False,
    baseline: Sequence[Interaction] | None = None,
) -> Cassette:
    """Merge ``new`` into cassette ``path`` as it is now, under its lock; returns what was written.

    Without ``rewrite``: the file's current interactions, then ``new`` (nothing another process
    appended is lost). With ``rewrite`` (record mode ``rewrite``): the interactions in
    ``baseline`` (the file when this session opened it; ``None`` if it was unreadable, meaning
    drop everything) are dropped, interactions other processes added since are kept, then
    ``new``. Every interaction is scrubbed, and :meth:`Scrubber.check` refuses the write if a
    secret would remain. On any error the file is left as it was.
    """
    with cassette_lock(path):
        # Before this save's own temporary file exists: a writer killed inside the write then
        # leaves only its own file behind, and the next save removes it.
        _remove_stale_temps(path)
        current: list[Interaction] = []
        if path.exists():
            try:
                current = load_cassette(path).interactions
            except CassetteFormatError as exc:
                if not rewrite:
                    raise CassetteFormatError(
                        f"{exc}\nThe new recordings were not saved, to leave the file for you to fix: "
                        "repair or delete it and record again (record_mode='rewrite' replaces it)."
                    ) from None
        if rewrite:
            dropped = Counter(interaction_key(i) for i in (current if baseline is None else baseline))
            keep = []
            for interaction in current:
                key = interaction_key(interaction)
                if dropped[key] > 0:
                    dropped[key] -= 1
                else:
                    keep.append(interaction)
        else:
            keep = current
        out = Cassette(interactions=[*(scrubber.scrub_interaction(i) for i in keep), *new])
        scrubber.check(out, path)
        save_cassette(out, path)
    return out


def _process_gone(pid: int) -> bool:
    if os.name == "nt":  # os.kill(pid, 0) would terminate the process there
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:
        return False  # it exists (owned by another user)
    return False


def _remove_stale_temps(path: Path) -> None:
    """Delete temporary files that killed writers of this cassette left behind (lock held).

    A writer that holds the lock cannot be mid-write now, but one that bypasses it
    (``Cassette.save``) may be: a file is removed only if the process named in it no longer
    exists, or (names without a process id, or a process id reused) if it is old.
    """
    now = time.time()
    path = write_target(path)
    with contextlib.suppress(OSError):
        for tmp in path.parent.glob(f".{glob.escape(temp_stem(path))}.*.tmp"):
            with contextlib.suppress(OSError):
                pid = temp_writer_pid(tmp, path)
                if (pid is not None and _process_gone(pid)) or now - tmp.stat().st_mtime > _STALE_TEMP_AGE:
                    tmp.unlink()
