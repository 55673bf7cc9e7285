"""An ``llm-replay serve`` child process, for tests that spawn other processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType

__all__ = ["ServerProcess"]


class ServerProcess:
    """Runs ``llm-replay serve PATH ARGS...`` in a child process; :attr:`url` is its base URL.

    Example usage::

        with ServerProcess("cassettes", ["--record-mode", "none"]) as server:
            subprocess.run(["node", "client.js", server.url + "/c/chat.yaml/v1"], check=True)
    """

    def __init__(
        self, path: str | os.PathLike[str], args: Sequence[str] = (), *, start_timeout: float = 60.0
    ) -> None:
        self.command = [sys.executable, "-m", "replay.cli", "serve", str(Path(path)), *args]
        self.start_timeout = start_timeout
        self.url = ""
        self.stderr = ""
        self._proc: subprocess.Popen[str] | None = None
        self._err_lines: list[str] = []
        self._reader: threading.Thread | None = None

    def start(self) -> str:
        """Start the server and wait for the first line of its output: the base URL."""
        proc = subprocess.Popen(
            self.command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, bufsize=1
        )
        self._proc = proc
        assert proc.stderr is not None and proc.stdout is not None
        self._reader = threading.Thread(target=self._drain, args=(proc.stderr,), daemon=True)
        self._reader.start()
        line: list[str] = []
        got = threading.Thread(target=lambda: line.append(proc.stdout.readline()), daemon=True)  # type: ignore[union-attr]
        got.start()
        got.join(self.start_timeout)
        if not line or not line[0].startswith("http"):
            self.stop()
            raise RuntimeError(
                f"llm-replay serve did not start ({' '.join(self.command)}):\n{''.join(self._err_lines)}"
            )
        self.url = line[0].strip()
        return self.url

    def _drain(self, stream: object) -> None:
        for text in stream:  # type: ignore[attr-defined]
            self._err_lines.append(text)

    def stop(self, timeout: float = 10.0) -> int | None:
        """SIGTERM, then wait (SIGKILL after ``timeout``); returns the exit code."""
        proc = self._proc
        if proc is None:
            return None
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if self._reader is not None:
            self._reader.join(5)
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()
        self.stderr = "".join(self._err_lines)
        return proc.returncode

    def __enter__(self) -> ServerProcess:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
