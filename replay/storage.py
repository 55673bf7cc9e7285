"""Reading and writing cassette files: YAML text <-> :class:`~replay.cassette.Cassette`.

Writes are atomic (a temporary file in the same folder, fsync, then rename over the target), so
a crash mid-write leaves the previous file intact. Reads check the top-level shape before any
recursive walk and report errors with the file name and the path of the field at fault.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from .cassette import FORMAT, VERSION, Cassette
from .errors import CassetteFormatError, CassetteNotFoundError, CassetteWriteError
from .vcr import DEFAULT_SYNTHETIC_TIMING, SyntheticTiming, is_vcr_data, parse_vcr
from .yamlio import YamlAliasError, dump_data, gc_paused, load_data

__all__ = ["dump_cassette", "load_cassette", "parse_cassette", "save_cassette"]

_HEADER = "# llm-replay cassette: edit with care; `llm-replay inspect FILE` shows a summary.\n"


def _loc(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part.startswith(("function-", "model-")) or "[" in part:
            continue  # pydantic's internal validator names say nothing to a reader
        else:
            out += f".{part}" if out else part
    return out or "(top level)"


def describe_validation_error(exc: ValidationError, limit: int = 5) -> str:
    lines = []
    for err in exc.errors()[:limit]:
        msg = err["msg"].removeprefix("Value error, ")
        loc = tuple(err["loc"])
        # A list validated as a whole (a response's chunks) names the item in its message.
        item = re.match(r"\[(\d+)\]: ", msg)
        if item:
            loc, msg = (*loc, int(item.group(1))), msg[item.end() :]
        lines.append(f"  {_loc(loc)}: {msg}")
    more = exc.error_count() - limit
    if more > 0:
        lines.append(f"  ... and {more} more")
    return "\n".join(lines)


def parse_cassette(
    data: Any, source: str = "<data>", *, synthetic_timing: SyntheticTiming | None = None
) -> Cassette:
    """Validate already-parsed YAML data as a cassette: native, or vcrpy (see :mod:`replay.vcr`).

    ``synthetic_timing`` schedules vcrpy bodies, which were recorded without timing.
    """
    if is_vcr_data(data):
        return parse_vcr(data, source, synthetic_timing=synthetic_timing or DEFAULT_SYNTHETIC_TIMING)
    if not isinstance(data, dict):
        kind = "empty" if data is None else f"a {type(data).__name__}, not a mapping"
        raise CassetteFormatError(
            f"{source}: the file is {kind}; a cassette is a mapping with 'interactions'."
        )
    fmt = data.get("format")
    if fmt != FORMAT:
        raise CassetteFormatError(
            f"{source}: neither an llm-replay cassette (format is {fmt!r}, expected {FORMAT!r}) "
            "nor a vcrpy cassette (a mapping with 'interactions' and 'version: 1')."
        )
    version = data.get("version")
    if version != VERSION:
        raise CassetteFormatError(
            f"{source}: unsupported cassette version {version!r}; this llm-replay reads version "
            f"{VERSION}. Upgrade llm-replay, or re-record the cassette."
        )
    if not isinstance(data.get("interactions", []), list):
        raise CassetteFormatError(f"{source}: 'interactions' must be a list.")
    try:
        with gc_paused():
            return Cassette.model_validate(data)
    except ValidationError as exc:
        raise CassetteFormatError(
            f"{source}: invalid cassette:\n{describe_validation_error(exc)}\n"
            "Fix the field(s) above or re-record the cassette."
        ) from None


def load_cassette(
    path: str | os.PathLike[str], *, synthetic_timing: SyntheticTiming | None = None
) -> Cassette:
    """Load a cassette file (native llm-replay YAML, or a vcrpy YAML/JSON cassette).

    vcrpy bodies have no timing: ``synthetic_timing`` (default
    :data:`replay.vcr.DEFAULT_SYNTHETIC_TIMING`) schedules them, and they are marked synthetic.

    Example usage::

        cassette = replay.load_cassette("cassettes/chat.yaml")
        print(cassette.interactions[0].response.status)
    """
    p = Path(path)
    try:
        raw = p.read_bytes()
    except FileNotFoundError:
        raise CassetteNotFoundError(f"Cassette {p} does not exist.") from None
    except OSError as exc:
        raise CassetteFormatError(f"{p}: cannot read the file: {exc.strerror or exc}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CassetteFormatError(
            f"{p}: not UTF-8 text (byte {exc.start}); a cassette is YAML text."
        ) from None
    with gc_paused():
        # One pause for parsing and validation; the parsed data is dropped before it ends, so
        # the collector later scans only the cassette itself.
        return _parse_text(text, p, synthetic_timing)


def _parse_text(text: str, p: Path, synthetic_timing: SyntheticTiming | None) -> Cassette:
    try:
        data = load_data(text)
    except YamlAliasError as exc:
        raise CassetteFormatError(f"{p}: {exc}; refusing to load it.") from None
    except yaml.YAMLError as exc:
        where = ""
        mark = getattr(exc, "problem_mark", None)
        if mark is not None:
            where = f" at line {mark.line + 1}, column {mark.column + 1}"
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise CassetteFormatError(f"{p}: invalid YAML{where}: {problem}.") from None
    return parse_cassette(data, str(p), synthetic_timing=synthetic_timing)


def dump_cassette(cassette: Cassette) -> str:
    """The YAML text of a cassette."""
    return _HEADER + dump_data(cassette._to_disk())


def save_cassette(cassette: Cassette, path: str | os.PathLike[str]) -> None:
    """Write ``cassette`` to ``path`` atomically: the old file or the new one, never half of one."""
    p = Path(path)
    text = dump_cassette(cassette)
    write_atomic(p, text.encode("utf-8"))


def write_atomic(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` via a temporary file in the same folder, fsync and rename."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
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
