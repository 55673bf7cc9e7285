"""``llm-replay demo``: replay a recorded stream through the real ``openai`` SDK, twice.

First in ``real`` timing (tokens appear at the pace they were recorded), then in ``virtual``
timing (no waiting; the code's own clock sees each chunk at its recorded offset).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from .. import use_cassette
from ..io.storage import load_cassette
from ..timing.clock import REAL

__all__ = ["add_arguments", "demo_cassette_path", "run"]


def demo_cassette_path() -> Path:
    """The shipped demo cassette: inside the wheel, or in the source checkout's cassettes/."""
    here = Path(__file__).resolve().parent.parent
    for candidate in (
        here / "_demo" / "chat_stream.yaml",
        here.parent / "cassettes" / "demo" / "chat_stream.yaml",
    ):
        if candidate.exists():
            return candidate
    raise FileNotFoundError("the demo cassette (cassettes/demo/chat_stream.yaml) is not installed")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--cassette", type=Path, default=None, help="a streaming chat cassette to replay")
    parser.add_argument("--speed", type=float, default=1.0, help="real-time speed factor (default 1.0)")


def _stream(client: Any, body: dict[str, Any]) -> Any:
    kwargs = {
        k: v
        for k, v in body.items()
        if k in ("model", "messages", "stream_options", "max_tokens", "temperature")
    }
    return client.chat.completions.create(stream=True, **kwargs)


def run(args: argparse.Namespace) -> int:
    try:
        import openai
    except ImportError:
        print("The demo replays through the openai SDK: pip install 'llm-replay[demo]'", file=sys.stderr)
        return 2
    path = args.cassette or demo_cassette_path()
    cassette = load_cassette(path)
    first = cassette.interactions[0]
    body = json.loads(first.request.body)
    base_url = first.request.url.rsplit("/chat/completions", 1)[0]
    recorded = [c.t for c in first.response.chunks]
    out = sys.stdout

    out.write(
        f"Cassette: {path}\n{len(recorded)} chunks recorded over {first.response.duration:.2f}s "
        f"(time to headers {first.response.t:.3f}s)\n\n"
    )
    out.write(f"1) timing='real' (speed {args.speed}): tokens arrive at their recorded pace\n   ")
    out.flush()
    start = REAL.perf_counter()
    with use_cassette(path, timing="real", speed=args.speed):
        client = openai.OpenAI(base_url=base_url, api_key="sk-demo", max_retries=0)
        for chunk in _stream(client, body):
            if chunk.choices and chunk.choices[0].delta.content:
                out.write(chunk.choices[0].delta.content)
                out.flush()
    wall_real = REAL.perf_counter() - start
    out.write(f"\n   wall time {wall_real:.2f}s\n\n")

    out.write("2) timing='virtual': the code's clock sees the recorded offsets, the test waits for nothing\n")
    start = REAL.perf_counter()
    rows: list[tuple[float, str]] = []
    with use_cassette(path, timing="virtual"):
        client = openai.OpenAI(base_url=base_url, api_key="sk-demo", max_retries=0)
        t0 = time.monotonic()
        for chunk in _stream(client, body):
            text = chunk.choices[0].delta.content if chunk.choices else None
            rows.append((time.monotonic() - t0, text or ""))
    wall_virtual = REAL.perf_counter() - start
    out.write(f"   {'chunk':>5}  {'recorded t':>10}  {'observed':>10}  token\n")
    # One SSE event per recorded chunk: the k-th parsed chunk completes with the (k+1)-th read
    # (the first read is the role-only delta).
    for i, (observed, text) in enumerate(rows):
        rec = recorded[i] if i < len(recorded) else float("nan")
        out.write(f"   {i:>5}  {rec:>10.6f}  {observed:>10.6f}  {text!r}\n")
    out.write(
        f"   wall time {wall_virtual * 1000:.1f} ms for {first.response.duration:.2f}s of recorded stream\n"
    )
    return 0
