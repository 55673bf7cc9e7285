"""A pytest project whose tests record, in parallel, into shared and distinct cassettes.

Used by tests/test_durability.py (``-n 4``) and bench/xdist_stress.py. Test ``i`` posts a chat
request for model ``m{i}`` through httpx2 (sync, or async for every fourth one); even tests
record into one of ``shared`` shared cassettes, odd tests into their own default cassette.
"""

from __future__ import annotations

import json
from pathlib import Path

__all__ = ["losses", "project_source"]

URL_VARIABLE = "LLM_REPLAY_XDIST_URL"


def project_source(tests: int, shared: int, *, no_lock: bool = False) -> dict[str, str]:
    """Files of the project: ``{name: source}``. ``no_lock`` disables the cassette lock
    (a control experiment showing what the lock prevents)."""
    files = {
        "test_parallel.py": f"""
import asyncio, os, httpx2, pytest

URL = os.environ["{URL_VARIABLE}"] + "/v1/chat/completions"


def cases():
    for i in range({tests}):
        shared = pytest.mark.replay(f"cassettes/shared_{{i % {shared}}}.yaml")
        mark = shared if i % 2 == 0 else pytest.mark.replay
        yield pytest.param(i, marks=mark, id=f"t{{i}}")


@pytest.mark.parametrize("i", list(cases()))
def test_chat(i):
    body = {{"model": f"m{{i}}", "messages": [{{"role": "user", "content": "hi"}}]}}
    if i % 4 == 1:
        async def go():
            async with httpx2.AsyncClient() as client:
                return await client.post(URL, json=body)
        response = asyncio.run(go())
    else:
        with httpx2.Client() as client:
            response = client.post(URL, json=body)
    assert response.json()["model"] == f"m{{i}}"
"""
    }
    if no_lock:
        files["conftest.py"] = """
import contextlib
import replay.io.persist

replay.io.persist.cassette_lock = lambda path, timeout=0: contextlib.nullcontext()
"""
    return files


def losses(folder: Path, tests: int, shared: int) -> dict[str, list[str]]:
    """What is missing or duplicated in the cassettes of a finished run (empty: nothing lost)."""
    import replay

    def models(path: Path) -> list[str]:
        if not path.exists():
            return []
        return [json.loads(i.request.body)["model"] for i in replay.load_cassette(path).interactions]

    out: dict[str, list[str]] = {}
    cassettes = folder / "cassettes"
    for k in range(shared):
        expected = sorted(f"m{i}" for i in range(0, tests, 2) if i % shared == k)
        got = sorted(models(cassettes / f"shared_{k}.yaml"))
        missing = sorted(set(expected) - set(got))
        duplicated = sorted({m for m in got if got.count(m) > 1})
        if missing or duplicated:
            out[f"shared_{k}.yaml"] = [f"lost {m}" for m in missing] + [f"twice {m}" for m in duplicated]
    for i in range(1, tests, 2):
        path = cassettes / "test_parallel" / f"test_chat[t{i}].yaml"
        if models(path) != [f"m{i}"]:
            out[path.name] = [f"holds {models(path)}"]
    return out
