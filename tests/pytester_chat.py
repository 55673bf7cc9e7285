"""The test module the plugin's pytester tests write: a ``chat()`` that streams a chat completion
from the local server, followed by the test's own body."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest


def chat_module(base_url: str, body: str) -> str:
    """A test module whose ``chat()`` returns the raw chunks it read (``chat(timed=True)``: each as
    ``(seconds since the request, chunk)``), then ``body``."""
    return textwrap.dedent(
        f"""
        import httpx2, pytest, time

        URL = "{base_url}/v1/chat/completions"

        def chat(model="m", stream=True, timed=False):
            with httpx2.Client() as client:
                t0 = time.monotonic()
                body = {{"model": model, "messages": [], "stream": stream}}
                with client.stream("POST", URL, json=body) as r:
                    chunks = [(time.monotonic() - t0, c) for c in r.iter_raw()]
            return chunks if timed else [c for _, c in chunks]
        """
    ) + textwrap.dedent(body)


def write_chat_test(pytester: pytest.Pytester, base_url: str, name: str, body: str) -> Path:
    """``chat_module(base_url, body)`` written as ``name``.py in the pytester project."""
    return pytester.makepyfile(**{name: chat_module(base_url, body)})
