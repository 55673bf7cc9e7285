"""How a body's bytes are shown in a cassette: as YAML data, as text, or as base64.

Replay is byte-exact first, readability second. A JSON body is shown as data only when
re-serialising that data in a known style reproduces the recorded bytes exactly; the style
is stored beside it (``format: indent=2,newline``). Everything else is text (valid UTF-8)
or base64.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass
from typing import Any

import yaml

from ..limits import MAX_FORMAT_PARAM, MAX_JSON_DEPTH

__all__ = [
    "JsonStyle",
    "check_nesting",
    "decode_body",
    "encode_body",
    "is_yaml_safe_text",
    "sniff_json_style",
]

# Characters that YAML readers may normalise or that libyaml cannot round-trip in every
# scalar style; text holding them is stored as base64 so replay stays byte-exact.
_NOT_TEXT = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x85\u2028\u2029\ufeff]")


@dataclass(frozen=True, slots=True)
class JsonStyle:
    """One way of writing JSON: the knobs of :func:`json.dumps` plus a trailing newline."""

    indent: int | None = None
    spaced: bool = False  # ", " and ": " separators (json.dumps' default) instead of "," and ":"
    ascii: bool = False
    newline: bool = False

    def dumps(self, obj: Any) -> str:
        separators = (",", ": ") if self.indent is not None else (",", ":")
        if self.spaced and self.indent is None:
            separators = (", ", ": ")
        text = json.dumps(obj, indent=self.indent, separators=separators, ensure_ascii=self.ascii)
        return text + "\n" if self.newline else text

    def spec(self) -> str:
        parts = []
        if self.indent is not None:
            parts.append(f"indent={self.indent}")
        elif self.spaced:
            parts.append("spaced")
        if self.ascii:
            parts.append("ascii")
        if self.newline:
            parts.append("newline")
        return ",".join(parts) or "compact"

    @classmethod
    def parse(cls, spec: str) -> JsonStyle:
        indent: int | None = None
        spaced = ascii_ = newline = False
        for part in filter(None, (p.strip() for p in spec.split(","))):
            if part == "compact":
                continue
            if part == "spaced":
                spaced = True
            elif part == "ascii":
                ascii_ = True
            elif part == "newline":
                newline = True
            elif part.startswith("indent="):
                digits = part.removeprefix("indent=")
                if (
                    not (digits.isascii() and digits.isdigit() and len(digits) <= 4)
                    or int(digits) > MAX_FORMAT_PARAM
                ):
                    raise ValueError(
                        f"bad JSON format {spec!r}: indent must be a whole number from 0 to "
                        f"{MAX_FORMAT_PARAM}"
                    )
                indent = int(digits)
            else:
                raise ValueError(
                    f"bad JSON format {spec!r}: unknown part {part!r} "
                    "(expected compact, spaced, indent=N, ascii, newline)"
                )
        return cls(indent=indent, spaced=spaced, ascii=ascii_, newline=newline)


def _candidate_styles(text: str) -> list[JsonStyle]:
    """Styles worth trying for this text, most likely first (cheap sniffing, no guessing)."""
    newline = text.endswith("\n")
    ascii_ = "\\u" in text
    styles: list[JsonStyle] = []
    head = text[:200]
    if "\n" in text.rstrip("\n"):
        stripped = text.lstrip("[{\n")
        width = len(stripped) - len(stripped.lstrip(" "))
        for indent in dict.fromkeys((width, 2, 4)):
            if indent:
                styles.append(JsonStyle(indent=indent, ascii=ascii_, newline=newline))
    elif '", "' in head or '": ' in head:
        styles.append(JsonStyle(spaced=True, ascii=ascii_, newline=newline))
    else:
        styles.append(JsonStyle(ascii=ascii_, newline=newline))
    return styles


def sniff_json_style(text: str) -> JsonStyle:
    """The most likely style of a JSON text, to write edited data back the way it came."""
    return _candidate_styles(text)[0]


def _json_style_for(data: bytes) -> tuple[Any, JsonStyle] | None:
    """Return (parsed, style) when some style reproduces ``data`` byte for byte."""
    if not data or data.lstrip()[:1] not in (b"{", b"["):
        return None
    try:
        text = data.decode("utf-8")
        obj = json.loads(text)
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None
    for style in _candidate_styles(text):
        try:
            if style.dumps(obj) == text and _survives_yaml(obj, style, text):
                return obj, style
        except (ValueError, TypeError, RecursionError):
            return None
    return None


def _survives_yaml(obj: Any, style: JsonStyle, text: str) -> bool:
    """YAML must hand back data that serialises to the same bytes (types, floats, strings)."""
    from .yamlio import dump_data, load_data

    try:
        return style.dumps(load_data(dump_data(obj))) == text
    except (yaml.YAMLError, ValueError, TypeError, RecursionError):
        return False


def is_yaml_safe_text(data: bytes) -> str | None:
    """The text of ``data`` if it is UTF-8 that YAML round-trips exactly, else None."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    # Control characters other than tab/newline/CR are escaped by YAML, which round-trips, but
    # a text full of them is not readable: show it as base64 instead. Characters YAML readers
    # may normalise (NEL, line/paragraph separators, BOM) cannot be kept as text at all.
    if _NOT_TEXT.search(text):
        return None
    return text


def encode_body(data: bytes, *, allow_json: bool = True) -> dict[str, Any]:
    """The on-disk mapping for a body: ``{json, format}``, ``{text}`` or ``{b64}``."""
    if allow_json:
        found = _json_style_for(data)
        if found is not None:
            obj, style = found
            out: dict[str, Any] = {"json": obj}
            if style != JsonStyle():
                out["format"] = style.spec()
            return out
    text = is_yaml_safe_text(data)
    if text is not None:
        return {"text": text}
    return {"b64": base64.b64encode(data).decode("ascii")}


def decode_body(value: Any) -> bytes:
    """Bytes from an on-disk body mapping; raises ValueError naming what is wrong."""
    if isinstance(value, (bytes, bytearray)):
        return bytes(value)
    if not isinstance(value, dict):
        raise ValueError(f"a body must be a mapping with json, text or b64; got {type(value).__name__}")
    keys = set(value) - {"format"}
    if len(keys) != 1 or not keys <= {"json", "text", "b64"}:
        raise ValueError(
            f"a body needs exactly one of json, text, b64 (plus format for json); got {sorted(value)}"
        )
    if "format" in value and "json" not in value:
        raise ValueError("'format' only applies to a json body")
    if "json" in value:
        style = JsonStyle.parse(str(value.get("format", "compact")))
        try:
            return style.dumps(value["json"]).encode("utf-8")
        except (TypeError, ValueError, RecursionError) as exc:
            # e.g. a YAML !!binary value or a non-text key edited into a json body
            raise ValueError(f"the json body holds a value JSON cannot represent: {exc}") from None
    if "text" in value:
        text = value["text"]
        if not isinstance(text, str):
            raise ValueError(f"body text must be a string, got {type(text).__name__}")
        return text.encode("utf-8")
    b64 = value["b64"]
    if not isinstance(b64, str):
        raise ValueError(f"body b64 must be a string, got {type(b64).__name__}")
    try:
        return base64.b64decode(b64, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError(f"invalid base64 body: {exc}") from None


_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_NOT_BRACKET = re.compile(rb"[^\[\]{}]+")


def check_nesting(data: bytes, what: str) -> None:
    """Refuse text nested deeper than :data:`~replay.limits.MAX_JSON_DEPTH` brackets.

    JSON that deep (in a body or an SSE event) would stop every parser and walker downstream
    (matching, ``inspect``, ``diff``) with a RecursionError; real payloads nest a few levels.
    Linear: a byte count settles almost every body; otherwise strings are cut out and the
    brackets left are counted in one pass. Binary (non UTF-8) bodies are never parsed as JSON.
    """
    if data.count(b"[") + data.count(b"{") <= MAX_JSON_DEPTH:
        return
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return
    depth = deepest = 0
    for c in _NOT_BRACKET.sub(b"", _JSON_STRING.sub(b"", data)):
        depth = depth + 1 if c in b"[{" else max(depth - 1, 0)
        deepest = max(deepest, depth)
    if deepest > MAX_JSON_DEPTH:
        raise ValueError(
            f"{what} nests brackets {deepest} levels deep (limit {MAX_JSON_DEPTH}); no API sends that: "
            "delete the interaction or re-record it"
        )
