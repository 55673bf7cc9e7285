"""Target 6: memory when replaying a large (50 MB) cassette.

Each measurement runs in a fresh child process so resident-set figures are its own:

- held: resident memory added by opening the cassette (``use_cassette``: file parsed, models
  validated, matcher built), after a garbage collection, in copies of the recorded body bytes;
- peak while opening (the transient cost of parsing);
- streaming one large recorded response through httpx2: the extra memory allocated at peak
  (tracemalloc, started after the cassette is open), which must stay O(chunk), not O(stream);
- vcrpy opening the same data as a vcrpy cassette, as the baseline.
"""

from __future__ import annotations

import gc
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .core import ROOT, Context, Row, Target
from .data import OPENAI_URL, Exchange, chat_body, write_native, write_vcr

__all__ = ["ROW_IDS", "run"]

ROW_IDS = ["6.held", "6.live", "6.proto_compact", "6.peak_open", "6.stream_peak", "6.vcr_held"]


def _status(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"{field} not in /proc/self/status")


def big_exchanges(total: int, chunk: int = 250, per_stream: int = 2_000) -> list[Exchange]:
    """Streams of ``per_stream`` SSE chunks of about ``chunk`` bytes, ``total`` bytes in all."""
    n_streams = max(1, total // (chunk * per_stream))
    out = []
    for s in range(n_streams):
        pad = "x" * (chunk - 60)
        chunks = [f'data: {{"i":{s},"j":{j},"text":"{pad}"}}\n\n'.encode() for j in range(per_stream)]
        times = [round(0.2 + 0.001 * j, 6) for j in range(per_stream)]
        body = json.dumps(chat_body(True, content=f"stream {s}")).encode()
        out.append(Exchange(OPENAI_URL, body, 200, [("content-type", "text/event-stream")], chunks, times))
    return out


def run(ctx: Context) -> None:
    total = ctx.size(50_000_000, 1_000_000)
    per_stream = ctx.size(2_000, 200)
    exchanges = big_exchanges(total, per_stream=per_stream)
    native = write_native(ctx.workdir / "big.yaml", exchanges)
    vcr_path = write_vcr(ctx.workdir / "big.vcr.yaml", exchanges)
    body_bytes = sum(len(e.body) for e in exchanges)
    stream_bytes = len(exchanges[0].body)
    spec = {"path": str(native), "request_body": exchanges[0].request_body.decode()}
    ours = _child("native", spec)
    theirs = _child("vcr", {"path": str(vcr_path)})
    traced = _child("native-traced", spec)
    traced_vcr = _child("vcr-traced", {"path": str(vcr_path)})
    compact = _child("compact-traced", spec)
    size = f"{native.stat().st_size / 1e6:.0f} MB file, {body_bytes / 1e6:.0f} MB of bodies"
    copies = Target("value", "<=", 1.5, "<= 1.5 copies")

    def in_copies(
        id: str, figure: str, held: float, vs: tuple[str, float], note: str, target: Target | None
    ) -> None:
        """A row of memory in copies of the bodies, against ``vs`` (its name, its bytes)."""
        ctx.add(Row(id, figure, held / body_bytes, "x", vs[0], vs[1] / body_bytes, target=target, note=note))

    in_copies(
        "6.held",
        f"resident memory held by an open cassette ({size}), in copies of the bodies",
        ours["held"],
        ("vcrpy", theirs["held"]),
        f"{ours['held'] / 1e6:.0f} MB held; 1.0 = the bodies alone",
        copies,
    )
    in_copies(
        "6.live",
        "live Python objects of the open cassette (tracemalloc), in copies of the bodies",
        traced["held"],
        ("vcrpy", traced_vcr["held"]),
        f"{traced['held'] / 1e6:.0f} MB live, peak {traced['peak'] / 1e6:.0f} MB while opening",
        copies,
    )
    in_copies(
        "6.proto_compact",
        "floor: the bodies plus arrays of chunk ends and times and nothing else, in copies "
        "(what llm-replay's Chunks layout approaches)",
        compact["held"],
        ("llm-replay", traced["held"]),
        "chunks sliced out of the body as they are played: O(chunk) per stream",
        copies,
    )
    in_copies(
        "6.peak_open",
        "peak memory while opening it, in copies of the bodies",
        ours["peak"],
        ("vcrpy", theirs["peak"]),
        f"{ours['peak'] / 1e6:.0f} MB peak",
        None,
    )
    ctx.add(
        Row(
            "6.stream_peak",
            f"extra memory at peak while streaming one {stream_bytes / 1e3:.0f} kB response (httpx2)",
            ours["stream_peak"],
            unit="B",
            target=Target("value", "<=", 64 * 1024, "<= 64 KiB (O(chunk))"),
        )
    )
    ctx.add(
        Row(
            "6.vcr_held",
            "memory held by vcrpy's open cassette, in copies of the bodies",
            theirs["held"] / body_bytes,
            unit="x",
            note=f"{theirs['held'] / 1e6:.0f} MB held",
        )
    )


def _child(kind: str, spec: dict[str, Any]) -> dict[str, float]:
    proc = subprocess.run(
        [sys.executable, "-m", "bench.memory", kind],
        input=json.dumps(spec),
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
        timeout=1_200,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"memory child ({kind}) failed:\n{proc.stderr[-3000:]}")
    result: dict[str, float] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def _measure_native(spec: dict[str, Any]) -> dict[str, float]:
    import tracemalloc

    import httpx2

    import replay

    client = httpx2.Client()
    gc.collect()
    before = _status("VmRSS")
    with replay.use_cassette(spec["path"], timing="instant"):
        gc.collect()
        held = _status("VmRSS") - before
        peak = _status("VmHWM") - before
        tracemalloc.start()
        body = spec["request_body"].encode()
        with client.stream(
            "POST", OPENAI_URL, content=body, headers={"content-type": "application/json"}
        ) as r:
            for _ in r.iter_raw():
                pass
        stream_peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return {"held": held, "peak": peak, "stream_peak": stream_peak}


def _measure_vcr(spec: dict[str, Any]) -> dict[str, float]:
    from vcr.cassette import Cassette as VcrCassette

    gc.collect()
    before = _status("VmRSS")
    cassette = VcrCassette.load(path=spec["path"])
    gc.collect()
    held = _status("VmRSS") - before
    peak = _status("VmHWM") - before
    assert len(cassette) > 0
    return {"held": held, "peak": peak}


def _traced(open_it: Callable[[], object]) -> dict[str, float]:
    import tracemalloc

    gc.collect()
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    kept = open_it()
    gc.collect()
    held, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del kept
    return {"held": held - base, "peak": peak - base}


def _traced_native(spec: dict[str, Any]) -> dict[str, float]:
    import replay

    def open_it() -> object:
        context = replay.use_cassette(spec["path"], timing="instant")
        return context, context.__enter__()

    return _traced(open_it)


def _traced_compact(spec: dict[str, Any]) -> dict[str, float]:
    """What a compact in-memory response would hold: the models are loaded, converted, dropped."""
    from array import array

    import replay

    def open_it() -> object:
        cassette = replay.load_cassette(spec["path"])
        compact = []
        for interaction in cassette.interactions:
            chunks = interaction.response.chunks
            ends = array("Q")
            pos = 0
            for chunk in chunks:
                pos += len(chunk.data)
                ends.append(pos)
            compact.append(
                (interaction.request, interaction.response.body, ends, array("d", (c.t for c in chunks)))
            )
            interaction.response.chunks = []
        return compact

    return _traced(open_it)


def _traced_vcr(spec: dict[str, Any]) -> dict[str, float]:
    from vcr.cassette import Cassette as VcrCassette

    return _traced(lambda: VcrCassette.load(path=spec["path"]))


if __name__ == "__main__":
    from .core import guard_network

    guard_network()
    spec = json.loads(sys.stdin.read())
    measure = {
        "native": _measure_native,
        "vcr": _measure_vcr,
        "native-traced": _traced_native,
        "vcr-traced": _traced_vcr,
        "compact-traced": _traced_compact,
    }[sys.argv[1]]
    print(json.dumps(measure(spec)))
