"""The package layout holds (DESIGN.md "Layers"): no import cycle, even through imports inside
functions; no layer reaches upward; the plugin and the CLI use the public API; modules stay small.

The graph is built from the source with :mod:`ast`: every ``import`` and ``from ... import`` at
any depth counts (module level, inside functions, inside ``try``), except those under
``if TYPE_CHECKING:``, which never run.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

import replay

ROOT = Path(__file__).resolve().parent.parent
SOURCES = {"replay": ROOT / "replay", "replay_pytest": ROOT / "plugin" / "replay_pytest"}
MAX_LINES = 400


def _module_name(package: str, base: Path, path: Path) -> str:
    parts = [package, *path.relative_to(base).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _runtime_nodes(tree: ast.AST) -> Iterator[ast.AST]:
    """Every node except what sits under ``if TYPE_CHECKING:``."""
    stack: list[ast.AST] = [tree]
    while stack:
        node = stack.pop()
        yield node
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                stack.extend(child.orelse)
                continue
            stack.append(child)


def _imports(name: str, is_package: bool, tree: ast.AST, known: set[str]) -> set[str]:
    """The known modules ``name`` imports: ``from a import b`` counts ``a.b`` if that is a module."""
    package = name if is_package else name.rpartition(".")[0]
    found: set[str] = set()
    for node in _runtime_nodes(tree):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            targets = [module] + [f"{module}.{alias.name}" for alias in node.names]
        else:
            continue
        for target in targets:
            # `import a.b.c` also runs a and a.b: count the deepest known module only, its
            # packages are imported by it anyway (and would add no edge of its own).
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


def _graph() -> tuple[dict[str, set[str]], dict[str, int]]:
    files: dict[str, tuple[Path, bool]] = {}
    for package, base in SOURCES.items():
        for path in base.rglob("*.py"):
            files[_module_name(package, base, path)] = (path, path.name == "__init__.py")
    known = set(files)
    graph: dict[str, set[str]] = {}
    lines: dict[str, int] = {}
    for name, (path, is_package) in files.items():
        text = path.read_text()
        lines[name] = text.count("\n")
        graph[name] = _imports(name, is_package, ast.parse(text), known)
    return graph, lines


GRAPH, LINES = _graph()


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle, or None. A package's ``__init__`` importing its own modules is not one:
    Python runs the package first, so the edge module -> its package is dropped."""
    edges = {m: {d for d in deps if not m.startswith(d + ".")} for m, deps in graph.items()}
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for dep in sorted(edges[node]):
            if state.get(dep) == 1:
                return [*path[path.index(dep) :], dep]
            if dep not in state and (found := visit(dep)) is not None:
                return found
        path.pop()
        state[node] = 2
        return None

    for node in sorted(edges):
        if node not in state and (found := visit(node)) is not None:
            return found
    return None


def test_the_graph_sees_function_level_imports() -> None:
    # The atomic writer is imported inside Cassette.save, not at the top of the model.
    assert "replay.io.atomic" in GRAPH["replay.model.cassette"]
    assert len(GRAPH) > 60


def test_there_is_no_import_cycle() -> None:
    assert _cycle(GRAPH) is None


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"p": {"p.m"}, "p.m": {"p"}}) is None


def _layer(module: str) -> str:
    parts = module.split(".")
    return ".".join(parts[:2]) if len(parts) > 1 else module


def _offenders(importer: str, forbidden: tuple[str, ...]) -> list[str]:
    return sorted(
        f"{m} -> {d}"
        for m, deps in GRAPH.items()
        if _layer(m) == importer or m.startswith(importer + ".")
        for d in deps
        if any(d == f or d.startswith(f + ".") for f in forbidden)
    )


# (importer, what it must not import, the rule from DESIGN.md)
RULES = [
    (
        "replay.model",
        (
            "replay.io",
            "replay.engine",
            "replay.transport",
            "replay.faults",
            "replay.chat",
            "replay.vcr",
            "replay.scrub",
            "replay.hygiene",
            "replay.tools",
            "replay.cli",
            "replay.timing",
        ),
        "the model imports no file I/O, no matching, no provider models, no foreign format",
    ),
    (
        "replay.transport",
        ("replay.engine", "replay.faults", "replay.hygiene", "replay.scrub", "replay.tools", "replay.cli"),
        "transport knows the Interceptor protocol, not the session",
    ),
    (
        "replay.timing",
        ("replay.transport", "replay.engine", "replay.faults", "replay.chat", "replay.vcr", "replay.cli"),
        "timing knows no clients",
    ),
    (
        "replay.faults",
        ("replay.engine", "replay.hygiene", "replay.cli", "replay.tools"),
        "faults transform responses",
    ),
    ("replay.engine", ("replay.tools", "replay.cli"), "the engine never imports tools or the CLI"),
    (
        "replay.io",
        ("replay.engine", "replay.transport", "replay.faults", "replay.tools", "replay.cli"),
        "io is low",
    ),
    ("replay.engine", ("replay.serve",), "the engine knows nothing of the server"),
    ("replay.serve", ("replay.cli", "replay.tools"), "the server is below the CLI"),
    ("replay.errors", ("replay.",), "errors import nothing of replay"),
    ("replay.modes", ("replay.",), "modes import nothing of replay"),
    ("replay.limits", ("replay.",), "limits import nothing of replay"),
    ("replay.lazy", ("replay.",), "the lazy loader imports nothing of replay"),
]


# Three public conveniences of the model's classes reach up, each into a leaf that imports
# nothing of the model back: Cassette.save writes through the atomic writer, and
# Response.chat_completion() / Response.assembled() assemble the provider models.
ALLOWED = {
    "replay.model.cassette -> replay.io.atomic",
    "replay.model.cassette -> replay.chat.assembly",
    "replay.model.cassette -> replay.chat.assembled",
}


def test_the_server_reaches_the_engine_through_one_module() -> None:
    """Only ``replay.serve.engine_link`` imports the engine's modules, so that when they move,
    one module's imports change."""
    outside = {
        edge
        for edge in _imports_of("replay.serve")
        if not edge.startswith("replay.serve.engine_link ->")
        and edge.split(" -> ")[1] not in ("replay.errors", "replay.modes", "replay.lazy")
    }
    assert outside == set()


@pytest.mark.parametrize(("importer", "forbidden", "rule"), RULES, ids=[r[0] for r in RULES])
def test_no_layer_reaches_upward(importer: str, forbidden: tuple[str, ...], rule: str) -> None:
    assert [o for o in _offenders(importer, forbidden) if o not in ALLOWED] == [], rule


def test_the_allowed_upward_imports_import_nothing_of_the_model_back() -> None:
    for edge in ALLOWED:
        target = edge.split(" -> ")[1]
        assert not any(d.startswith("replay.model") for d in GRAPH[target]), edge


# Public modules: replay itself (its __all__), the fault and synth modules users import, and
# the errors and modes every layer shares.
PUBLIC = (
    "replay",
    "replay.faults",
    "replay.synth",
    "replay.errors",
    "replay.modes",
    "replay.pytest_support",
    "replay.serve",
)

# The plugin's own machinery below the top-level API (usage log, listeners, expiry, variants, the
# pytest-recording drop-in) comes through the documented support module, nothing else.
PLUGIN_INTERNALS: set[str] = set()


# The CLI is the front of the file-level operations (scrub a file, prune, convert, diff,
# inspect) and of the demo's wall-clock figures: it may use them and the tools, never the
# session, matching or the transports.
CLI_MAY_USE = (
    *PUBLIC[1:],
    "replay.tools",
    "replay.io",
    "replay.model",
    "replay.scrub",
    "replay.hygiene",
    "replay.vcr",
    "replay.timing",
    "replay.serve",  # `llm-replay serve` is the server's command line
)


def _is_under(module: str, roots: tuple[str, ...]) -> bool:
    return any(module == r or module.startswith(r + ".") for r in roots)


def _imports_of(client: str) -> set[str]:
    return {
        f"{m} -> {d}"
        for m, deps in GRAPH.items()
        if m == client or m.startswith(client + ".")
        for d in deps
        if d.startswith("replay") and not d.startswith(client)
    }


def test_the_plugin_uses_the_public_api() -> None:
    used = _imports_of("replay_pytest")
    assert {u for u in used if u.split(" -> ")[1] not in PUBLIC} == PLUGIN_INTERNALS


def test_the_cli_uses_the_public_api_and_the_file_level_tools() -> None:
    used = {u.split(" -> ")[1] for u in _imports_of("replay.cli")}
    assert {d for d in used if d != "replay" and not _is_under(d, CLI_MAY_USE)} == set()


# Not split yet (see the report of issue 12); the list may only shrink.
NOT_SPLIT_YET: set[str] = set()


def test_no_module_is_over_the_line_limit() -> None:
    long = {m: n for m, n in LINES.items() if n > MAX_LINES and m not in NOT_SPLIT_YET}
    assert long == {}, f"split these modules (limit {MAX_LINES} lines): {long}"
    assert all(LINES[m] > MAX_LINES for m in NOT_SPLIT_YET), "drop split modules from NOT_SPLIT_YET"


def test_import_replay_loads_no_command_only_module() -> None:
    """Lazy names: ``import replay`` must not pay for diff, plot, synth or vcrpy."""
    import subprocess
    import sys

    code = (
        "import sys, replay; print(' '.join(m for m in sys.modules if m.startswith(('replay.', 'vcr', "
        "'matplotlib', 'rich', 'pydantic'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert sorted(out.split()) == ["replay.errors", "replay.lazy", "replay.modes"]
    assert set(replay.__all__) <= set(dir(replay))


MAX_FUNCTION_LINES = 60

# Functions over the limit (docstrings not counted), each with why it stays; the list may only
# shrink. It is empty: every function fits.
LONG_FUNCTIONS: dict[str, str] = {}


def _function_lengths() -> dict[str, int]:
    found: dict[str, int] = {}
    for package, base in SOURCES.items():
        for path in base.rglob("*.py"):
            module = _module_name(package, base, path)
            tree = ast.parse(path.read_text())
            for node in ast.walk(tree):
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.end_lineno:
                    lines = node.end_lineno - node.lineno + 1
                    first = node.body[0]
                    if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                        lines -= (first.end_lineno or first.lineno) - first.lineno + 1
                    found[f"{module}.{node.name}"] = max(found.get(f"{module}.{node.name}", 0), lines)
    return found


def test_no_function_is_over_the_line_limit() -> None:
    lengths = _function_lengths()
    long = {f: n for f, n in lengths.items() if n > MAX_FUNCTION_LINES and f not in LONG_FUNCTIONS}
    assert long == {}, f"split these functions (limit {MAX_FUNCTION_LINES} lines): {long}"
    stale = [f for f in LONG_FUNCTIONS if lengths.get(f, 0) <= MAX_FUNCTION_LINES]
    assert stale == [], f"drop these from LONG_FUNCTIONS: {stale}"
