"""A client library imported while a cassette is active is patched as its import finishes; opening
a cassette imports no client library the application has not imported."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from replay import synth

CHILD = textwrap.dedent(
    """
    import sys
    import replay

    URL = "https://api.openai.com/v1/chat/completions"
    clients = ("httpx", "httpx2", "requests", "urllib3")
    assert not any(name in sys.modules for name in clients), sorted(sys.modules)
    with replay.use_cassette({path!r}, match_on=("method", "path"), allow_playback_repeats=True):
        assert not any(name in sys.modules for name in clients), "opening a cassette imported one"
        import httpx2  # as an application importing its SDK inside the block does
        import requests

        via_httpx2 = httpx2.post(URL, json={{"model": "m"}}).json()
        via_requests = requests.post(URL, json={{"model": "m"}}).json()
    assert via_httpx2 == via_requests and via_httpx2["choices"][0]["message"]["content"] == "Hi there"
    # Unpatched when the cassette closed: the originals are back.
    assert not hasattr(httpx2.HTTPTransport.handle_request, "__wrapped__")
    import urllib3.connectionpool
    assert not hasattr(urllib3.connectionpool.HTTPConnectionPool.urlopen, "__wrapped__")
    print("OK")
    """
)


def test_a_client_imported_inside_the_block_is_replayed(tmp_path: Path) -> None:
    path = tmp_path / "chat.yaml"
    synth.cassette(synth.chat("Hi there", stream=False)).save(path)
    # No server runs: a request that went past llm-replay would fail to connect.
    proc = subprocess.run(
        [sys.executable, "-c", CHILD.format(path=str(path))],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.strip().endswith("OK")
