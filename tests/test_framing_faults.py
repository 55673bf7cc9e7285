"""Faults on each framing at the byte level: what a raw client receives stays valid for the
framing (JSON array closed, event-stream CRCs recomputed), finish reasons land in each API's
own field for non-streamed bodies too."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from botocore.eventstream import EventStreamBuffer

import replay
from replay.faults import ErrorEvent, FaultNotApplied, FinishReason, MalformedEvent, Rechunk, Truncate
from replay.model.cassette import Cassette, Chunk, Interaction, Request, Response
from replay.model.framing import Header, decode, encode_message

URL = "http://api.test/v1/x"


def _cassette(tmp_path: Path, content_type: str, *pieces: bytes) -> Path:
    response = Response(
        status=200,
        t=0.1,
        headers=[("content-type", content_type)],
        chunks=[Chunk(0.1 + 0.01 * i, p) for i, p in enumerate(pieces)],
    )
    path = tmp_path / "c.yaml"
    Cassette(interactions=[Interaction(request=Request(method="POST", url=URL), response=response)]).save(
        path
    )
    return path


def _body(path: Path, *faults: Any) -> bytes:
    with replay.use_cassette(path, faults=list(faults)), httpx.Client() as client:
        return client.post(URL).content


@pytest.mark.parametrize(
    ("body", "reason", "field"),
    [
        (
            {"candidates": [{"content": {"parts": [{"text": "x"}]}, "finishReason": "STOP"}]},
            "MAX_TOKENS",
            lambda b: b["candidates"][0]["finishReason"],
        ),
        (
            {
                "model": "m",
                "created_at": "t",
                "message": {"content": "x"},
                "done": True,
                "done_reason": "stop",
            },
            "length",
            lambda b: b["done_reason"],
        ),
        (
            {"output": {"message": {"content": [{"text": "x"}]}}, "stopReason": "end_turn"},
            "max_tokens",
            lambda b: b["stopReason"],
        ),
        (
            {
                "id": "r",
                "object": "response",
                "status": "completed",
                "incomplete_details": None,
                "output": [],
            },
            "max_output_tokens",
            lambda b: (b["status"], b["incomplete_details"]["reason"]),
        ),
    ],
    ids=["gemini", "ollama", "bedrock", "responses"],
)
def test_finish_reason_on_non_streamed_bodies(tmp_path: Path, body: Any, reason: Any, field: Any) -> None:
    path = _cassette(tmp_path, "application/json", json.dumps(body).encode())
    out = json.loads(_body(path, FinishReason("length")))
    expected = ("incomplete", "max_output_tokens") if isinstance(field(out), tuple) else reason
    assert field(out) == expected


def _gemini_array() -> list[bytes]:
    chunks = [
        {
            "candidates": [
                {"content": {"parts": [{"text": t}]}, **({"finishReason": "STOP"} if t == "c" else {})}
            ]
        }
        for t in "abc"
    ]
    return [
        ("[" if i == 0 else ",\r\n").encode() + json.dumps(c, indent=2).encode() for i, c in enumerate(chunks)
    ] + [b"\n]"]


@pytest.mark.parametrize("n", [0, 1, 2])
def test_truncate_closes_a_json_array(tmp_path: Path, n: int) -> None:
    path = _cassette(tmp_path, "application/json", *_gemini_array())
    elements = json.loads(_body(path, Truncate(after_events=n)))
    assert [e["candidates"][0]["content"]["parts"][0]["text"] for e in elements] == list("abc"[:n])


def test_truncate_before_finish_and_error_event_keep_the_array_valid(tmp_path: Path) -> None:
    path = _cassette(tmp_path, "application/json", *_gemini_array())
    assert len(json.loads(_body(path, Truncate(before_finish=True)))) == 2
    elements = json.loads(_body(path, ErrorEvent(at_event=1)))
    assert len(elements) == 2 and elements[1]["error"]["status"] == "INTERNAL"


def _eventstream() -> list[bytes]:
    def frame(name: str, payload: dict[str, Any]) -> bytes:
        return encode_message(
            [Header.string(":event-type", name), Header.string(":message-type", "event")],
            json.dumps(payload).encode(),
        )

    return [
        frame("messageStart", {"role": "assistant"}),
        frame("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": "Hi"}}),
        frame("messageStop", {"stopReason": "end_turn"}),
    ]


def _botocore(data: bytes) -> list[Any]:
    buffer = EventStreamBuffer()
    buffer.add_data(data)
    return list(buffer)  # raises ChecksumMismatch on a wrong CRC


def test_event_stream_faults_keep_every_crc_right(tmp_path: Path) -> None:
    path = _cassette(tmp_path, "application/vnd.amazon.eventstream", *_eventstream())
    stopped = _botocore(_body(path, FinishReason("length")))
    assert json.loads(stopped[-1].payload) == {"stopReason": "max_tokens"}
    errored = _botocore(_body(path, ErrorEvent(at_event=1)))
    assert len(errored) == 2
    assert errored[1].headers[":message-type"] == "exception"
    assert errored[1].headers[":exception-type"] == "modelStreamErrorException"
    broken = _botocore(_body(path, MalformedEvent(at_event=1)))
    assert broken[1].headers[":event-type"] == "contentBlockDelta"
    with pytest.raises(ValueError):
        json.loads(broken[1].payload)  # the payload is cut, the frame itself is valid
    assert [m.payload for m in _botocore(_body(path, Rechunk(1)))] == [
        m.payload for m in _botocore(b"".join(_eventstream()))
    ]


def test_ndjson_faults_stay_one_value_a_line(tmp_path: Path) -> None:
    lines = [
        json.dumps({"model": "m", "created_at": "t", "response": t, "done": t == "c"}).encode() + b"\n"
        for t in "abc"
    ]
    path = _cassette(tmp_path, "application/x-ndjson", *lines)
    body = _body(path, ErrorEvent(at_event=1))
    assert [json.loads(line) for line in body.splitlines()][1] == {
        "error": "an error was encountered while running the model"
    }
    assert [e.data for e in decode("ndjson", _body(path, Truncate(after_events=2)))] == [
        line.decode().strip() for line in lines[:2]
    ]
    # Line endings are an SSE matter: on NDJSON the fault reports (on close) that it changed nothing.
    context = replay.use_cassette(path, faults=[Rechunk(eol="\r\n")])
    with pytest.raises(FaultNotApplied, match="SSE streams"), context, httpx.Client() as client:
        client.post(URL)
