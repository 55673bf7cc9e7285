"""llm-replay works with whichever of httpx2 / httpx is installed, without requiring both.

Each case runs in a fresh interpreter where the other library cannot be imported.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from llm_server import LLMServer

CHILD = textwrap.dedent(
    """
    import importlib.abc, sys

    BLOCKED = {blocked!r}

    class Block(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in BLOCKED:
                raise ImportError(f"{{name}} is blocked in this test")
            return None

    sys.meta_path.insert(0, Block())

    import replay
    from replay.transport.adapters import available_libs

    lib = __import__({use!r})
    names = [l.name for l in available_libs()]
    assert names == [{use!r}], names
    payload = {{"model": "m", "messages": [], "stream": True}}

    def read(client_cls):
        with client_cls() as client, client.stream("POST", {url!r}, json=payload) as r:
            return list(r.iter_raw())

    with replay.use_cassette({path!r}, record_mode="once"):
        live = read(lib.Client)
    with replay.use_cassette({path!r}):
        again = read(lib.Client)
    assert again == live and len(live) == 10
    assert not any(m.split(".")[0] in BLOCKED for m in sys.modules)
    print("OK", names)
    """
)


@pytest.mark.parametrize(
    ("use", "blocked"), [("httpx", ["httpx2", "httpcore2"]), ("httpx2", ["httpx", "httpcore"])]
)
def test_works_with_only_one_client_library(
    use: str, blocked: list[str], llm_server: LLMServer, tmp_path: Path
) -> None:
    code = CHILD.format(
        blocked=set(blocked),
        use=use,
        url=llm_server.base_url + "/v1/chat/completions",
        path=str(tmp_path / "c.yaml"),
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert proc.returncode == 0, proc.stderr
    assert f"OK ['{use}']" in proc.stdout
