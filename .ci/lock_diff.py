"""Print the installed packages whose version differs from uv.lock (the "latest" lane's report)."""

from __future__ import annotations

import importlib.metadata
import re
import sys

import tomllib


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def main(lock_path: str) -> int:
    with open(lock_path, "rb") as f:
        locked = {_norm(p["name"]): p.get("version", "") for p in tomllib.load(f)["package"]}
    installed = {_norm(d.metadata["Name"]): d.version for d in importlib.metadata.distributions()}
    rows = [
        (name, locked.get(name, "-"), version)
        for name, version in sorted(installed.items())
        if name != "llm-replay" and locked.get(name) != version
    ]
    for name, was, now in rows:
        print(f"  {name:32} lock {was:>14}   latest lane {now}")
    print(f"  {len(rows)} package(s) differ from the lock" if rows else "  none: the lock is current")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
