"""Reading and writing cassette files: YAML text <-> :class:`~replay.model.cassette.Cassette`.

Writes are atomic (a temporary file in the same folder, fsync, then rename over the target), so
a crash mid-write leaves the previous file intact. Reads check the top-level shape before any
recursive walk and report errors with the file name and the path of the field at fault.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import yaml
from pydantic import TypeAdapter, ValidationError

from ..errors import CassetteFormatError, CassetteNotFoundError
from ..limits import MAX_FILE_BYTES
from ..model.cassette import FORMAT, VERSION, Cassette, Interaction, dump_cassette
from ..model.yamlio import YamlAliasError, YamlShapeError, gc_paused, load_data, uses_aliases
from ..vcr.format import DEFAULT_SYNTHETIC_TIMING, SyntheticTiming, is_vcr_data, parse_vcr
from .atomic import read_regular, write_atomic

__all__ = ["dump_cassette", "load_cassette", "parse_cassette", "save_cassette", "write_atomic"]


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


def describe_validation_error(
    exc: ValidationError, limit: int = 5, prefix: tuple[int | str, ...] = ()
) -> str:
    lines = []
    for err in exc.errors()[:limit]:
        msg = err["msg"].removeprefix("Value error, ")
        loc = (*prefix, *err["loc"])
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
    """Validate already-parsed YAML data as a cassette: native, or vcrpy (see :mod:`replay.vcr.format`).

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
    :data:`replay.vcr.format.DEFAULT_SYNTHETIC_TIMING`) schedules them, and they are marked synthetic.

    Example usage::

        cassette = replay.load_cassette("cassettes/chat.yaml")
        print(cassette.interactions[0].response.status)
    """
    p = Path(path)
    if "\x00" in str(p):
        raise CassetteFormatError(f"{str(p)!r}: the path contains a NUL byte; name the file without it.")
    try:
        raw = read_regular(p, MAX_FILE_BYTES)
    except FileNotFoundError:
        raise CassetteNotFoundError(f"Cassette {p} does not exist.") from None
    except OSError as exc:
        raise CassetteFormatError(f"{p}: cannot read the file: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise CassetteFormatError(f"{p}: not a cassette: {exc}. Point to a regular YAML file.") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CassetteFormatError(
            f"{p}: not UTF-8 text (byte {exc.start}); a cassette is YAML text."
        ) from None
    del raw  # a large file is held once while it is parsed
    with gc_paused():
        # One pause for parsing and validation; the parsed data is dropped before it ends, so
        # the collector later scans only the cassette itself.
        batched = _parse_in_batches(text, p)
        if batched is not None:
            return batched
        return _parse_text(text, p, synthetic_timing)


def _yaml_data(text: str, p: Path, first_line: int = 0) -> Any:
    try:
        return load_data(text)
    except YamlAliasError as exc:
        raise CassetteFormatError(f"{p}: {exc}; refusing to load it.") from None
    except YamlShapeError as exc:
        where = f" at line {first_line + exc.line}" if exc.line else ""
        raise CassetteFormatError(
            f"{p}: invalid cassette{where}: {exc}. Fix it or re-record the cassette."
        ) from None
    except yaml.YAMLError as exc:
        where = ""
        mark = getattr(exc, "problem_mark", None)
        if mark is not None:
            where = f" at line {first_line + mark.line + 1}, column {mark.column + 1}"
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise CassetteFormatError(f"{p}: invalid YAML{where}: {problem}.") from None


def _parse_text(text: str, p: Path, synthetic_timing: SyntheticTiming | None) -> Cassette:
    return parse_cassette(_yaml_data(text, p), str(p), synthetic_timing=synthetic_timing)


# The layout llm-replay writes: the header, then one top-level sequence item per interaction,
# each starting with "- " in column 0 (everything inside an item, block-scalar text included,
# is indented).
_NATIVE_HEAD = re.compile(rf"\A(?:#[^\n]*\n)*format: {FORMAT}\nversion: {VERSION}\ninteractions:\n(?=- )")
_ITEM_START = re.compile(r"^- ", re.MULTILINE)
_BATCH_BYTES = 1 << 18
_INTERACTIONS = TypeAdapter(list[Interaction])


def _parse_in_batches(text: str, p: Path) -> Cassette | None:
    """A large native cassette parsed a batch of interactions at a time, or None to parse whole.

    Parsing builds a tree of YAML nodes ten times the size of the file; batch by batch, the peak
    is that of one batch, and the memory the process keeps afterwards is the cassette's own.
    Anything but the layout llm-replay writes takes the whole-document path (and its errors).
    """
    head = _NATIVE_HEAD.match(text)
    if head is None or len(text) < 2 * _BATCH_BYTES:
        return None
    if uses_aliases(text):
        raise CassetteFormatError(f"{p}: the document uses YAML anchors/aliases; refusing to load it.")
    starts = [m.start() for m in _ITEM_START.finditer(text, head.end())]
    starts.append(len(text))
    interactions: list[Interaction] = []
    line = text.count("\n", 0, head.end())
    begin = 0
    while begin < len(starts) - 1:
        end = begin + 1
        while end < len(starts) - 1 and starts[end] - starts[begin] < _BATCH_BYTES:
            end += 1
        batch = text[starts[begin] : starts[end]]
        items = _yaml_data(batch, p, line)
        if not isinstance(items, list) or len(items) != end - begin:
            return None  # not the layout we write after all: parse the whole document
        try:
            interactions.extend(_INTERACTIONS.validate_python(items))
        except ValidationError:
            # Validate one by one only to name the interaction at fault.
            for offset, item in enumerate(items):
                try:
                    Interaction.model_validate(item)
                except ValidationError as exc:
                    described = describe_validation_error(exc, prefix=("interactions", begin + offset))
                    raise CassetteFormatError(
                        f"{p}: invalid cassette:\n{described}\n"
                        "Fix the field(s) above or re-record the cassette."
                    ) from None
            raise
        line += batch.count("\n")
        begin = end
    return Cassette.model_construct(format=FORMAT, version=VERSION, interactions=interactions)


def save_cassette(cassette: Cassette, path: str | os.PathLike[str]) -> None:
    """Write ``cassette`` to ``path`` atomically: the old file or the new one, never half of one."""
    p = Path(path)
    text = dump_cassette(cassette)
    write_atomic(p, text.encode("utf-8"))
