"""The official Node ``openai`` package against ``llm-replay serve``: recorded through the proxy,
replayed with its chunk offsets compared with the recording, and a fault seen as its own error."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from llm_server import LLMServer, Script

import replay
from replay.serve import ServerProcess

NODE_DIR = Path(__file__).parent / "node"
NODE = shutil.which("node")


def _require_node() -> str:
    reason = None
    if NODE is None:
        reason = "node is not installed"
    elif not (NODE_DIR / "node_modules" / "openai").is_dir():
        reason = f"the openai npm package is not installed: run `npm ci` in {NODE_DIR}"
    if reason is not None:
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the Node test: {reason}")
        pytest.skip(reason)
    assert NODE is not None
    return NODE


def node_stream(base_url: str) -> dict[str, Any]:
    done = subprocess.run(
        [_require_node(), str(NODE_DIR / "stream.mjs"), base_url], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _recording(upstream: LLMServer) -> list[str]:
    return ["--record-mode", "once", "--upstream", upstream.base_url]


def test_node_openai_streams_at_the_recorded_offsets(tmp_path: Path) -> None:
    _require_node()
    script = Script(head_delay=0.05, first_delay=0.03, gaps=[0.02, 0.06, 0.04], gzip_json=False)
    with LLMServer(script) as upstream, ServerProcess(tmp_path, _recording(upstream)) as proxy:
        live = node_stream(proxy.url + "/c/node.yaml/v1")
    assert live["ok"], live
    response = replay.load_cassette(tmp_path / "node.yaml").interactions[0].response
    with ServerProcess(tmp_path) as server:
        replayed = node_stream(server.url + "/c/node.yaml/v1")
    assert replayed["ok"], replayed
    text = "".join(c["content"] or "" for c in replayed["chunks"])
    assert text == "".join(c["content"] or "" for c in live["chunks"]) == "Hello from the local test server."
    # One SDK chunk per recorded chunk but the final [DONE]; each arrives at its recorded offset
    # (never before; late by no more than the Node process's own parsing and scheduling).
    times = response.chunk_times
    assert len(replayed["chunks"]) == len(times) - 1
    # Never before its recorded offset (Node's clock starts before the request leaves, so instant
    # delivery fails here); late by Node's own set-up and the machine's load, which bench/serve.py
    # keeps out of its precision figures.
    for seen, want in zip(replayed["chunks"], times, strict=False):
        assert want - 0.002 <= seen["t"] <= want + 1.5


def test_node_openai_sees_a_disconnect_as_a_connection_error(tmp_path: Path) -> None:
    _require_node()
    script = Script(head_delay=0.01, first_delay=0.01, gaps=[0.01], gzip_json=False)
    with LLMServer(script) as upstream, ServerProcess(tmp_path, _recording(upstream)) as proxy:
        assert node_stream(proxy.url + "/c/node.yaml/v1")["ok"]
    fault = json.dumps([{"type": "Disconnect", "after_events": 2}])
    with ServerProcess(tmp_path, ["--faults", fault]) as server:
        cut = node_stream(server.url + "/c/node.yaml/v1")
    assert not cut["ok"] and len(cut["chunks"]) == 2
    # fetch (undici) reports a body cut mid-stream as TypeError("terminated"); the SDK passes it on
    # (or wraps it in its APIConnectionError).
    assert (cut["error"], cut["message"]) == ("TypeError", "terminated") or cut[
        "error"
    ] == "APIConnectionError", cut
