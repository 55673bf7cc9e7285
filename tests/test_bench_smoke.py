"""The benchmark suite runs end to end with tiny sizes and produces every row (targets are not
checked here: timing on shared CI machines is noise; ``python -m bench`` is for that)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_bench_quick_run_produces_every_row(tmp_path: Path) -> None:
    out = tmp_path / "results.json"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--json", str(out)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    assert "| figure | llm-replay | baseline | ratio | target | result |" in proc.stdout

    sys.path.insert(0, str(ROOT))
    try:
        from bench.cli import expected_row_ids
    finally:
        sys.path.remove(str(ROOT))

    results = json.loads(out.read_text())
    rows = {row["id"]: row for row in results["rows"]}
    expected = expected_row_ids(quick=True)
    assert sorted(rows) == sorted(expected)
    for rid, row in rows.items():
        if row["skipped"]:
            # Only rows that need the real recordings in ../shared may be skipped.
            assert rid.startswith("1.real."), (rid, row["skipped"])
            continue
        assert isinstance(row["value"], (int, float)), (rid, row)
        check = row["target_check"]
        if not row["target"]:
            assert check is None and row["passed"] is None, (rid, row)
            continue
        # The verdict is the target's condition applied to the figure it names (whether the
        # figure meets it on a shared machine is noise, and not checked here).
        got = row[check["column"]]
        assert isinstance(got, (int, float)), (rid, row)
        meets = got <= check["limit"] if check["op"] == "<=" else got < check["limit"]
        assert row["passed"] is meets, (rid, row)
    met = sum(row["passed"] is True for row in rows.values())
    missed = sum(row["passed"] is False for row in rows.values())
    assert f"\n{met} targets met, {missed} missed; {len(rows)} rows in " in proc.stdout
    assert results["machine"]["cores"]
