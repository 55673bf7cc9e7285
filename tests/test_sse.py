"""SSE framing per the WHATWG rules, with byte spans, for any split of the bytes."""

from __future__ import annotations

import math
import time
from typing import Any

import pytest

from replay.model.sse import SSEDecoder, encode_event, iter_events, parse_events, split_at_events

STREAM = (
    b": keep-alive\n\n"
    b'event: message_start\r\ndata: {"a":1}\r\n\r\n'
    b"data: line one\ndata: line two\n\n"
    b"id: 7\rretry: 1500\rdata:no-space\r\r"
    b"event: ignored-without-data\n\n"
    b"data: [DONE]\n\n"
)


def test_fields_comments_and_line_endings() -> None:
    events = parse_events(STREAM)
    assert [(e.event, e.data) for e in events] == [
        ("message_start", '{"a":1}'),
        ("message", "line one\nline two"),
        ("message", "no-space"),
        ("message", "[DONE]"),
    ]
    assert events[2].id == "7" and events[2].retry == 1500
    assert events[-1].is_done
    # Spans cover each event's frame (a comment block before it belongs to nobody).
    assert STREAM[events[0].start : events[0].end].startswith(b"event: message_start")
    assert STREAM[events[-1].start : events[-1].end] == b"data: [DONE]\n\n"


def test_every_two_way_split_gives_the_same_events() -> None:
    expected = parse_events(STREAM)
    for i in range(len(STREAM) + 1):
        assert list(iter_events([STREAM[:i], STREAM[i:]])) == expected, i


def test_byte_by_byte_feeding_gives_the_same_events() -> None:
    assert list(iter_events(bytes([b]) for b in STREAM)) == parse_events(STREAM)


def test_crlf_split_between_cr_and_lf_is_one_line_break() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"data: a\r\n\r") == []
    events = decoder.feed(b"\n")
    assert [e.data for e in events] == ["a"]
    assert events[0].end == 11


def test_bom_is_ignored_and_unterminated_last_event_is_flushed() -> None:
    events = list(iter_events([b"\xef\xbb", b"\xbfdata: x\n\ndata: tail"]))
    assert [e.data for e in events] == ["x", "tail"]


def test_max_line_refuses_an_endless_line() -> None:
    decoder = SSEDecoder(max_line=1000)
    with pytest.raises(ValueError, match="SSE line longer than 1000 bytes"):
        for _ in range(20):
            decoder.feed(b"x" * 100)


def _feed_one_line(kilobytes: int) -> tuple[float, list[Any]]:
    """CPU seconds (best of 5) to feed one line of ``kilobytes`` kB in 1 kB reads, and the events."""
    piece = b"a" * 1024
    best, events = math.inf, []
    for _ in range(5):
        decoder = SSEDecoder()
        start = time.process_time()
        for _ in range(kilobytes):
            assert decoder.feed(piece) == []
        events = decoder.feed(b"\n\n")
        best = min(best, time.process_time() - start)
        assert decoder.finish() == []
    return best, events


def test_a_4mb_line_in_small_reads_is_linear() -> None:
    small, small_events = _feed_one_line(64)
    large, events = _feed_one_line(4096)
    # "aaaa..." is a field name without a value: an unknown field, so no event is dispatched.
    assert events == [] and small_events == []
    # 64 times the bytes: linear work measures 170-190x (buffer growth and cache misses
    # included); searching the whole buffer again on every read measures ~2,400x. CPU time of
    # this process, best of 5, so other processes' load does not count.
    assert large / small < 600, (small, large)


def test_split_at_events_keeps_every_byte() -> None:
    pieces = split_at_events(STREAM + b"trailing")
    assert b"".join(pieces) == STREAM + b"trailing"
    assert pieces[-1] == b"trailing"
    # A frame that dispatches nothing (no data) travels with the next event's piece.
    assert pieces[-2] == b"event: ignored-without-data\n\ndata: [DONE]\n\n"


def test_encode_event_round_trips() -> None:
    raw = encode_event("a\nb", event="delta", id="3", eol="\r\n")
    assert raw == b"event: delta\r\nid: 3\r\ndata: a\r\ndata: b\r\n\r\n"
    (event,) = parse_events(raw)
    assert (event.event, event.id, event.data) == ("delta", "3", "a\nb")
