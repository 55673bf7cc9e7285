"""Kill recording processes at random points, many times; the cassette must survive every kill.

Each step starts a recorder (a forkserver child that records one chat completion after another
into the same cassette, ``new_episodes``) and stops it with SIGKILL or SIGINT, either at a random
moment or parked at a point inside the atomic write (half written, fsynced, renamed). After
every step the cassette must load and hold exactly the interactions whose saves completed, each
intact (see tests/kill_harness.py).

    python bench/kill_during_write.py --steps 1000
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from kill_harness import STOP_POINTS, kill_iterations
from llm_server import LLMServer, Script


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()
    quarter = args.steps // 4
    inside = [stop for _ in range(quarter) for stop in STOP_POINTS][:quarter]
    plan = (
        [("kill", "random")] * (args.steps - 3 * quarter)
        + [("kill", stop) for stop in inside]
        + [("int", "random")] * quarter
        + [("int", stop) for stop in inside]
    )
    random.Random(args.seed).shuffle(plan)
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(["replay", "httpx2", "kill_harness", "kill_warmup"])
    started = time.monotonic()
    with (
        tempfile.TemporaryDirectory() as folder,
        LLMServer(Script(head_delay=0.0, first_delay=0.0, gaps=[0.0], gzip_json=False)) as server,
    ):
        stats = kill_iterations(ctx, server, Path(folder) / "killed.yaml", plan, seed=args.seed)
    stats["seconds"] = round(time.monotonic() - started, 1)
    stats["plan"] = {f"{how}/{when}": plan.count((how, when)) for how, when in sorted(set(plan))}
    print(json.dumps(stats, indent=2))


if __name__ == "__main__":
    main()
