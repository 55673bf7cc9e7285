"""boto3 itself (signing, urllib3, botocore's parsers) on translated Bedrock answers.

boto3 sends with urllib3, which llm-replay does not intercept in-process yet, so a real HTTP
server on 127.0.0.1 serves the translated recording's reads; it answers only a request whose
conversation equals the recording's (the ``chat`` matcher's key), so the request boto3 builds
from the translated request body is checked too.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import boto3
import pytest
from conftest import require_real_cassettes

import replay
from replay.chat.matchkey import chat_key

OPENAI_TOOLS = "openai/tests/traces/cassettes/test_chat/test_chat_tools_streaming.yaml"
ANTHROPIC_THINKING = "anthropic/tests/cassettes/test_thinking/test_anthropic_thinking_streaming_legacy.yaml"


def _serve(answers: dict[str, replay.Interaction]) -> tuple[ThreadingHTTPServer, str]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            return None

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["content-length"]))
            op = self.path.rsplit("/", 1)[-1]
            recorded = answers[op]
            url = f"https://bedrock-runtime.us-east-1.amazonaws.com{self.path}"
            if chat_key("POST", url, body) != chat_key("POST", recorded.request.url, recorded.request.body):
                self.send_response(400)
                self.send_header("content-length", "0")
                self.end_headers()
                return
            self.send_response(recorded.response.status)
            for name, value in recorded.response.headers:
                self.send_header(name, value)
            self.send_header("transfer-encoding", "chunked")
            self.end_headers()
            for chunk in recorded.response.chunks:
                self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk.data), chunk.data))
            self.wfile.write(b"0\r\n\r\n")

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


@pytest.fixture
def bedrock() -> Iterator[Any]:
    yield lambda base: boto3.client(
        "bedrock-runtime",
        endpoint_url=base,
        region_name="us-east-1",
        aws_access_key_id="AKIDTEST",
        aws_secret_access_key="test-secret",
    )


@pytest.mark.parametrize("source", [OPENAI_TOOLS, ANTHROPIC_THINKING])
def test_boto3_converse_and_converse_stream_read_translated_recordings(source: str, bedrock: Any) -> None:
    path = require_real_cassettes() / f"openllmetry/packages/opentelemetry-instrumentation-{source}"
    recorded = replay.load_cassette(path).interactions[0]
    stream = replay.translate(recorded, to="bedrock-converse", stream=True)
    whole = replay.translate(recorded, to="bedrock-converse", stream=False)
    server, base = _serve({"converse-stream": stream, "converse": whole})
    try:
        client = bedrock(base)
        params = json.loads(stream.request.body)
        model = stream.request.path.split("/")[2]
        events = list(client.converse_stream(modelId=model, **params)["stream"])
        answer = client.converse(modelId=model, **params)
    finally:
        server.shutdown()
        server.server_close()
    done = recorded.response.chat_completion()
    if isinstance(done, replay.chat.ChatCompletion):
        text = done.choices[0].message.content or ""
        calls = [
            (c.function.name, json.loads(c.function.arguments))
            for c in done.choices[0].message.tool_calls or []
        ]
        reason = "tool_use" if calls else "end_turn"
    else:
        text = "".join(b.text for b in done.content if b.type == "text")
        calls = [(b.name, b.input) for b in done.content if b.type == "tool_use"]
        reason = {"tool_use": "tool_use", "end_turn": "end_turn"}[str(done.stop_reason)]
    streamed = "".join(
        e["contentBlockDelta"]["delta"].get("text", "") for e in events if "contentBlockDelta" in e
    )
    assert streamed == text
    assert next(e["messageStop"]["stopReason"] for e in events if "messageStop" in e) == reason
    content = answer["output"]["message"]["content"]
    assert "".join(b.get("text", "") for b in content) == text
    assert [(b["toolUse"]["name"], b["toolUse"]["input"]) for b in content if "toolUse" in b] == calls
    assert answer["stopReason"] == reason
    assert answer["metrics"]["latencyMs"] == round(recorded.response.chunk_times[-1] * 1000)
