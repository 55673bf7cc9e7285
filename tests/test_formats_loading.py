"""Loading what users already have: vcrpy files with bytes header values (botocore), event-stream
and other framed bodies in vcrpy files, pydantic-ai's ``parsed_body`` format (both ways), and
scrubbing that treats both sides of matching alike for every body type."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from botocore.eventstream import EventStreamBuffer

import replay
from replay.cli import main as cli_main
from replay.model.cassette import Request
from replay.model.framing import Header, encode_message
from replay.model.yamlio import load_data
from replay.scrub import Scrubber
from replay.vcr.pydantic_ai import body_from_parsed

KEY = "Xk4mPq9RsT2vWz7yBn3cDf6gHj8kLm1NpQr5StUv"
IAM = "https://iam.example.test/identity/token"
FORM = "application/x-www-form-urlencoded"


def _frames() -> list[bytes]:
    def frame(kind: str, payload: dict[str, Any]) -> bytes:
        headers = [Header.string(":event-type", kind), Header.string(":message-type", "event")]
        return encode_message(headers, json.dumps(payload).encode())

    return [
        frame("messageStart", {"role": "assistant"}),
        frame("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": "Hi"}}),
        frame("messageStop", {"stopReason": "end_turn"}),
        frame("metadata", {"usage": {"inputTokens": 3, "outputTokens": 1, "totalTokens": 4}}),
    ]


def _botocore_vcr(tmp_path: Path) -> Path:
    """A vcrpy cassette as botocore's requests are recorded: header values as bytes (!!binary)."""
    data = {
        "version": 1,
        "interactions": [
            {
                "request": {
                    "method": "POST",
                    "uri": "https://bedrock-runtime.us-east-1.amazonaws.com/model/amazon.nova-lite-v1%3A0/converse-stream",
                    "body": '{"messages": [{"role": "user", "content": [{"text": "hi"}]}]}',
                    "headers": {
                        "Content-Type": [b"application/json"],
                        "X-Amz-Date": [b"20261204T120000Z"],
                        "User-Agent": [b"Boto3/1.44.0 md/Botocore#1.44.0"],
                    },
                },
                "response": {
                    "status": {"code": 200, "message": "OK"},
                    "headers": {"Content-Type": ["application/vnd.amazon.eventstream"]},
                    "body": {"string": b"".join(_frames())},
                },
            }
        ],
    }
    path = tmp_path / "bedrock.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    assert "!!binary" in path.read_text()
    return path


def test_bytes_header_values_load_as_vcrpy_loads_them(tmp_path: Path) -> None:
    from vcr.serialize import deserialize
    from vcr.serializers import yamlserializer

    path = _botocore_vcr(tmp_path)
    requests, _ = deserialize(path.read_text(), yamlserializer)  # vcrpy itself accepts it
    assert requests[0].headers["Content-Type"] == b"application/json"
    interaction = replay.load_cassette(path).interactions[0]
    assert interaction.request.header("x-amz-date") == "20261204T120000Z"
    response = interaction.response
    # The event-stream body is cut at its messages, one synthetic-timed chunk each.
    assert response.framing == "eventstream"
    assert [c.data for c in response.chunks] == _frames()
    assert [e.name for e in response.events()] == [
        "messageStart",
        "contentBlockDelta",
        "messageStop",
        "metadata",
    ]


def test_a_botocore_vcrpy_cassette_replays_byte_exact(tmp_path: Path) -> None:
    path = _botocore_vcr(tmp_path)
    recorded = replay.load_cassette(path).interactions[0]
    with replay.use_cassette(path), httpx.Client() as client:
        r = client.post(recorded.request.url, content=recorded.request.body)
    assert r.content == b"".join(_frames())
    buffer = EventStreamBuffer()
    buffer.add_data(r.content)
    assert [m.headers[":event-type"] for m in buffer][-1] == "metadata"


PYDANTIC_AI = """\
interactions:
- request:
    headers:
      accept:
      - application/json
      content-type:
      - application/json
    method: POST
    parsed_body:
      messages:
      - content: "Caf\\xE9 in one word"
        role: user
      model: gpt-4o
      temperature: 0.5
    uri: https://api.openai.com/v1/chat/completions
  response:
    headers:
      content-type:
      - application/json
    parsed_body:
      choices:
      - finish_reason: stop
        index: 0
        message:
          content: |-
            Coffee.
            Ok
          role: assistant
      created: 1764000000
      id: chatcmpl-1
      model: gpt-4o
      object: chat.completion
      usage:
        completion_tokens: 3
        prompt_tokens: 5
        total_tokens: 8
    status:
      code: 200
      message: OK
- request:
    headers:
      content-type:
      - application/json
    method: POST
    parsed_body:
      messages: []
      model: gpt-4o
      stream: true
    uri: https://api.openai.com/v1/chat/completions
  response:
    body:
      string: |+
        data: {"id":"c2","object":"chat.completion.chunk","created":1,"model":"m","choices":[\
        {"index":0,"delta":{"content":"Hi"},"finish_reason":null}]}

        data: {"id":"c2","object":"chat.completion.chunk","created":1,"model":"m","choices":[\
        {"index":0,"delta":{},"finish_reason":"stop"}]}

        data: [DONE]

    headers:
      content-type:
      - text/event-stream
    status:
      code: 200
      message: OK
version: 1
"""


def test_pydantic_ai_parsed_bodies_become_the_bytes_it_replays(tmp_path: Path) -> None:
    path = tmp_path / "pai.yaml"
    path.write_text(PYDANTIC_AI, encoding="utf-8")
    cassette = replay.load_cassette(path)
    request = cassette.interactions[0].request
    # json.dumps defaults: ", " and ": " separators, ASCII escapes, stored key order.
    assert request.body == (
        b'{"messages": [{"content": "Caf\\u00e9 in one word", "role": "user"}], "model": "gpt-4o", '
        b'"temperature": 0.5}'
    )
    response = cassette.interactions[0].response
    assert response.body == body_from_parsed(
        yaml.safe_load(PYDANTIC_AI)["interactions"][0]["response"]["parsed_body"]
    )
    assert response.chat_completion().choices[0].message.content == "Coffee.\nOk"
    stream = cassette.interactions[1].response
    assert [e.data for e in stream.events()][-1] == "[DONE]" and len(stream.chunks) == 3


def test_pydantic_ai_cassettes_replay_through_the_openai_sdk(tmp_path: Path) -> None:
    import openai

    path = tmp_path / "pai.yaml"
    path.write_text(PYDANTIC_AI, encoding="utf-8")
    with replay.use_cassette(path), openai.OpenAI(api_key="sk-test", max_retries=0) as client:
        completion = client.chat.completions.create(
            model="gpt-4o", messages=[{"role": "user", "content": "Café in one word"}], temperature=0.5
        )
        chunks = list(client.chat.completions.create(model="gpt-4o", messages=[], stream=True))
    assert completion.choices[0].message.content == "Coffee.\nOk"
    assert chunks[-1].choices[0].finish_reason == "stop"


def test_convert_pydantic_ai_to_native_and_back(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = tmp_path / "pai.yaml"
    source.write_text(PYDANTIC_AI, encoding="utf-8")
    assert cli_main(["convert", str(source), str(tmp_path / "native.yaml")]) == 0
    assert "(pydantic-ai -> native)" in capsys.readouterr().out
    native = replay.load_cassette(tmp_path / "native.yaml")
    assert [i.response.body for i in native.interactions] == [
        i.response.body for i in replay.load_cassette(source).interactions
    ]
    assert (
        cli_main(
            ["convert", str(tmp_path / "native.yaml"), str(tmp_path / "back.yaml"), "--to", "pydantic-ai"]
        )
        == 0
    )
    back = load_data((tmp_path / "back.yaml").read_text())
    original = yaml.safe_load(PYDANTIC_AI)
    for got, want in zip(back["interactions"], original["interactions"], strict=True):
        for side in ("request", "response"):
            assert got[side].get("parsed_body") == want[side].get("parsed_body")
            assert ("body" in got[side]) == ("body" in want[side])
    # ...and what it replays is byte for byte what the original replays.
    again = replay.load_cassette(tmp_path / "back.yaml")
    assert [i.request.body for i in again.interactions] == [i.request.body for i in native.interactions]
    assert [i.response.body for i in again.interactions] == [i.response.body for i in native.interactions]


def _form_cassette(tmp_path: Path, body: str, content_type: str | None) -> Path:
    headers = {"Content-Type": [content_type]} if content_type else {}
    data = {
        "version": 1,
        "interactions": [
            {
                "request": {
                    "method": "POST",
                    "uri": "https://iam.example.test/identity/token",
                    "body": body,
                    "headers": headers,
                },
                "response": {
                    "status": {"code": 200, "message": "OK"},
                    "headers": {"Content-Type": ["application/json"]},
                    "body": {"string": '{"access_token": "scrubbed", "expires_in": 3600}'},
                },
            }
        ],
    }
    path = tmp_path / "iam.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("recorded_body", "content_type"),
    [
        # Scrubbed by another tool, re-encoded (":" unescaped), the key replaced by its placeholder.
        (
            "grant_type=urn:ibm:params:oauth:grant-type:apikey&apikey=scrubbed",
            "application/x-www-form-urlencoded",
        ),
        # The recording lost its content type: the body still reads as a form on both sides.
        (f"grant_type=urn%3Aibm%3Aparams%3Aoauth%3Agrant-type%3Aapikey&apikey={KEY}", None),
    ],
    ids=["reencoded-placeholder", "no-content-type"],
)
def test_a_form_credential_matches_its_scrubbed_recording(
    tmp_path: Path, recorded_body: str, content_type: str | None
) -> None:
    path = _form_cassette(tmp_path, recorded_body, content_type)
    form = {"grant_type": "urn:ibm:params:oauth:grant-type:apikey", "apikey": KEY}
    with replay.use_cassette(path), httpx.Client() as client:
        r = client.post(IAM, data=form)
    assert r.json()["expires_in"] == 3600


def _multipart(value: str) -> bytes:
    return (
        f'--b0undary\r\nContent-Disposition: form-data; name="apikey"\r\n\r\n{value}\r\n'
        '--b0undary\r\nContent-Disposition: form-data; name="file"; filename="a.txt"\r\n'
        "Content-Type: text/plain\r\n\r\nhello\r\n--b0undary--\r\n"
    ).encode()


BODIES = {
    "json": ("application/json", json.dumps({"apikey": KEY, "q": "x"}).encode()),
    "form": ("application/x-www-form-urlencoded", f"apikey={KEY}&grant_type=x".encode()),
    "form-untyped": ("", f"grant_type=x&client_secret={KEY}".encode()),
    "multipart": ("multipart/form-data; boundary=b0undary", _multipart(KEY)),
    "multipart-untyped": ("", _multipart(KEY)),
    "text": ("text/plain", f"token sk-proj-{KEY}".encode()),
}


@pytest.mark.parametrize("kind", sorted(BODIES))
def test_scrubbing_is_symmetric_and_removes_the_key(kind: str) -> None:
    content_type, body = BODIES[kind]
    headers = [("content-type", content_type)] if content_type else []
    live = Request(method="POST", url="https://x.test/t", headers=headers, body=body)
    scrubber = Scrubber.build()
    written = scrubber.scrub_request(live)
    assert KEY.encode() not in written.body, written.body
    # What matching compares: the live request and its written recording prepare alike.
    assert scrubber.prepare(written).body == scrubber.prepare(live).body
    assert scrubber.prepare(written).body == written.body
