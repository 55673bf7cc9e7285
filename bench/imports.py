"""Target 7: what ``import replay`` and loading the pytest plugin cost a test session.

Each figure is the median over fresh interpreters (an import is only cold once per process) of
the time the ``import`` statement takes inside the child, so interpreter start-up is left out.
The baseline is ``import httpx2`` measured the same way: the client library every session that
replays an SDK imports anyway. ``python -m bench.imports`` prints the figures on their own.
"""

from __future__ import annotations

import subprocess
import sys
from statistics import median

from .core import ROOT, Context, Row, Target, child_env

__all__ = ["ROW_IDS", "import_seconds", "main", "run"]

ROW_IDS = ["7.import_replay", "7.import_plugin"]

_CHILD = "import time; {before}t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"
# pytest loads itself before any plugin: the plugin's own cost is measured with pytest imported.
_BEFORE = {"replay_pytest.plugin": "import pytest; "}


def import_seconds(module: str, runs: int) -> float:
    """Median seconds ``import module`` takes in ``runs`` fresh interpreters."""
    env = child_env()
    samples = []
    for _ in range(runs):
        proc = subprocess.run(
            [sys.executable, "-c", _CHILD.format(module=module, before=_BEFORE.get(module, ""))],
            capture_output=True,
            text=True,
            cwd=ROOT,
            env=env,
            check=True,
            timeout=120,
        )
        samples.append(float(proc.stdout.strip().splitlines()[-1]))
    return median(samples)


def run(ctx: Context) -> None:
    runs = ctx.size(15, 3)
    baseline = import_seconds("httpx2", runs)
    for row_id, module, figure, limit in (
        ("7.import_replay", "replay", "`import replay` (fresh process)", 0.15),
        (
            "7.import_plugin",
            "replay_pytest.plugin",
            "`import replay_pytest.plugin` (fresh process, pytest already imported)",
            0.2,
        ),
    ):
        value = import_seconds(module, runs)
        ctx.add(
            Row(
                row_id,
                figure,
                value,
                baseline_name="import httpx2",
                baseline=baseline,
                ratio=value / baseline,
                target=Target("value", "<", limit, f"< {limit * 1000:.0f} ms") if limit else None,
                note=f"median of {runs} fresh interpreters",
            )
        )


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 15
    for module in ("httpx2", "replay", "replay_pytest.plugin"):
        print(f"import {module}: {import_seconds(module, runs) * 1000:.1f} ms (median of {runs})")


if __name__ == "__main__":
    main()
