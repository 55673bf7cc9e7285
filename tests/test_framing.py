"""Every stream framing: events and spans for any split of the bytes, event-stream CRCs checked
against botocore's own parser, detection from content type and body."""

from __future__ import annotations

import json
import time

import pytest
from botocore.eventstream import ChecksumMismatch, EventStreamBuffer
from hypothesis import given
from hypothesis import strategies as st

from replay.model.framing import (
    EventStreamMessage,
    Framing,
    FramingError,
    Header,
    JSONArrayDecoder,
    NDJSONDecoder,
    decode,
    decode_message,
    detect_framing,
    encode_message,
    iter_decoded,
    parse_elements,
    parse_lines,
    parse_messages,
    reencode,
    split_at,
)
from replay.model.sse import SSEEvent

NDJSON = (
    b'{"model":"llama3","message":{"role":"assistant","content":"Hi"},"done":false}\n'
    b"\n"
    b'{"model":"llama3","message":{"role":"assistant","content":"!"},"done":false}\r\n'
    b'{"model":"llama3","done":true,"done_reason":"stop","eval_count":2}'
)
JSON_ARRAY = (
    b'[{\n  "candidates": [{"content": {"parts": [{"text": "a ] } \\" \\\\"}]}}]\n}\n,\r\n'
    b'{"candidates": [{"finishReason": "STOP"}], "usageMetadata": {"totalTokenCount": 3}}'
    b', "tail", 12, true\n]'
)


def _eventstream() -> bytes:
    return b"".join(
        [
            encode_message(
                [
                    Header.string(":event-type", "contentBlockDelta"),
                    Header.string(":content-type", "application/json"),
                    Header.string(":message-type", "event"),
                ],
                b'{"contentBlockIndex":0,"delta":{"text":"Hi"},"p":"abcd"}',
            ),
            encode_message(
                [Header.string(":event-type", "messageStop"), Header.string(":message-type", "event")],
                b'{"stopReason":"end_turn"}',
            ),
        ]
    )


STREAMS: dict[Framing, bytes] = {
    "sse": b'event: a\ndata: {"x":1}\n\n: ping\n\ndata: [DONE]\n\n',
    "ndjson": NDJSON,
    "json-array": JSON_ARRAY,
    "eventstream": _eventstream(),
}


@pytest.mark.parametrize("framing", sorted(STREAMS))
def test_every_two_way_split_gives_the_same_events_and_spans(framing: Framing) -> None:
    data = STREAMS[framing]
    whole = decode(framing, data)
    assert whole
    for i in range(len(data) + 1):
        assert list(iter_decoded(framing, [(0.1, data[:i]), (0.2, data[i:])])) == whole, i
    one_byte = list(iter_decoded(framing, [(float(k), data[k : k + 1]) for k in range(len(data))]))
    assert one_byte == whole
    # Stamped with the read that completed it (a bare number in an array ends at the next byte).
    assert all(e.t == e.end - 1 or (e.t == e.end and e.data[0] not in '[{"') for e in one_byte)
    assert b"".join(split_at(framing, data)) == data


def test_ndjson_lines() -> None:
    events = parse_lines(NDJSON)
    assert [json.loads(e.data).get("done") for e in events] == [False, False, True]
    assert NDJSON[events[1].start : events[1].end].endswith(b"\r\n")
    assert events[1].data.endswith("}")  # the CR is not part of the value
    assert events[2].end == len(NDJSON) and events[2].json()["done_reason"] == "stop"
    assert [e.framing for e in events] == ["ndjson"] * 3


def test_json_array_elements_and_spans() -> None:
    events = parse_elements(JSON_ARRAY)
    assert [e.json() for e in events][2:] == ["tail", 12, True]
    assert events[0].json()["candidates"][0]["content"]["parts"][0]["text"] == 'a ] } " \\'
    assert events[1].json()["candidates"][0]["finishReason"] == "STOP"
    for e in events:
        assert JSON_ARRAY[e.start : e.end].decode() == e.data
    # A truncated array gives the elements that closed, not the one cut off.
    cut = JSON_ARRAY[: events[1].end + 5]
    assert [e.data for e in parse_elements(cut)] == [events[0].data, events[1].data]


def test_json_array_refuses_what_is_not_an_array() -> None:
    with pytest.raises(FramingError, match="starts with '\\['"):
        JSONArrayDecoder().feed(b'{"a": 1}')
    with pytest.raises(FramingError, match="expected ',' or '\\]'"):
        JSONArrayDecoder().feed(b'[{"a": 1} {"b": 2}]')


@pytest.mark.parametrize("decoder_type", [NDJSONDecoder, JSONArrayDecoder])
def test_a_1mb_value_in_small_reads_is_linear(
    decoder_type: type[NDJSONDecoder] | type[JSONArrayDecoder],
) -> None:
    decoder = decoder_type()
    start = time.perf_counter()
    decoder.feed(b'[{"text": "' if decoder_type is JSONArrayDecoder else b'{"text": "')
    for _ in range(1024):  # 1 MB in 1 kB reads; rescanning from the start would take minutes
        assert decoder.feed(b"a" * 1024) == []
    events = decoder.feed(b'"}\n]')
    assert len(events) == 1 and len(events[0].data) == 1024 * 1024 + 12
    assert time.perf_counter() - start < 30


def test_eventstream_messages_parse_in_botocore() -> None:
    data = STREAMS["eventstream"]
    buffer = EventStreamBuffer()
    buffer.add_data(data)
    theirs = list(buffer)
    ours = parse_messages(data)
    assert [m.headers for m in theirs] == [{h.name: h.value for h in m.headers} for m in ours]
    assert [m.payload for m in theirs] == [m.payload for m in ours]
    assert [m.event for m in ours] == ["contentBlockDelta", "messageStop"]
    assert all(m.crc_ok for m in ours)


_NAME = st.text(min_size=1, max_size=20)
_HEADER = st.one_of(
    st.builds(lambda n, v: Header(n, 7, v), _NAME, st.text(max_size=50)),
    st.builds(lambda n, v: Header(n, 6, v), _NAME, st.binary(max_size=50)),
    st.builds(lambda n, v: Header(n, 0 if v else 1, v), _NAME, st.booleans()),
    *(
        st.builds(lambda n, v, k=kind: Header(n, k, v), _NAME, st.integers(-(2**b), 2**b - 1))
        for kind, b in ((2, 7), (3, 15), (4, 31), (5, 63))
    ),
    st.builds(lambda n, v: Header(n, 8, v), _NAME, st.integers(0, 2**62)),
    st.builds(lambda n, v: Header(n, 9, v), _NAME, st.binary(min_size=16, max_size=16)),
)


@given(st.lists(_HEADER, max_size=6, unique_by=lambda h: h.name), st.binary(max_size=300))
def test_eventstream_encoding_round_trips_through_botocore(headers: list[Header], payload: bytes) -> None:
    frame = encode_message(headers, payload)
    buffer = EventStreamBuffer()
    buffer.add_data(frame)
    (theirs,) = list(buffer)
    assert theirs.payload == payload
    expected = {h.name: h.value for h in headers}
    for name, value in theirs.headers.items():
        # botocore gives timestamps as datetimes and UUIDs as bytes; compare what it can.
        if not hasattr(value, "timestamp"):
            assert value == expected[name]
    ours = decode_message(frame)
    assert list(ours.headers) == headers and ours.payload == payload and ours.crc_ok
    assert encode_message(ours.headers, ours.payload) == frame


def test_a_broken_crc_is_reported_by_both_parsers() -> None:
    frame = bytearray(encode_message([Header.string(":event-type", "chunk")], b'{"bytes":"e30="}'))
    frame[-6] ^= 0xFF  # a payload byte: the message CRC no longer matches
    assert not decode_message(bytes(frame)).crc_ok
    buffer = EventStreamBuffer()
    buffer.add_data(bytes(frame))
    with pytest.raises(ChecksumMismatch):
        list(buffer)
    bad_prelude = bytearray(frame)
    bad_prelude[2] ^= 0x01
    with pytest.raises(FramingError, match="prelude CRC mismatch at offset 0"):
        parse_messages(bytes(bad_prelude))


def test_reencode_keeps_each_framing_valid() -> None:
    for framing, data in STREAMS.items():
        events = decode(framing, data)
        first = events[0]
        new = reencode(first, data[first.start : first.end], '{"replaced":true}')
        rebuilt = data[: first.start] + new + data[first.end :]
        again = decode(framing, rebuilt)
        assert again[0].json() == {"replaced": True}, framing
        assert [e.data for e in again[1:]] == [e.data for e in events[1:]], framing
        assert again[0].name == first.name
    message = parse_messages(STREAMS["eventstream"])[0]
    assert isinstance(message, EventStreamMessage)
    buffer = EventStreamBuffer()
    buffer.add_data(message.with_payload(b'{"x":1}'))
    assert next(iter(buffer)).payload == b'{"x":1}'  # CRCs recomputed: botocore accepts it


@pytest.mark.parametrize(
    ("content_type", "body", "expected"),
    [
        ("text/event-stream; charset=utf-8", b"", "sse"),
        ("application/x-ndjson", b"{}\n", "ndjson"),
        ("application/vnd.amazon.eventstream", b"", "eventstream"),
        ("application/json; charset=UTF-8", b'\n[{"candidates": []}', "json-array"),
        ("application/json", b'{"candidates": []}', None),
        (None, b"data: x\n\n", "sse"),
        (None, STREAMS["eventstream"], "eventstream"),
        ("application/octet-stream", b"\x00" * 20, None),
        ("text/plain", b"hello", None),
    ],
)
def test_detect_framing(content_type: str | None, body: bytes, expected: str | None) -> None:
    assert detect_framing(content_type, body) == expected


def test_sse_events_are_framing_events() -> None:
    (event,) = decode("sse", b"event: ping\ndata: {}\n\n")
    assert isinstance(event, SSEEvent) and event.framing == "sse" and event.name == "ping"
    assert not event.carries_data  # a keep-alive does not count for faults


def test_a_large_body_in_one_read_is_linear() -> None:
    # A vcrpy body arrives whole: 4 MB of small SSE events without a CR. Searching the rest of
    # the body for a CR once per line made this quadratic (1 MB took 2.2 s, so 4 MB ~35 s);
    # linear, 4 MB takes ~2 s.
    body = b'data: {"choices":[{"delta":{"content":"hello"}}]}\n\n' * 80_000
    start = time.perf_counter()
    assert len(decode("sse", body)) == 80_000
    assert time.perf_counter() - start < 20
