"""Every fenced Python example in docs/ and README.md runs here, so no example can rot.

Examples run against the project's local OpenAI/Anthropic-compatible server (``llm_server``):
``OPENAI_BASE_URL`` / ``ANTHROPIC_BASE_URL`` point at it, and each page runs in a fresh folder
that already holds ``cassettes/chat.yaml``, a streamed chat completion recorded from that server
(model ``gpt-4o-mini``, one user message ``Hi``); ``GROQ_BASE_URL`` and ``TOGETHER_BASE_URL``
point at it too. The blocks of one page run in order in that
folder, so a later block may read what an earlier one recorded.

How a block runs (pytest-examples finds the blocks; the directive is an HTML comment on the
line before the fence, invisible on the site):

- a block that defines a top-level ``test_*`` function is a test module: it is written to
  ``test_example.py`` (``test_example_2.py``, ...) and run by pytest twice, first with
  ``--replay-record-mode=once`` (recording what is missing), then plain (replaying), and both
  runs must pass; ``<!-- expect: passed=N failed=M -->`` states other outcomes for both runs,
  and ``<!-- pytest-args: ARGS -->`` adds arguments to both (``-p no:recording``);
- ``<!-- file: NAME -->`` writes the block to NAME (a conftest.py, a helper module) for later
  blocks; a NAME starting with ``test_`` is also run as above;
- any other block is executed as a script (``__name__ == "__main__"``);
- ``<!-- no-run: REASON -->`` opts a block out; the opt-outs are counted and each needs a reason.

Sockets to anything but loopback are refused while examples run.
"""

from __future__ import annotations

import importlib.util
import itertools
import re
import shutil
import socket
import textwrap
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import openai
import pytest
from llm_server import LLMServer, Script
from pytest_examples import find_examples

import replay

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
# Opting out is for what cannot run here (a block showing a shell session, say); keep it rare.
MAX_OPT_OUTS = 5

_DIRECTIVE = re.compile(r"^<!--\s*(no-run|file|expect|pytest-args)\s*:\s*(.*?)\s*-->$")
_TEST_FUNCTION = re.compile(r"^(async\s+)?def\s+test_\w*\s*\(", re.MULTILINE)


@dataclass(frozen=True)
class Block:
    """One fenced Python block and how it runs."""

    page: Path
    line: int  # 1-based line of the opening fence
    source: str
    kind: str  # "script" | "pytest" | "file" | "no-run"
    argument: str = ""  # the no-run reason or the file name
    directives: dict[str, str] = field(default_factory=dict)

    @property
    def where(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line}"


def _directives(lines: list[str], fence_line: int) -> dict[str, str]:
    """The directive comments on the lines just above the fence (blank lines allowed)."""
    found: dict[str, str] = {}
    i = fence_line - 2
    while i >= 0:
        line = lines[i].strip()
        match = _DIRECTIVE.match(line)
        if match:
            found.setdefault(match.group(1), match.group(2))
        elif line:
            break
        i -= 1
    return found


def blocks_of(page: Path) -> list[Block]:
    lines = page.read_text("utf-8").splitlines()
    out: list[Block] = []
    for example in find_examples(page):
        directives = _directives(lines, example.start_line)
        source = example.source
        if "no-run" in directives:
            kind, argument = "no-run", directives["no-run"]
        elif "file" in directives:
            kind, argument = "file", directives["file"]
        elif _TEST_FUNCTION.search(source):
            kind, argument = "pytest", ""
        else:
            if directives:
                where = f"{page}:{example.start_line}"
                raise AssertionError(f"{where}: {sorted(directives)} only apply to test modules")
            kind, argument = "script", ""
        out.append(Block(page, example.start_line, source, kind, argument, directives))
    return out


def all_blocks() -> list[Block]:
    return [b for page in PAGES for b in blocks_of(page)]


# -- the environment examples run in ---------------------------------------------------------


@pytest.fixture(scope="module")
def docs_server() -> Iterator[LLMServer]:
    """The local LLM server, fast enough that recording in an example takes milliseconds."""
    server = LLMServer(Script(head_delay=0.02, first_delay=0.01, gaps=[0.005, 0.01, 0.015]))
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def template(docs_server: LLMServer, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder holding the cassettes the examples assume: cassettes/chat.yaml."""
    folder = tmp_path_factory.mktemp("docs-template")
    client = openai.OpenAI(base_url=docs_server.base_url + "/v1", api_key="sk-test", max_retries=0)
    with replay.use_cassette(folder / "cassettes" / "chat.yaml", record_mode="once"):
        stream = client.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "Hi"}], stream=True
        )
        assert "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    return folder


@pytest.fixture
def docs_env(docs_server: LLMServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """SDKs that read their base URL from the environment talk to the local server."""
    # (llm-replay's modules are loaded up front by conftest.py, before any pytester snapshot.)
    base = docs_server.base_url
    for name, value in {
        "OPENAI_BASE_URL": base + "/v1",
        "OPENAI_API_KEY": "sk-test",
        "ANTHROPIC_BASE_URL": base,
        "ANTHROPIC_API_KEY": "sk-ant-test",
        "GROQ_BASE_URL": base,
        "GROQ_API_KEY": "gsk_test",
        "TOGETHER_BASE_URL": base,
        "TOGETHER_API_KEY": "together-test",
    }.items():
        monkeypatch.setenv(name, value)
    real_connect = socket.socket.connect

    def loopback_only(self: socket.socket, address: Any) -> Any:
        host = address[0] if isinstance(address, tuple) else address
        if self.family in (socket.AF_INET, socket.AF_INET6) and host not in ("127.0.0.1", "::1"):
            raise AssertionError(f"a documentation example tried to reach {address!r}")
        return real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", loopback_only)


# -- running ---------------------------------------------------------------------------------


def _run_script(block: Block) -> None:
    code = compile(block.source, block.where, "exec")
    try:
        exec(code, {"__name__": "__main__"})
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as exc:  # NoMatchingInteraction and friends derive from BaseException
        raise AssertionError(f"example {block.where} raised {type(exc).__name__}: {exc}") from exc


def _expected(block: Block) -> dict[str, int]:
    pairs = (item.split("=") for item in block.directives.get("expect", "").split())
    return {key: int(value) for key, value in pairs}


def _run_tests(block: Block, pytester: pytest.Pytester, name: str) -> None:
    (pytester.path / name).write_text(block.source)
    args = ["-p", "no:cacheprovider", *block.directives.get("pytest-args", "").split(), name]
    # --record-mode is pytest-recording's option, or llm-replay's drop-in for it: one is always there.
    runs = {
        "record": pytester.runpytest("--replay-record-mode=once", "--record-mode=once", *args),
        "replay": pytester.runpytest(*args),
    }
    expected = _expected(block)
    for label, result in runs.items():
        outcomes = result.parseoutcomes()
        if expected:
            result.assert_outcomes(**expected)
            continue
        assert outcomes.get("passed", 0) >= 1 and not {"failed", "errors", "error"} & outcomes.keys(), (
            f"example {block.where} ({label} run): {outcomes}\n" + str(result.stdout)
        )


def _run_page(page: Path, template: Path, pytester: pytest.Pytester) -> int:
    shutil.copytree(template / "cassettes", pytester.path / "cassettes")
    ran = tests = 0
    for block in blocks_of(page):
        if block.kind == "no-run":
            continue
        if block.kind == "file":
            (pytester.path / block.argument).write_text(block.source)
            compile(block.source, block.where, "exec")
            if not block.argument.startswith("test_"):
                continue
            _run_tests(block, pytester, block.argument)
        elif block.kind == "pytest":
            tests += 1
            _run_tests(block, pytester, "test_example.py" if tests == 1 else f"test_example_{tests}.py")
        else:
            _run_script(block)
        ran += 1
    return ran


@pytest.mark.parametrize("page", [p for p in PAGES if blocks_of(p)], ids=lambda p: str(p.relative_to(ROOT)))
def test_page_examples_run(page: Path, template: Path, pytester: pytest.Pytester, docs_env: None) -> None:
    ran = _run_page(page, template, pytester)
    assert ran == sum(b.kind != "no-run" for b in blocks_of(page))


def test_opt_outs_are_few_and_explained() -> None:
    blocks = all_blocks()
    opted_out = [b for b in blocks if b.kind == "no-run"]
    assert all(b.argument for b in opted_out), [b.where for b in opted_out if not b.argument]
    assert len(opted_out) <= MAX_OPT_OUTS, [f"{b.where}: {b.argument}" for b in opted_out]
    assert len(blocks) - len(opted_out) >= 30, "fewer runnable examples than the docs had"


def test_collector_reads_directives(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(
        textwrap.dedent(
            """\
            ```python
            print("script")
            ```

            <!-- no-run: needs a GPU -->
            ```python
            import torch
            ```
            <!-- expect: passed=1 failed=1 -->
            <!-- pytest-args: -p no:recording -->

            ```python
            def test_a(): pass
            def test_b(): assert False
            ```
            <!-- file: conftest.py -->
            ```python
            X = 1
            ```
            """
        )
    )
    got = [(b.kind, b.argument, b.directives, b.line) for b in blocks_of(page)]
    assert got == [
        ("script", "", {}, 1),
        ("no-run", "needs a GPU", {"no-run": "needs a GPU"}, 6),
        ("pytest", "", {"expect": "passed=1 failed=1", "pytest-args": "-p no:recording"}, 12),
        ("file", "conftest.py", {"file": "conftest.py"}, 17),
    ]


def test_pictures_can_be_redrawn(tmp_path: Path) -> None:
    """docs/make_pictures.py still runs against the current API and draws both timelines."""
    spec = importlib.util.spec_from_file_location("make_pictures", ROOT / "docs" / "make_pictures.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    received = module.as_received(module.DEMO, module.FAULTS)
    recorded = replay.load_cassette(module.DEMO).interactions[0].response
    assert abs(received.response.t - 1.0) < 1e-6  # Latency(ttfb=1.0)
    assert len(received.response.events()) == 24  # Truncate(after_events=24)

    def longest_gap(times: Sequence[float]) -> float:
        return max(b - a for a, b in itertools.pairwise(times))

    assert longest_gap(received.response.chunk_times) > 1.5 > longest_gap(recorded.chunk_times)
    module.main(tmp_path)
    for name in ("plot-demo.png", "fault-timeline.png"):
        assert (tmp_path / name).read_bytes().startswith(b"\x89PNG")
