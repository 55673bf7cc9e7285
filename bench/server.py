"""The project's local streaming server (``tests/llm_server.py``) in a child process.

A server thread in the benchmark's own process would compete with the client for the GIL and
blur per-chunk figures; in its own process it behaves like a remote provider on loopback.
Nagle's algorithm is switched off on its connections (see :func:`_serve`). Run as
``python -m bench.server '{"tokens": 200, ...}'``: prints the base URL, serves until its
standard input closes.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from .core import ROOT

__all__ = ["local_server"]


@contextmanager
def local_server(**script: Any) -> Iterator[str]:
    """Start the server with a :class:`llm_server.Script` built from ``script``; yield its URL."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench.server", json.dumps(script)],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        if not url.startswith("http://127.0.0.1:"):
            raise RuntimeError(f"the local server did not start (said {url!r})")
        yield url
    finally:
        assert proc.stdin is not None
        proc.stdin.close()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _serve(spec: str) -> None:
    sys.path.insert(0, str(ROOT / "tests"))
    import llm_server
    from llm_server import LLMServer, Script

    # Each SSE event is its own small write: with Nagle's algorithm on, the second write waits
    # for the client's delayed ACK (40 ms on Linux), which would swamp every figure here.
    llm_server._Handler.disable_nagle_algorithm = True
    server = LLMServer(Script(**json.loads(spec)))
    print(server.start(), flush=True)
    try:
        sys.stdin.read()  # until the parent closes our stdin
    finally:
        server.stop()


if __name__ == "__main__":
    _serve(sys.argv[1])
