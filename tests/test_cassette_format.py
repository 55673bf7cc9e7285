"""The native cassette format: readable, byte-exact, validated with errors naming the field."""

from __future__ import annotations

import base64
import json
import os
import threading
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import replay
from replay import Cassette, Chunk, Interaction, Request, Response
from replay.io.storage import dump_cassette, load_cassette, save_cassette
from replay.model.bodies import JsonStyle, decode_body, encode_body


def _roundtrip(tmp_path: Path, cassette: Cassette) -> Cassette:
    path = tmp_path / "c.yaml"
    save_cassette(cassette, path)
    return load_cassette(path)


def _one(response: Response, body: bytes = b"") -> Cassette:
    request = Request(method="POST", url="https://api.example.com/v1/x", body=body)
    return Cassette(interactions=[Interaction(request=request, response=response)])


@pytest.mark.parametrize(
    ("text", "spec"),
    [
        ('{"a":1,"b":[true,null]}', "compact"),
        ('{"a": 1, "b": [true, null]}', "spaced"),
        ('{\n  "a": 1,\n  "b": [\n    true\n  ]\n}', "indent=2"),
        ('{\n    "a": "\\u00e9"\n}\n', "indent=4,ascii,newline"),
        ('{"a":"é"}\n', "newline"),
    ],
)
def test_json_bodies_are_data_when_that_is_byte_exact(text: str, spec: str) -> None:
    encoded = encode_body(text.encode())
    assert "json" in encoded
    assert encoded.get("format", "compact") == spec
    assert decode_body(encoded) == text.encode()


@pytest.mark.parametrize(
    "text",
    ['{"a":1.0e5}', '{"a":1, "b":2}', '{"a":1,"a":2}', "[1,2", '{"a":0.00001}', '{\n "a":1}'],
)
def test_json_that_cannot_be_reproduced_is_kept_as_text(text: str) -> None:
    encoded = encode_body(text.encode())
    assert "json" not in encoded
    assert decode_body(encoded) == text.encode()


def test_binary_is_base64_and_text_is_text() -> None:
    assert encode_body(b"\xff\xfe\x00") == {"b64": base64.b64encode(b"\xff\xfe\x00").decode()}
    assert encode_body(b"plain text\n") == {"text": "plain text\n"}


def test_sse_chunks_are_readable_text_with_their_time(tmp_path: Path) -> None:
    response = Response(
        status=200,
        t=0.25,
        headers=[("content-type", "text/event-stream")],
        chunks=[
            Chunk(t=0.3, data=b'data: {"x":1}\n\n'),
            Chunk(t=0.41, data=b"data: [DONE]\n\n"),
        ],
    )
    text = dump_cassette(_one(response))
    assert "t: 0.3\n" in text and 'data: {"x":1}' in text and "data: [DONE]" in text
    assert "b64" not in text
    assert _roundtrip(tmp_path, _one(response)).interactions[0].response == response


def test_chunk_boundaries_inside_a_utf8_character_survive(tmp_path: Path) -> None:
    data = "data: héllo wörld ✓\n\n".encode()
    chunks = [Chunk(t=0.1 * (i + 1), data=data[i : i + 3]) for i in range(0, len(data), 3)]
    response = Response(status=200, headers=[("content-type", "text/event-stream")], chunks=chunks)
    loaded = _roundtrip(tmp_path, _one(response)).interactions[0].response
    assert [c.data for c in loaded.chunks] == [c.data for c in chunks]
    assert loaded.body == data


def test_whole_json_body_is_stored_once_with_chunk_sizes(tmp_path: Path) -> None:
    body = json.dumps({"id": "x", "choices": [{"message": {"content": "hi"}}]}, indent=2).encode()
    response = Response(
        status=200,
        headers=[("content-type", "application/json")],
        chunks=[Chunk(t=0.5, data=body[:10]), Chunk(t=0.6, data=body[10:])],
    )
    text = dump_cassette(_one(response))
    assert "size: 10" in text and "content: hi" in text
    loaded = _roundtrip(tmp_path, _one(response)).interactions[0].response
    assert [c.data for c in loaded.chunks] == [body[:10], body[10:]]


def test_request_headers_keep_order_and_repeats(tmp_path: Path) -> None:
    request = Request(
        method="GET",
        url="https://x.example/",
        headers=[("Accept", "a"), ("x-multi", "1"), ("x-multi", "2"), ("Content-Type", "b")],
    )
    cassette = Cassette(interactions=[Interaction(request=request, response=Response(status=204))])
    loaded = _roundtrip(tmp_path, cassette).interactions[0].request
    assert loaded.headers == request.headers


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(chunks=st.lists(st.binary(max_size=40), max_size=6), body=st.binary(max_size=60))
def test_any_bytes_round_trip_exactly(tmp_path: Path, chunks: list[bytes], body: bytes) -> None:
    response = Response(status=200, chunks=[Chunk(t=0.01 * i, data=c) for i, c in enumerate(chunks)])
    loaded = _roundtrip(tmp_path, _one(response, body)).interactions[0]
    assert [c.data for c in loaded.response.chunks] == chunks
    assert loaded.request.body == body


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=st.dictionaries(st.text(max_size=8), json_values, max_size=5), indent=st.sampled_from([None, 2]))
def test_any_json_body_round_trips_byte_exactly(tmp_path: Path, value: object, indent: int | None) -> None:
    raw = json.dumps(value, indent=indent).encode()
    response = Response(
        status=200, headers=[("content-type", "application/json")], chunks=[Chunk(t=0.1, data=raw)]
    )
    loaded = _roundtrip(tmp_path, _one(response, raw)).interactions[0]
    assert loaded.response.body == raw
    assert loaded.request.body == raw


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("", "the file is empty"),
        ("- a\n- b\n", "a list, not a mapping"),
        ("format: llm-replay\nversion: 7\ninteractions: []\n", "unsupported cassette version 7"),
        ("interactions: []\nversion: 3\n", "neither an llm-replay cassette"),
        ("format: llm-replay\nversion: 1\ninteractions: {}\n", "'interactions' must be a list"),
        ("format: llm-replay\nversion: 1\ninteractions: [\n", "invalid YAML at line"),
        (
            "format: llm-replay\nversion: 1\ninteractions:\n- request: {method: GET, url: u}\n"
            "  response: {status: 200, chunks: [{t: -1, text: a}]}\n",
            "interactions[0].response.chunks[0]: chunk t must be a finite number of seconds >= 0",
        ),
        (
            "format: llm-replay\nversion: 1\ninteractions:\n- request: {method: GET, url: u}\n"
            "  response: {status: 200, chunks: [{t: 2, text: a}, {t: 1, text: b}]}\n",
            "chunks[1].t=1.0 is earlier than chunk 0",
        ),
        (
            "format: llm-replay\nversion: 1\ninteractions:\n"
            "- request: {method: GET, url: u, body: {b64: '!!'}}\n  response: {status: 200}\n",
            "interactions[0].request: invalid base64 body",
        ),
        (
            "format: llm-replay\nversion: 1\ninteractions:\n- request: {method: GET, url: u}\n"
            "  response: {status: ok}\n",
            "interactions[0].response.status",
        ),
        (
            "format: llm-replay\nversion: 1\ninteractions:\n- request: {method: GET, url: u, extra: 1}\n"
            "  response: {status: 200}\n",
            "interactions[0].request.extra: Extra inputs are not permitted",
        ),
        ("a: &x [1]\nb: *x\n", "anchors/aliases"),
        ("!!python/object:os.system {}\n", "invalid YAML"),
    ],
)
def test_malformed_files_give_errors_naming_file_and_field(
    tmp_path: Path, content: str, expected: str
) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(content)
    with pytest.raises(replay.CassetteFormatError) as info:
        load_cassette(path)
    assert str(path) in str(info.value)
    assert expected in str(info.value)


def test_missing_file_is_a_not_found_error(tmp_path: Path) -> None:
    with pytest.raises(replay.CassetteNotFoundError, match="does not exist"):
        load_cassette(tmp_path / "nope.yaml")


def test_json_style_specs_are_validated() -> None:
    assert JsonStyle.parse("indent=2,ascii,newline") == JsonStyle(indent=2, ascii=True, newline=True)
    with pytest.raises(ValueError, match="unknown part 'pretty'"):
        JsonStyle.parse("pretty")
    with pytest.raises(ValueError, match="exactly one of json, text, b64"):
        decode_body({"text": "a", "b64": "YQ=="})


def test_save_is_atomic_and_leaves_no_temporary_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "deep" / "dir" / "c.yaml"
    small = _one(Response(status=200, chunks=[Chunk(t=0.1, data=b"x")]))
    big = _one(Response(status=200, chunks=[Chunk(t=0.1 * i, data=b"y" * 5000) for i in range(1, 200)]))
    small.save(path)
    versions = {path.read_bytes()}
    big.save(path)
    versions.add(path.read_bytes())
    # The file is replaced, never rewritten in place: a new inode each save, put there by one
    # rename of a complete file written beside it (so a crash leaves the old file or the new).
    replaced: list[tuple[str, str]] = []
    real_replace = os.replace

    def spy(src: Any, dst: Any, **kwargs: Any) -> None:
        replaced.append((os.fspath(src), os.fspath(dst)))
        assert Path(src).read_bytes() in versions, "the file renamed into place is incomplete"
        real_replace(src, dst, **kwargs)

    monkeypatch.setattr(os, "replace", spy)
    # A reader in another thread, reading all along, only ever sees a whole cassette.
    stop = threading.Event()
    seen: set[bytes] = set()

    def read() -> None:
        while not stop.is_set():
            seen.add(path.read_bytes())

    reader = threading.Thread(target=read)
    reader.start()
    try:
        for cassette in (small, big) * 5:
            inode = path.stat().st_ino
            cassette.save(path)
            assert path.stat().st_ino != inode
    finally:
        stop.set()
        reader.join()
    assert len(replaced) == 10 and all(dst == str(path) for _, dst in replaced)
    assert all(Path(src).parent == path.parent for src, _ in replaced)
    assert seen <= versions and seen
    assert [p.name for p in path.parent.iterdir()] == ["c.yaml"]
    assert path.read_bytes() == dump_cassette(big).encode()


@pytest.mark.parametrize(
    "text",
    [
        "a: 1\nb: '1'\nc: \"yes\"\nd: yes\ne: |\n  1\nf: 1.0\ng: 2026-01-01\nh: ''\ni:\nj: 0o17\nk: 0x1F\n",
        "s: !!set {a, b}\no: !!omap [{a: 1}, {b: 2}]\nbin: !!binary aGVsbG8=\n",
        't: "R &D **bold** *x & y"\nu: |\n  text &amp; and *amp; and **x**\n',
        "? [1, 2]\n: unhashable\n",
        "x: !!python/object:os.system {}\n",
    ],
)
def test_the_fast_loader_gives_exactly_what_the_safe_loader_gives(text: str) -> None:
    import yaml

    from replay.model.yamlio import load_data

    try:
        expected: object = yaml.load(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        with pytest.raises(type(exc)):
            load_data(text)
    else:
        assert load_data(text) == expected


def _big_cassette(n: int = 1500) -> Cassette:
    from cassette_factory import stream_interaction

    return Cassette(
        interactions=[
            stream_interaction(
                [0.1, round(0.2 + i * 1e-6, 6), round(0.3 + i * 1e-6, 6)], body={"model": "m", "n": i}
            )
            for i in range(n)
        ]
    )


def test_large_native_files_load_in_batches_exactly_as_a_whole(tmp_path: Path) -> None:
    from replay.io.storage import _BATCH_BYTES, _parse_in_batches, _parse_text

    cassette = _big_cassette()
    path = tmp_path / "big.yaml"
    save_cassette(cassette, path)
    text = path.read_text()
    assert len(text) > 2 * _BATCH_BYTES  # large enough to take the batched path
    batched = _parse_in_batches(text, path)
    assert batched is not None
    assert batched == _parse_text(text, path, None) == cassette == load_cassette(path)


def test_errors_in_a_batched_file_name_the_interaction_and_the_line(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    save_cassette(_big_cassette(), path)
    lines = path.read_text().splitlines(keepends=True)
    # Break the 1,200th interaction's status, and separately its YAML, far into the file.
    starts = [i for i, line in enumerate(lines) if line.startswith("- ")]
    target = starts[1200]
    status = next(i for i in range(target, len(lines)) if lines[i].strip() == "status: 200")
    bad = [*lines[:status], lines[status].replace("200", "'two hundred'"), *lines[status + 1 :]]
    path.write_text("".join(bad))
    with pytest.raises(replay.CassetteFormatError, match=r"interactions\[1200\]\.response\.status"):
        load_cassette(path)
    broken = [*lines[:status], "    status: [200\n", *lines[status + 1 :]]
    path.write_text("".join(broken))
    with pytest.raises(replay.CassetteFormatError, match=rf"invalid YAML at line {status + 2}, column"):
        load_cassette(path)


def test_a_hand_edited_layout_falls_back_to_the_whole_document(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    cassette = _big_cassette()
    save_cassette(cassette, path)
    # Valid YAML, but not the header layout llm-replay writes (keys reordered by hand).
    text = path.read_text().replace("format: llm-replay\nversion: 1\n", "version: 1\nformat: llm-replay\n")
    path.write_text(text)
    from replay.io.storage import _parse_in_batches

    assert _parse_in_batches(text, path) is None
    assert load_cassette(path) == cassette
