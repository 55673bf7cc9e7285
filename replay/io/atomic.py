"""Atomic file replacement: the old file or the new one, never half of one.

Imports nothing of the cassette model, so any layer may write through it.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import stat
import tempfile
from pathlib import Path

from ..errors import CassetteWriteError
from ..limits import MAX_NAME_BYTES

__all__ = ["check_path", "read_regular", "temp_stem", "temp_writer_pid", "write_atomic", "write_target"]

# ".<stem>.<pid>-<8 random>.tmp": the pid (up to 10 digits) and the rest take at most 30 bytes.
_TEMP_OVERHEAD = 32


def temp_stem(path: Path) -> str:
    """The part of ``path``'s temporary file names that comes from its own name.

    The name itself when the temporary name then fits in a file name (NAME_MAX); for a long
    name (a long pytest id), its start and a hash of the whole, so a legal name can be saved.
    """
    name = path.name
    if len(os.fsencode(name)) + _TEMP_OVERHEAD <= MAX_NAME_BYTES:
        return name
    digest = hashlib.sha256(os.fsencode(name)).hexdigest()[:16]
    return f"{os.fsencode(name)[:64].decode('utf-8', 'ignore')}~{digest}"


def temp_writer_pid(tmp: Path, path: Path) -> int | None:
    """The id of the process that created ``tmp``, a temporary file of a write of ``path``.

    :func:`write_atomic` names its temporary file ``.<stem>.<pid>-<random>.tmp`` (see
    :func:`temp_stem`), so that a file left by a killed writer can be told from one being
    written. ``None`` for other names (those of older versions).
    """
    found = re.fullmatch(rf"\.{re.escape(temp_stem(path))}\.(\d+)-[^./]*\.tmp", tmp.name)
    return int(found.group(1)) if found else None


def check_path(path: Path) -> None:
    """Refuse a cassette path that could never be read or saved, before anything is recorded.

    A NUL byte, a name longer than a file system accepts, or something other than a regular
    file (a folder, a FIFO, a device such as ``/dev/full``) there.
    """
    text = os.fspath(path)
    fix = "Choose a plain file name (letters, digits, '-', '_', '.') under an existing folder."
    if "\x00" in text:
        raise CassetteWriteError(f"Cassette path {text!r} contains a NUL byte. {fix}")
    for part in path.parts:
        if len(os.fsencode(part)) > MAX_NAME_BYTES:
            raise CassetteWriteError(
                f"Cassette path {text!r}: the name {part[:40]!r}... is {len(os.fsencode(part))} bytes, "
                f"longer than a file system accepts ({MAX_NAME_BYTES}). {fix}"
            )
    try:
        mode = path.stat().st_mode
    except OSError:
        return  # absent (created on save), or unreadable: the load or the save says why
    if not stat.S_ISREG(mode):
        raise CassetteWriteError(f"Cassette path {text} is {_kind(mode)}, not a regular file. {fix}")


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def read_regular(path: Path, limit: int) -> bytes:
    """The bytes of ``path`` if it is a regular file of at most ``limit`` bytes.

    Opened without blocking (a FIFO would wait for a writer forever) and checked on the open
    descriptor (a device such as ``/dev/full`` reads forever). Raises :class:`OSError`
    (``FileNotFoundError`` when absent) or :class:`ValueError` saying what the path is.
    """
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise ValueError(f"it is {_kind(info.st_mode)}, not a regular file")
        if info.st_size > limit:
            raise ValueError(f"it is {info.st_size} bytes, more than the limit of {limit}")
        pieces: list[bytes] = []
        left = limit + 1  # one byte past the limit proves a file that grew while read
        while left > 0 and (piece := os.read(fd, min(left, 1 << 24))):
            pieces.append(piece)
            left -= len(piece)
        data = b"".join(pieces)
        if len(data) > limit:
            raise ValueError(f"it is more than the limit of {limit} bytes")
        return data
    finally:
        os.close(fd)


def write_target(path: Path) -> Path:
    """The file a write of ``path`` replaces: a symlink's target (the link stays, shared cassettes
    do not fork), else ``path`` itself."""
    if path.is_symlink():
        return Path(os.path.realpath(path))
    return path


def write_atomic(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` via a temporary file in the same folder, fsync and rename.

    A symlink is followed: its target is replaced and the link kept.
    """
    path = write_target(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        prefix = f".{temp_stem(path)}.{os.getpid()}-"
        fd, tmp = tempfile.mkstemp(prefix=prefix, suffix=".tmp", dir=path.parent)
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
