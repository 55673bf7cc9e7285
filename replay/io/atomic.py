"""Atomic file replacement: the old file or the new one, never half of one.

Imports nothing of the cassette model, so any layer may write through it.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from pathlib import Path

from ..errors import CassetteWriteError

__all__ = ["temp_writer_pid", "write_atomic"]


def temp_writer_pid(tmp: Path, path: Path) -> int | None:
    """The id of the process that created ``tmp``, a temporary file of a write of ``path``.

    :func:`write_atomic` names its temporary file ``.<name>.<pid>-<random>.tmp``, so that a file
    left by a killed writer can be told from one being written. ``None`` for other names (those
    of older versions).
    """
    found = re.fullmatch(rf"\.{re.escape(path.name)}\.(\d+)-[^./]*\.tmp", tmp.name)
    return int(found.group(1)) if found else None


def write_atomic(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` via a temporary file in the same folder, fsync and rename."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.{os.getpid()}-", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise CassetteWriteError(f"Cannot write cassette {path}: {exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        if path.exists():
            with contextlib.suppress(OSError):
                os.chmod(tmp, path.stat().st_mode & 0o777)
        else:
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(exc, OSError):
            raise CassetteWriteError(f"Cannot write cassette {path}: {exc.strerror or exc}") from None
        raise
    with contextlib.suppress(OSError):
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
