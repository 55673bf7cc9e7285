"""The plugin's ``replay_serve`` and ``replay_server`` fixtures, driven through pytester: a test
spawns a subprocess that talks to the server by URL."""

from __future__ import annotations

from pathlib import Path

import pytest
from cassette_factory import stream_interaction, write_cassette

CLIENT = """
import json, subprocess, sys
BODY = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}], "stream": True}
def ask(url):
    code = (
        "import json, sys, urllib.request;"
        "req = urllib.request.Request(sys.argv[1], data=json.dumps(%r).encode(),"
        " headers={'content-type': 'application/json'});"
        "print(urllib.request.urlopen(req).read().decode())"
    ) % (BODY,)
    done = subprocess.run([sys.executable, "-c", code, url], capture_output=True, text=True, check=True)
    return done.stdout
"""


def test_replay_serve_serves_the_tests_default_cassette(pytester: pytest.Pytester) -> None:
    write_cassette(
        pytester.path / "cassettes" / "test_spawn" / "test_child.yaml", stream_interaction([0.01, 0.02, 0.03])
    )
    pytester.makepyfile(
        test_spawn=CLIENT
        + """
def test_child(replay_serve):
    url = replay_serve()
    assert "[DONE]" in ask(url + "/v1/chat/completions")

def test_faulted(replay_serve):
    url = replay_serve("cassettes/test_spawn/test_child.yaml", faults=[{"type": "HTTPError", "status": 429}])
    try:
        ask(url + "/v1/chat/completions")
    except subprocess.CalledProcessError as exc:
        assert "429" in exc.stderr
    else:
        raise AssertionError("expected a 429")
"""
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)


def test_replay_server_serves_a_directory_for_the_session(pytester: pytest.Pytester, tmp_path: Path) -> None:
    folder = tmp_path / "shared"
    write_cassette(folder / "a.yaml", stream_interaction([0.01, 0.02, 0.03]))
    write_cassette(folder / "b.yaml", stream_interaction([0.01, 0.02, 0.03]))
    pytester.makepyfile(
        test_session=CLIENT
        + """
def test_a(replay_server):
    assert "[DONE]" in ask(replay_server + "/c/a.yaml/v1/chat/completions")

def test_b(replay_server):
    assert "[DONE]" in ask(replay_server + "/c/b.yaml/v1/chat/completions")
"""
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", f"--replay-serve-dir={folder}")
    result.assert_outcomes(passed=2)
