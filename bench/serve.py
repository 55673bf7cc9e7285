"""Target 17: ``llm-replay serve`` timing over loopback, and the server's CPU per chunk.

A cassette holds one streamed answer: chunks at seeded random gaps of 1-20 ms. The server runs
in its own process (``llm-replay serve``, real timing); clients in this process send the request
on an open connection and time each HTTP chunk as it completes, against ``send + t_i``. The error
includes loopback transit and request parsing: it is what a client sees.

- one stream; then 100 concurrent streams (starts spread over 10 ms, as parallel tests do), each
  stream's worst chunk reported too ("starved": a stream with a chunk > 50 ms late, or unfinished);
- baseline, in the same run: the same chunks from a plain aiohttp server that sleeps each gap
  with ``asyncio.sleep`` (relative delays: how mock servers pace a stream);
- server CPU per chunk: the server process's user+system time over the 100-stream run / chunks.

``python -m bench.serve CASSETTE`` runs the baseline server (prints its URL first).
"""

from __future__ import annotations

import asyncio
import os
import random
import subprocess
import sys
import time
from pathlib import Path

from replay import Cassette, Chunk, Interaction, Request, Response, load_cassette, save_cassette

from .core import Context, Row, Target

__all__ = ["ROW_IDS", "run"]

ROW_IDS = [
    "17.one.p50",
    "17.one.p99",
    "17.many.p50",
    "17.many.p99",
    "17.many.starved",
    "17.cpu_per_chunk",
]
BODY = b'{"model":"m","messages":[{"role":"user","content":"hi"}],"stream":true}'
PATH = "/v1/chat/completions"
STARVED = 0.050


def _cassette(path: Path, chunks: int, seed: int = 17) -> Path:
    rng = random.Random(seed)
    t, timed = 0.05, []
    for i in range(chunks):
        t += rng.uniform(0.001, 0.020)
        timed.append(
            Chunk(
                t=round(t, 6), data=b'data: {"i": %d, "pad": "%s"}\n\n' % (i, b"x" * rng.randrange(20, 200))
            )
        )
    interaction = Interaction(
        request=Request(
            method="POST",
            url="https://api.openai.com" + PATH,
            headers=[("content-type", "application/json")],
            body=BODY,
        ),
        response=Response(status=200, t=0.05, headers=[("content-type", "text/event-stream")], chunks=timed),
    )
    save_cassette(Cassette(interactions=[interaction]), path)
    return path


def _start(command: list[str]) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert proc.stdout is not None
    return proc, proc.stdout.readline().strip()


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class _Client(asyncio.Protocol):
    """Parses one chunked response as bytes arrive (cheaper than stream readers, so the
    client's own cost stays out of the figures); notes each chunk's lateness."""

    def __init__(self, times: list[float]) -> None:
        self.times = times
        self.buf = b""
        self.head = True
        self.sent = 0.0
        self.errors: list[float] = []
        self.done: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def data_received(self, data: bytes) -> None:
        now = time.perf_counter()
        self.buf += data
        if self.head:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                return
            self.buf, self.head = self.buf[end + 4 :], False
        while True:
            line = self.buf.find(b"\r\n")
            if line < 0:
                return
            size = int(self.buf[:line], 16)
            if size == 0:
                if not self.done.done():
                    self.done.set_result(None)
                return
            if len(self.buf) < line + 2 + size + 2:
                return
            self.buf = self.buf[line + 2 + size + 2 :]
            self.errors.append(now - self.sent - self.times[len(self.errors)])

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.done.done():
            self.done.set_result(None)


async def _stream(url: str, times: list[float], delay: float) -> list[float]:
    """One request on a fresh connection: each chunk's lateness (arrival - send - t_i)."""
    host, port = url.split("//")[1].split(":")
    loop = asyncio.get_running_loop()
    transport, client = await loop.create_connection(lambda: _Client(times), host, int(port))
    await asyncio.sleep(delay)
    head = (
        f"POST {PATH} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(BODY)}\r\n\r\n"
    )
    client.sent = time.perf_counter()
    transport.write(head.encode() + BODY)
    await asyncio.wait_for(client.done, 120)  # a server that hangs fails the run, not blocks it
    transport.close()
    return client.errors


async def _crowd(url: str, times: list[float], streams: int, spread: float) -> list[list[float]]:
    rng = random.Random(streams)
    return await asyncio.gather(*(_stream(url, times, rng.uniform(0, spread)) for _ in range(streams)))


def _measure(url: str, times: list[float], streams: int, pid: int) -> tuple[list[list[float]], float]:
    asyncio.run(_crowd(url, times, 1, 0.0))  # warm-up: imports, first connection
    cpu = _cpu_seconds(pid)
    results = asyncio.run(_crowd(url, times, streams, 0.010 if streams > 1 else 0.0))
    return results, _cpu_seconds(pid) - cpu


def run(ctx: Context) -> None:
    chunks = ctx.size(200, 20)
    many = ctx.size(100, 10)
    path = _cassette(ctx.workdir / "serve.yaml", chunks)
    times = list(load_cassette(path).interactions[0].response.chunk_times)
    ours, url = _start([sys.executable, "-m", "replay.cli", "serve", str(path), "--allow-playback-repeats"])
    naive, base_url = _start([sys.executable, "-m", "bench.serve", str(path)])
    try:
        one, _ = _measure(url, times, 1, ours.pid)
        one_base, _ = _measure(base_url, times, 1, naive.pid)
        crowd, cpu = _measure(url, times, many, ours.pid)
        crowd_base, _ = _measure(base_url, times, many, naive.pid)
    finally:
        for proc in (ours, naive):
            proc.terminate()
            proc.wait(10)
            if proc.stdout is not None:
                proc.stdout.close()
    flat, flat_base = [abs(e) for s in crowd for e in s], [abs(e) for s in crowd_base for e in s]
    single, single_base = [abs(e) for e in one[0]], [abs(e) for e in one_base[0]]
    base = "aiohttp + asyncio.sleep(gap)"
    ctx.add_percentiles(
        "17.one",
        f"serve, 1 stream of {chunks} chunks: arrival error {{stat}}",
        single,
        baseline_name=base,
        baseline=single_base,
        targets={
            stat: Target("value", "<=", limit, f"<= {limit * 1e3:g} ms")
            for stat, limit in (("p50", 0.5e-3), ("p99", 2e-3))
        },
    )
    ctx.add_percentiles(
        "17.many",
        f"serve, {many} concurrent streams: arrival error {{stat}}",
        flat,
        baseline_name=base,
        baseline=flat_base,
        targets={"p50": None, "p99": Target("value", "<=", 5e-3, "<= 5 ms")},
    )
    load = f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
    for row in ctx.rows[-4:]:
        row.note = load
    starved = sum(1 for s in crowd if len(s) < chunks or max(map(abs, s)) > STARVED)
    worst = max(max(map(abs, s)) for s in crowd if s)
    ctx.add(
        Row(
            "17.many.starved",
            f"serve, {many} streams: starved (a chunk > 50 ms late, or unfinished)",
            float(starved),
            unit="n",
            target=Target("value", "<=", 0, "none"),
            note=f"worst chunk of any stream {worst * 1e3:.2f} ms late",
        )
    )
    ctx.add(
        Row(
            "17.cpu_per_chunk",
            "serve: server CPU (user+system) per chunk sent",
            cpu / (many * chunks),
            note=f"{many * chunks} chunks, {cpu:.2f} s CPU",
        )
    )


def _naive_server(path: Path) -> None:
    """The baseline: each chunk after ``asyncio.sleep`` of its gap from the previous one."""
    from aiohttp import web

    response = load_cassette(path).interactions[0].response
    pairs = [(c.t, c.data) for c in response.chunks]

    async def handle(request: web.Request) -> web.StreamResponse:
        await request.read()
        out = web.StreamResponse(headers={"content-type": "text/event-stream"})
        out.enable_chunked_encoding()
        await asyncio.sleep(response.t)
        await out.prepare(request)
        previous = response.t
        for t, data in pairs:
            await asyncio.sleep(t - previous)
            previous = t
            await out.write(data)
        await out.write_eof()
        return out

    async def main() -> None:
        app = web.Application()
        app.router.add_post(PATH, handle)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        print(f"http://127.0.0.1:{runner.addresses[0][1]}", flush=True)
        await asyncio.Event().wait()

    asyncio.run(main())


if __name__ == "__main__":
    _naive_server(Path(sys.argv[1]))
