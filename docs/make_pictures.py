"""Draw the documentation's timeline pictures from the demo cassette (needs llm-replay[plot]).

    python docs/make_pictures.py            # writes docs/plot-demo.png and docs/fault-timeline.png

The fault picture shows what the application receives, not what a formula predicts: the demo
request is replayed under faults through an httpx2 client on the virtual clock, each raw read
is noted with the time the application's clock showed, and the two timelines (as recorded, as
received) are drawn by ``llm-replay plot``.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import httpx2

import replay
from replay.cli import main as cli
from replay.faults import Fault, Latency, Stall, Truncate

__all__ = ["FAULTS", "as_received", "main"]

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "cassettes" / "demo" / "chat_stream.yaml"
FAULTS: list[Fault] = [Latency(ttfb=1.0), Stall(after_events=12, seconds=1.5), Truncate(after_events=24)]


def as_received(path: Path, faults: list[Fault]) -> replay.Interaction:
    """The first interaction of ``path`` as the application receives it under ``faults``."""
    recorded = replay.load_cassette(path).interactions[0]
    request = recorded.request
    with replay.use_cassette(path, faults=faults), httpx2.Client() as client:
        start = time.monotonic()  # the virtual clock: the recorded offsets, shifted by the faults
        with client.stream(request.method, request.url, content=request.body) as response:
            head_t = time.monotonic() - start
            chunks = [replay.Chunk(t=time.monotonic() - start, data=data) for data in response.iter_raw()]
    received = recorded.response.model_copy(update={"t": head_t, "chunks": chunks})
    return recorded.model_copy(update={"response": received})


def main(out_dir: Path = ROOT / "docs") -> None:
    cli(["plot", str(DEMO), "-o", str(out_dir / "plot-demo.png"), "--title", "a recorded stream"])
    both = replay.Cassette(
        interactions=[replay.load_cassette(DEMO).interactions[0], as_received(DEMO, FAULTS)]
    )
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "faulted.yaml"
        both.save(path)
        title = "#0 as recorded; #1 as received under " + ", ".join(map(repr, FAULTS))
        cli(["plot", str(path), "-o", str(out_dir / "fault-timeline.png"), "--title", title])


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs")
