"""pytest-xdist workers recording into shared and distinct cassettes: count what is lost.

Runs the project of tests/xdist_project.py with W workers and T tests (record with
new_episodes, then replay offline), and reports lost or duplicated interactions. ``--no-lock``
repeats the run with the cassette lock disabled, to show what the lock prevents.

    python bench/xdist_stress.py --workers 4 --tests 400 --runs 3 [--no-lock]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from llm_server import LLMServer, Script
from xdist_project import URL_VARIABLE, losses, project_source


def run_once(workers: int, tests: int, shared: int, no_lock: bool) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        for name, source in project_source(tests, shared, no_lock=no_lock).items():
            (root / name).write_text(source)
        command = [sys.executable, "-m", "pytest", "-n", str(workers), "-q", "-p", "no:cacheprovider"]
        with LLMServer(Script(head_delay=0.005, first_delay=0.0, gaps=[0.0])) as server:
            env = {**os.environ, URL_VARIABLE: server.base_url}
            started = time.monotonic()
            record = subprocess.run(
                [*command, "--replay-record-mode=new_episodes"], cwd=root, env=env, capture_output=True
            )
            seconds = time.monotonic() - started
        lost = losses(root, tests, shared)
        replayed = subprocess.run(command, cwd=root, env=env, capture_output=True)
        return {
            "record_exit": record.returncode,
            "record_seconds": round(seconds, 1),
            "replay_exit": replayed.returncode,
            "cassettes_with_losses": len(lost),
            "lost_or_duplicated": sum(len(v) for v in lost.values()),
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--tests", type=int, default=400)
    parser.add_argument("--shared", type=int, default=3)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--no-lock", action="store_true", help="control run without the cassette lock")
    args = parser.parse_args()
    results = [run_once(args.workers, args.tests, args.shared, args.no_lock) for _ in range(args.runs)]
    print(
        json.dumps(
            {"workers": args.workers, "tests": args.tests, "lock": not args.no_lock, "runs": results},
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
