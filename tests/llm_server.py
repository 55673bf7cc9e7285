"""A real HTTP server on 127.0.0.1 that speaks the OpenAI-compatible chat API and Anthropic's
messages API, streaming SSE with chosen delays, for recording tests and benchmarks; and, through
:mod:`api_routes`, Ollama (NDJSON), Gemini (SSE / JSON array), Bedrock (AWS event-stream) and
the OpenAI Responses API (typed SSE).

It writes each SSE event as its own HTTP/1.1 chunk and flushes it, sleeping between events, so a
client sees one network read per event at the scripted times. ``hold_last`` makes the server
wait for the test before sending the final event, which proves a recorder does not buffer.

The server keeps its own send schedule of the last streamed response (``head_sent_at``,
``sent``: seconds from the arrival of the request line to just before the bytes were written,
on the real clock), so tests can check recorded times against what happened on the wire.
"""

from __future__ import annotations

import gzip
import json
import socket
import threading
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self

from api_routes import route

from replay.timing.clock import REAL

__all__ = ["LLMServer", "LocalServer", "Script"]


@dataclass
class Script:
    """What the server answers: tokens and timing (seconds)."""

    tokens: list[str] = field(
        default_factory=lambda: ["Hello", " from", " the", " local", " test", " server", "."]
    )
    head_delay: float = 0.25  # request -> response headers
    first_delay: float = 0.05  # headers -> first event
    gaps: list[float] = field(default_factory=lambda: [0.04, 0.08, 0.12])  # between events, cycled
    finish_reason: str = "stop"
    gzip_json: bool = True
    model: str | None = None  # None: echo the requested model
    disconnect_after: int | None = None  # events sent before the connection is dropped mid-body

    def gap(self, i: int) -> float:
        return self.gaps[i % len(self.gaps)] if self.gaps else 0.0


class LocalServer(ABC):
    """A local HTTP server on a free port, served from a daemon thread: ``start()`` (in the subclass)
    hands its server to :meth:`_serve`; :meth:`stop`, or use it as a context manager."""

    _httpd: ThreadingHTTPServer | None

    @abstractmethod
    def start(self) -> str:
        """Start serving; the base URL."""

    @property
    def base_url(self) -> str:
        assert self._httpd is not None, "server not started"
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def _serve(self, httpd: ThreadingHTTPServer, name: str) -> str:
        self._httpd = httpd
        httpd.daemon_threads = True
        # A short poll interval makes stop() take ~50 ms instead of serve_forever's default 0.5 s.
        threading.Thread(target=httpd.serve_forever, args=(0.05,), name=name, daemon=True).start()
        return self.base_url

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


class LLMServer(LocalServer):
    """Start with :meth:`start` (returns the base URL) and stop with :meth:`stop`.

    Example usage::

        server = LLMServer()
        base = server.start()            # "http://127.0.0.1:PORT"
        client = openai.OpenAI(base_url=base + "/v1", api_key="sk-test")
    """

    def __init__(self, script: Script | None = None) -> None:
        self.script = script or Script()
        self.requests: list[dict[str, Any]] = []
        # The last streamed response, in seconds since the request line arrived (real clock):
        # when the head was about to be sent, and (time, bytes) as each event was about to be.
        self.received_at = 0.0  # REAL.perf_counter() when the last request line arrived
        self.head_sent_at: float | None = None
        self.sent: list[tuple[float, bytes]] = []
        self.hold_last = threading.Event()
        self.hold_last.set()  # set = do not hold
        self.waiting_for_release = threading.Event()
        self._httpd: ThreadingHTTPServer | None = None

    def start(self) -> str:
        server = self

        class Handler(_Handler):
            owner = server

        return self._serve(_QuietServer(("127.0.0.1", 0), Handler), "llm-server")


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients closing keep-alive connections (or tests dropping them) are not errors here.
        import sys

        if not isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    owner: LLMServer
    protocol_version = "HTTP/1.1"
    # Each SSE event is its own small write: without this, Nagle's algorithm holds it until the
    # client's delayed ACK (~40 ms), and recorded timings would show that instead of the script.
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:
        return None

    def parse_request(self) -> bool:
        # The request line has just arrived: the start of the server's schedule. (The body can
        # come tens of ms later, held by the client's Nagle algorithm.)
        self.owner.received_at = REAL.perf_counter()
        return super().parse_request()

    # -- plumbing ---------------------------------------------------------------------------

    def _read_json(self) -> dict[str, Any]:
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length) if length else b""
        self.owner.requests.append(
            {"method": self.command, "path": self.path, "headers": dict(self.headers), "body": raw}
        )
        try:
            body = json.loads(raw) if raw else {}
        except ValueError:
            body = {}
        return body if isinstance(body, dict) else {}

    def _send_json(
        self, status: int, payload: Any, *, pretty: bool = True, content_type: str = "application/json"
    ) -> None:
        script = self.owner.script
        REAL.sleep(script.head_delay)
        data = (json.dumps(payload, indent=2) if pretty else json.dumps(payload)).encode()
        use_gzip = script.gzip_json and "gzip" in (self.headers.get("accept-encoding") or "")
        if use_gzip:
            data = gzip.compress(data, mtime=0)
        self.send_response(status)
        self.send_header("content-type", content_type)
        self.send_header("content-length", str(len(data)))
        self.send_header("x-request-id", f"req_{len(self.owner.requests)}")
        if use_gzip:
            self.send_header("content-encoding", "gzip")
        self.end_headers()
        self.wfile.write(data)
        self.wfile.flush()

    def _send_stream(
        self, events: Iterator[bytes], content_type: str = "text/event-stream; charset=utf-8"
    ) -> None:
        script = self.owner.script
        owner = self.owner
        owner.sent = []
        owner.head_sent_at = None
        REAL.sleep(script.head_delay)
        self.send_response(200)
        self.send_header("content-type", content_type)
        self.send_header("cache-control", "no-cache")
        self.send_header("transfer-encoding", "chunked")
        self.send_header("x-request-id", f"req_{len(owner.requests)}")
        # Taken before the bytes leave, so that it is never later than their arrival.
        owner.head_sent_at = REAL.perf_counter() - owner.received_at
        self.end_headers()
        self.wfile.flush()
        all_events = list(events)
        REAL.sleep(script.first_delay)
        for i, event in enumerate(all_events):
            if i > 0:
                REAL.sleep(script.gap(i - 1))
            if i == len(all_events) - 1 and not owner.hold_last.is_set():
                owner.waiting_for_release.set()
                owner.hold_last.wait(timeout=30)
            if script.disconnect_after is not None and i >= script.disconnect_after:
                # Drop the connection mid-body: no terminating zero-length chunk.
                self.wfile.flush()
                self.connection.shutdown(socket.SHUT_RDWR)
                self.close_connection = True
                return
            owner.sent.append((REAL.perf_counter() - owner.received_at, event))
            self.wfile.write(f"{len(event):x}\r\n".encode() + event + b"\r\n")
            self.wfile.flush()
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    # -- routes -----------------------------------------------------------------------------

    def do_POST(self) -> None:
        body = self._read_json()
        path = self.path.split("?")[0]
        if path.endswith("/chat/completions"):
            self._chat(body)
        elif path.endswith("/messages"):
            self._messages(body)
        elif path.startswith("/model/") and path.endswith("/converse"):
            self._converse(body)
        elif path.startswith("/model/") and path.endswith("/converse-stream"):
            self._converse_stream()
        elif (
            answer := route(
                path,
                self.path.partition("?")[2],
                body,
                self.owner.script.tokens,
                self.owner.script.finish_reason,
            )
        ) is not None:
            if answer.frames is None:
                self._send_json(answer.status, answer.payload, pretty=False, content_type=answer.content_type)
            else:
                self._send_stream(iter(answer.frames), answer.content_type)
        else:
            self._send_json(404, {"error": {"message": f"no route {path}", "type": "invalid_request_error"}})

    def _chat(self, body: dict[str, Any]) -> None:
        script = self.owner.script
        model = script.model or body.get("model", "test-model")
        tokens = script.tokens
        n_prompt = sum(len(str(m.get("content", "")).split()) for m in body.get("messages", []))
        usage = {
            "prompt_tokens": n_prompt,
            "completion_tokens": len(tokens),
            "total_tokens": n_prompt + len(tokens),
        }
        created = 1_764_000_000
        cid = "chatcmpl-test123"
        if not body.get("stream"):
            self._send_json(
                200,
                {
                    "id": cid,
                    "object": "chat.completion",
                    "created": created,
                    "model": model,
                    "choices": [
                        {
                            "index": 0,
                            "message": {"role": "assistant", "content": "".join(tokens), "refusal": None},
                            "logprobs": None,
                            "finish_reason": script.finish_reason,
                        }
                    ],
                    "usage": usage,
                    "system_fingerprint": "fp_test",
                },
            )
            return

        def chunk(delta: dict[str, Any], finish: str | None) -> dict[str, Any]:
            return {
                "id": cid,
                "object": "chat.completion.chunk",
                "created": created,
                "model": model,
                "system_fingerprint": "fp_test",
                "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
            }

        def events() -> Iterator[bytes]:
            yield _sse(chunk({"role": "assistant", "content": ""}, None))
            for token in tokens:
                yield _sse(chunk({"content": token}, None))
            yield _sse(chunk({"content": None}, script.finish_reason))
            if (body.get("stream_options") or {}).get("include_usage"):
                final = chunk({}, None)
                final["choices"] = []
                final["usage"] = usage
                yield _sse(final)
            yield b"data: [DONE]\n\n"

        self._send_stream(events())

    def _converse(self, body: dict[str, Any]) -> None:
        """Bedrock runtime's Converse API (``POST /model/{modelId}/converse``), non-streaming."""
        script = self.owner.script
        tokens = script.tokens
        stop = {"stop": "end_turn", "length": "max_tokens"}.get(script.finish_reason, script.finish_reason)
        self._send_json(
            200,
            {
                "output": {"message": {"role": "assistant", "content": [{"text": "".join(tokens)}]}},
                "stopReason": stop,
                "usage": {"inputTokens": 10, "outputTokens": len(tokens), "totalTokens": 10 + len(tokens)},
                "metrics": {"latencyMs": 42},
            },
            pretty=False,
        )

    def _converse_stream(self) -> None:
        """Bedrock's ConverseStream: AWS event-stream messages, one per HTTP chunk."""
        script = self.owner.script
        stop = {"stop": "end_turn", "length": "max_tokens"}.get(script.finish_reason, script.finish_reason)

        def events() -> Iterator[bytes]:
            yield _aws_event("messageStart", {"role": "assistant"})
            for token in script.tokens:
                yield _aws_event("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": token}})
            yield _aws_event("contentBlockStop", {"contentBlockIndex": 0})
            yield _aws_event("messageStop", {"stopReason": stop})
            usage = {
                "inputTokens": 10,
                "outputTokens": len(script.tokens),
                "totalTokens": 10 + len(script.tokens),
            }
            yield _aws_event("metadata", {"usage": usage, "metrics": {"latencyMs": 42}})

        self._send_stream(events(), "application/vnd.amazon.eventstream")

    def _messages(self, body: dict[str, Any]) -> None:
        script = self.owner.script
        model = script.model or body.get("model", "claude-test")
        tokens = script.tokens
        stop = {"stop": "end_turn", "length": "max_tokens"}.get(script.finish_reason, script.finish_reason)
        mid = "msg_test123"
        if not body.get("stream"):
            self._send_json(
                200,
                {
                    "id": mid,
                    "type": "message",
                    "role": "assistant",
                    "model": model,
                    "content": [{"type": "text", "text": "".join(tokens)}],
                    "stop_reason": stop,
                    "stop_sequence": None,
                    "usage": {"input_tokens": 10, "output_tokens": len(tokens)},
                },
                pretty=False,
            )
            return

        def events() -> Iterator[bytes]:
            start = {
                "type": "message_start",
                "message": {
                    "id": mid,
                    "type": "message",
                    "role": "assistant",
                    "model": model,
                    "content": [],
                    "stop_reason": None,
                    "stop_sequence": None,
                    "usage": {"input_tokens": 10, "output_tokens": 1},
                },
            }
            yield _sse(start, "message_start")
            yield _sse(
                {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
                "content_block_start",
            )
            yield _sse({"type": "ping"}, "ping")
            for token in tokens:
                yield _sse(
                    {
                        "type": "content_block_delta",
                        "index": 0,
                        "delta": {"type": "text_delta", "text": token},
                    },
                    "content_block_delta",
                )
            yield _sse({"type": "content_block_stop", "index": 0}, "content_block_stop")
            yield _sse(
                {
                    "type": "message_delta",
                    "delta": {"stop_reason": stop, "stop_sequence": None},
                    "usage": {"output_tokens": len(tokens)},
                },
                "message_delta",
            )
            yield _sse({"type": "message_stop"}, "message_stop")

        self._send_stream(events())


def _sse(payload: Any, event: str | None = None) -> bytes:
    data = json.dumps(payload, separators=(",", ":"))
    prefix = f"event: {event}\n" if event else ""
    return f"{prefix}data: {data}\n\n".encode()


def _aws_event(event_type: str, payload: Any) -> bytes:
    """One AWS event-stream message (prelude, string headers, JSON payload, CRC32s)."""
    import struct
    import zlib

    headers = b""
    for name, value in (
        (":event-type", event_type),
        (":content-type", "application/json"),
        (":message-type", "event"),
    ):
        raw = value.encode()
        headers += bytes([len(name)]) + name.encode() + b"\x07" + struct.pack(">H", len(raw)) + raw
    body = json.dumps(payload, separators=(",", ":")).encode()
    total = 12 + len(headers) + len(body) + 4
    prelude = struct.pack(">II", total, len(headers))
    prelude += struct.pack(">I", zlib.crc32(prelude))
    message = prelude + headers + body
    return message + struct.pack(">I", zlib.crc32(message))
