"""Bad input is refused clearly: a corpus of malformed cassettes, structure-aware fuzzing of the
loader, bounded time and memory through the CLI, and fuzzing of the SSE decoder."""

from __future__ import annotations

import base64
import copy
import itertools
import json
import os
import resource
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import replay
from replay.io.storage import dump_cassette
from replay.model.cassette import Cassette, Chunk, Interaction, Request, Response
from replay.model.sse import SSEDecoder, iter_events, parse_events, split_at_events

HEAD = "format: llm-replay\nversion: 1\n"
GET = "request: {method: GET, url: 'http://x.test/'}"


def one(response: str, extra: str = "", request: str = GET) -> str:
    return f"{HEAD}interactions:\n- {request}\n  response: {response}\n{extra}"


def sample_cassette() -> Cassette:
    """Two interactions: a JSON request/response and an SSE stream with timed chunks."""
    sse = [
        b'data: {"choices":[{"delta":{"content":"Hel"}}]}\n\n',
        b'data: {"choices":[{"delta":{"content":"lo"}}]}\n\n',
        b"data: [DONE]\n\n",
    ]
    return Cassette(
        interactions=[
            Interaction(
                request=Request(
                    method="POST",
                    url="https://api.openai.com/v1/chat/completions",
                    headers=[("content-type", "application/json"), ("authorization", "Bearer REDACTED")],
                    body=json.dumps({"model": "m", "messages": [{"role": "user", "content": "hi"}]}).encode(),
                ),
                response=Response(
                    status=200,
                    t=0.2,
                    headers=[("content-type", "application/json")],
                    chunks=[Chunk(t=0.3, data=json.dumps({"id": "x", "choices": []}, indent=2).encode())],
                ),
            ),
            Interaction(
                request=Request(method="POST", url="https://api.openai.com/v1/chat/completions", body=b"{}"),
                response=Response(
                    status=200,
                    t=0.1,
                    headers=[("content-type", "text/event-stream")],
                    chunks=[Chunk(t=0.1 + i / 10, data=d) for i, d in enumerate(sse)],
                ),
            ),
        ]
    )


def write(path: Path, content: str | bytes) -> Path:
    path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    return path


def chunks(items: str) -> str:
    return one("{status: 200, chunks: [" + items + "]}")


def request(fields: str) -> str:
    return one("{status: 200}", request="request: {method: GET, url: 'http://x/'" + fields + "}")


LAUGHS = "a: &a [lol,lol,lol,lol,lol,lol,lol,lol,lol]\n" + "".join(
    f"{c}: &{c} [{', '.join(['*' + p] * 9)}]\n" for p, c in zip("abcdefgh", "bcdefghi", strict=True)
)
DEEP = "[" * 5000 + "]" * 5000

# id -> (file content, fragments the error must contain besides the file name)
CORPUS: dict[str, tuple[str | bytes, list[str]]] = {
    "empty file": ("", ["the file is empty"]),
    "only a comment": ("# nothing here\n", ["the file is empty"]),
    "a list at top level": ("- request: {}\n- response: {}\n", ["a list, not a mapping"]),
    "a scalar at top level": ("just text\n", ["a str, not a mapping"]),
    "not UTF-8": (HEAD.encode() + b"interactions: []\n# \xff\xfe\n", ["not UTF-8 text (byte 49)"]),
    "NUL byte": ("format: llm-replay\x00\n", ["invalid YAML", "control characters are not allowed"]),
    "truncated mid-string": (HEAD + "interactions:\n- request: {url: 'http://x", ["invalid YAML at line 4"]),
    "tab indentation": (HEAD + "interactions:\n\t- request: {}\n", ["invalid YAML at line 4"]),
    "unknown format version": (
        "format: llm-replay\nversion: 2\ninteractions: []\n",
        ["unsupported cassette version 2", "Upgrade llm-replay, or re-record"],
    ),
    "no format marker": ("version: 1\nrecords: []\n", ["llm-replay cassette (format is None"]),
    "interactions is a mapping": (HEAD + "interactions: {a: 1}\n", ["'interactions' must be a list"]),
    "interactions is null": (HEAD + "interactions: null\n", ["'interactions' must be a list"]),
    "interaction is a number": (HEAD + "interactions: [1]\n", ["interactions[0]"]),
    "unknown top-level key": (
        HEAD + "interactions: []\nextra: 1\n",
        ["extra: Extra inputs are not permitted"],
    ),
    "status is text": (one("{status: abc}"), ["interactions[0].response.status", "valid integer"]),
    "status out of range": (one("{status: 99999}"), ["response.status", "less than or equal to 599"]),
    "method is a number": (
        one("{status: 200}", request="request: {method: 5, url: 'http://x/'}"),
        ["request.method"],
    ),
    "url is a list": (one("{status: 200}", request="request: {method: GET, url: [a]}"), ["request.url"]),
    "headers are a number": (request(", headers: 5"), ["headers must be a mapping or a list of pairs"]),
    "header value is a mapping": (
        one("{status: 200, headers: {x-a: {b: c}}}"),
        ["header 'x-a' has a non-text value"],
    ),
    "chunk without t": (chunks("{text: a}"), ["chunks[0]", "needs its arrival time 't'"]),
    "chunk t is text": (chunks("{t: soon, text: a}"), ["chunk t must be a number"]),
    "negative t": (chunks("{t: -0.5, text: a}"), ["finite number of seconds >= 0, got -0.5"]),
    "NaN t": (chunks("{t: .nan, text: a}"), ["finite number of seconds >= 0, got nan"]),
    "infinite t": (chunks("{t: .inf, text: a}"), ["finite number of seconds >= 0, got inf"]),
    "decreasing t": (chunks("{t: 2, text: a}, {t: 1, text: b}"), ["chunks[1].t=1.0 is earlier than chunk 0"]),
    "chunk before the headers": (
        one("{status: 200, t: 3, chunks: [{t: 1, text: a}]}"),
        ["earlier than the response headers"],
    ),
    "negative response t": (one("{status: 200, t: -1}"), ["response t must be a finite number"]),
    "invalid base64": (chunks("{t: 0, b64: '!!not base64'}"), ["invalid base64 body"]),
    "base64 is a number": (chunks("{t: 0, b64: 12}"), ["body b64 must be a string"]),
    "text chunk is a number": (chunks("{t: 0, text: 12}"), ["body text must be a string"]),
    "lone surrogate in a text chunk": (
        chunks('{t: 0, text: "\\uDC80 not UTF-8"}'),
        ["invalid YAML", "escape"],
    ),
    "text and b64 together": (chunks("{t: 0, text: a, b64: YQ==}"), ["one of 'text' or 'b64'"]),
    "body with two kinds": (request(", body: {json: 1, text: a}"), ["exactly one of json, text, b64"]),
    "unknown JSON format": (request(", body: {json: 1, format: fancy}"), ["bad JSON format 'fancy'"]),
    "chunk sizes do not add up": (
        one("{status: 200, body: {text: abc}, chunks: [{t: 0, size: 99}]}"),
        ["chunk sizes add up to 99 bytes but the body has 3"],
    ),
    "unknown stream end": (one("{status: 200, end: {kind: explode}}"), ["end.kind"]),
    "bad recorded_at": (
        HEAD + "interactions:\n- recorded_at: yesterday\n  " + GET + "\n  response: {status: 200}\n",
        ["recorded_at"],
    ),
    "unknown matcher": (
        one("{status: 200}", extra="  match_on: [bogus]\n"),
        ["match_on", "Unknown matcher 'bogus'"],
    ),
    "python object construction": (
        HEAD + "interactions: !!python/object/apply:os.system ['touch PWNED']\n",
        ["invalid YAML", "could not determine a constructor", "python/object/apply:os.system"],
    ),
    "python name": (HEAD + "interactions: !!python/name:os.system\n", ["could not determine a constructor"]),
    "billion laughs": (LAUGHS + HEAD, ["anchors/aliases", "refusing to load it"]),
    "a single alias": (HEAD + "x: &x 1\ny: *x\ninteractions: []\n", ["anchors/aliases"]),
    "nested 100,000 deep": ("a: " + "[" * 100_000 + "]" * 100_000 + "\n", ["invalid YAML", "nesting depth"]),
    "deep JSON body": (request(", body: {json: " + DEEP + "}"), ["invalid YAML", "nesting depth"]),
}


@pytest.mark.parametrize("name", list(CORPUS))
def test_each_malformed_cassette_gets_a_clear_error_naming_the_file(name: str, tmp_path: Path) -> None:
    content, fragments = CORPUS[name]
    path = write(tmp_path / "bad.yaml", content)
    with pytest.raises(replay.CassetteFormatError) as err:
        replay.load_cassette(path)
    message = str(err.value)
    assert message.startswith(f"{path}: "), message
    for fragment in fragments:
        assert fragment in message, message
    assert not (tmp_path / "PWNED").exists()


def test_a_cassette_used_by_use_cassette_reports_the_same_error(tmp_path: Path) -> None:
    path = write(tmp_path / "bad.yaml", CORPUS["decreasing t"][0])
    with pytest.raises(replay.CassetteFormatError, match="earlier than chunk 0"), replay.use_cassette(path):
        pass


def test_truncation_at_any_point_loads_a_prefix_or_fails_clearly(tmp_path: Path) -> None:
    text = dump_cassette(sample_cassette())
    path = tmp_path / "cut.yaml"
    outcomes = {"loaded": 0, "refused": 0}
    for cut in range(0, len(text), max(1, len(text) // 150)):
        write(path, text[:cut])
        try:
            cassette = replay.load_cassette(path)
        except replay.CassetteFormatError as exc:
            assert str(exc).startswith(f"{path}: ")
            outcomes["refused"] += 1
        else:
            assert len(cassette.interactions) <= 2
            outcomes["loaded"] += 1
    assert outcomes["refused"] > 50 and outcomes["loaded"] > 0


# -- structure-aware fuzzing of the loader --------------------------------------------------

JUNK = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=20)
    | st.binary(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)


def _paths(data: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(data, dict):
        for key, value in data.items():
            out.extend(_paths(value, (*prefix, key)))
    elif isinstance(data, list):
        for i, value in enumerate(data):
            out.extend(_paths(value, (*prefix, i)))
    return out


SAMPLE_DATA = yaml.safe_load(dump_cassette(sample_cassette()))
SAMPLE_PATHS = _paths(SAMPLE_DATA)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(where=st.sampled_from(SAMPLE_PATHS), junk=JUNK, drop=st.booleans())
def test_any_field_replaced_by_junk_loads_or_fails_clearly(
    where: tuple[Any, ...], junk: Any, drop: bool, tmp_path: Path
) -> None:
    data = copy.deepcopy(SAMPLE_DATA)
    if not where:
        data = junk
    else:
        parent = data
        for key in where[:-1]:
            parent = parent[key]
        if drop and isinstance(parent, dict):
            del parent[where[-1]]
        else:
            parent[where[-1]] = junk
    path = write(tmp_path / "fuzz.yaml", yaml.safe_dump(data, allow_unicode=True))
    try:
        replay.load_cassette(path)
    except replay.CassetteFormatError as exc:
        assert str(exc).startswith(f"{path}: ")


# -- bounded time and memory, through the command line ---------------------------------------

MEMORY_LIMIT = 2 * 2**30  # address space of each child; a memory bomb fails instead of swapping


def big_body(path: Path) -> Path:
    """A 50 MB binary body (base64 in the file: 67 MB of YAML)."""
    chunk = Chunk(t=0.5, data=os.urandom(50 * 2**20))
    cassette = Cassette(
        interactions=[
            Interaction(
                request=Request(method="GET", url="https://files.test/blob"),
                response=Response(
                    status=200, headers=[("content-type", "application/octet-stream")], chunks=[chunk]
                ),
            )
        ]
    )
    replay.save_cassette(cassette, path)
    return path


def long_sse_line(path: Path) -> Path:
    """An SSE stream whose one data line is 1 MB, delivered in 4 KB reads."""
    data = b"data: " + b"y" * 2**20 + b"\n\ndata: [DONE]\n\n"
    chunks = [Chunk(t=0.1 + i * 1e-5, data=data[i : i + 4096]) for i in range(0, len(data), 4096)]
    cassette = Cassette(
        interactions=[
            Interaction(
                request=Request(method="POST", url="https://api.openai.com/v1/chat/completions"),
                response=Response(status=200, headers=[("content-type", "text/event-stream")], chunks=chunks),
            )
        ]
    )
    replay.save_cassette(cassette, path)
    return path


def run_bounded(args: list[str], timeout: float = 90) -> tuple[int, str, float, float]:
    """Run ``python -m replay.cli ARGS`` with an address-space limit.

    Returns the exit code, stdout + stderr, the wall time and that process's peak memory (MB).
    """

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))

    start = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, "-m", "replay.cli", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        preexec_fn=limit,  # only sets a resource limit in the child
    )
    watchdog = threading.Timer(timeout, proc.kill)
    watchdog.start()
    try:
        assert proc.stdout is not None
        output = proc.stdout.read()
        proc.stdout.close()
        # wait4 reports the peak memory of this one child (RUSAGE_CHILDREN would be the largest
        # child so far).
        _, status, usage = os.wait4(proc.pid, 0)
    finally:
        watchdog.cancel()
    proc.returncode = os.waitstatus_to_exitcode(status)
    elapsed = time.monotonic() - start
    if elapsed >= timeout:
        pytest.fail(f"llm-replay {' '.join(args)} did not finish in {timeout}s")
    return proc.returncode, output.decode("utf-8", "replace"), elapsed, usage.ru_maxrss / 1024


BOUNDED_BAD = [
    "billion laughs",
    "nested 100,000 deep",
    "python object construction",
    "not UTF-8",
    "truncated mid-string",
    "decreasing t",
    "invalid base64",
    "empty file",
    "a list at top level",
]


@pytest.mark.parametrize("command", ["inspect", "scrub --check"])
def test_the_cli_refuses_bad_files_within_bounds_and_without_a_traceback(
    command: str, tmp_path: Path
) -> None:
    paths = []
    for i, name in enumerate(BOUNDED_BAD):
        paths.append(write(tmp_path / f"bad{i}.yaml", CORPUS[name][0]))
    for name, path in zip(BOUNDED_BAD, paths, strict=True):
        code, output, elapsed, _ = run_bounded([*command.split(), str(path)])
        assert "Traceback" not in output and str(path) in output, output
        assert elapsed < 60
        if command == "scrub --check" and name == "empty file":
            # Scrubbing looks for secrets: a YAML file that is no cassette holds none. (A list at
            # top level is refused: it is what vcrpy cassettes before vcrpy 1.0 looked like.)
            assert code == 0 and f"{path}: skipped (not a cassette)" in output, output
        else:
            assert code == 2, output  # a file the command cannot read


@pytest.mark.parametrize(
    ("make", "max_mb"), [(big_body, 1500), (long_sse_line, 400)], ids=["50 MB body", "1 MB SSE line"]
)
def test_huge_bodies_are_handled_within_bounds(
    make: Callable[[Path], Path], max_mb: float, tmp_path: Path
) -> None:
    path = make(tmp_path / "huge.yaml")
    for command in (["inspect", "--json"], ["scrub", "--check"]):
        code, output, elapsed, peak = run_bounded([*command, str(path)])
        assert code == 0, output
        assert elapsed < 60 and peak < max_mb, (elapsed, peak)
    cassette = replay.load_cassette(path)
    if make is long_sse_line:
        events = cassette.interactions[0].response.events()
        assert [len(e.data) for e in events] == [2**20, 6]


# -- the SSE decoder ----------------------------------------------------------------------

SSE_PIECES = st.sampled_from(
    [
        b"data:",
        b"data: ",
        b"event: ",
        b"id: ",
        b"retry: ",
        b":",
        b" ",
        b"\r",
        b"\n",
        b"\r\n",
        b"x",
        b"[DONE]",
        b"\xef\xbb\xbf",
        b"\xff",
        b"\xc3",
        b'{"a":1}',
        b"\x00",
    ]
)
SSE_BYTES = st.lists(SSE_PIECES, max_size=60).map(b"".join) | st.binary(max_size=200)


def split_at(data: bytes, cuts: list[int]) -> list[bytes]:
    bounds = sorted({min(c, len(data)) for c in cuts} | {0, len(data)})
    return [data[a:b] for a, b in itertools.pairwise(bounds)]


@settings(max_examples=600, deadline=None)
@given(data=SSE_BYTES, cuts=st.lists(st.integers(min_value=0, max_value=220), max_size=20))
def test_sse_any_bytes_any_split_equals_one_shot_parsing(data: bytes, cuts: list[int]) -> None:
    whole = parse_events(data)
    assert list(iter_events(split_at(data, cuts))) == whole
    assert list(iter_events([bytes([b]) for b in data])) == whole  # one byte per read
    assert b"".join(split_at_events(data)) == data
    for event in whole:
        assert 0 <= event.start <= event.end <= len(data)


def test_sse_a_1_mb_line_in_small_reads_is_linear_time() -> None:
    line = b"data: " + b"z" * 2**20 + b"\n\n"
    decoder = SSEDecoder()
    start = time.monotonic()
    events = []
    for i in range(0, len(line), 64):
        events.extend(decoder.feed(line[i : i + 64]))
    events.extend(decoder.finish())
    assert time.monotonic() - start < 10  # 16,000 reads; quadratic rescanning would take minutes
    assert len(events) == 1 and len(events[0].data) == 2**20


def test_sse_max_line_refuses_an_endless_line_clearly() -> None:
    decoder = SSEDecoder(max_line=1000)
    with pytest.raises(ValueError, match="SSE line longer than 1000 bytes at offset 0 without a line break"):
        for _ in range(100):
            decoder.feed(b"data: " + b"q" * 100)


def test_base64_bodies_survive_a_round_trip(tmp_path: Path) -> None:
    data = bytes(range(256)) * 4
    response = Response(status=200, chunks=[Chunk(t=0.0, data=data)])
    cassette = Cassette(
        interactions=[Interaction(request=Request(method="GET", url="http://x/"), response=response)]
    )
    path = tmp_path / "b.yaml"
    cassette.save(path)
    assert base64.b64encode(data).decode() in path.read_text()
    assert replay.load_cassette(path).interactions[0].response.body == data
