"""A local server answering every request with one error response (status, headers, JSON body,
optionally sent late or chunked without a Content-Length)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from llm_server import LocalServer

from replay.timing.clock import REAL

__all__ = ["ErrorServer"]


@dataclass
class ErrorServer(LocalServer):
    status: int = 429
    payload: dict[str, Any] = field(
        default_factory=lambda: {"error": {"message": "Rate limit reached for requests", "type": "requests"}}
    )
    body_delay: float = 0.0  # seconds between the head and the body
    chunked: bool = False  # no Content-Length: Transfer-Encoding: chunked
    _httpd: ThreadingHTTPServer | None = None

    def start(self) -> str:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("content-length") or 0))
                body = json.dumps(server.payload).encode()
                self.send_response(server.status)
                self.send_header("content-type", "application/json")
                self.send_header("retry-after-ms", "1")
                if server.chunked:
                    self.send_header("transfer-encoding", "chunked")
                else:
                    self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.flush()
                REAL.sleep(server.body_delay)
                if server.chunked:
                    self.wfile.write(f"{len(body):x}\r\n".encode() + body + b"\r\n0\r\n\r\n")
                else:
                    self.wfile.write(body)
                self.wfile.flush()

        return self._serve(ThreadingHTTPServer(("127.0.0.1", 0), Handler), "error-server")
