"""Measuring side by side, and reporting: rows, targets, the table and the machine.

Every comparison runs its variants in one process, interleaved round by round (the order rotates
each round), so machine noise hits all variants alike. A figure is the median over rounds; a ratio
is the median of the per-round ratios (paired), which is steadier than a ratio of medians.
"""

from __future__ import annotations

import gc
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any, Literal, TypeVar

__all__ = [
    "ROOT",
    "Comparison",
    "Context",
    "Row",
    "Target",
    "Variant",
    "child_env",
    "compare",
    "format_table",
    "guard_network",
    "machine_info",
    "median",
    "percentile",
]

ROOT = Path(__file__).resolve().parent.parent
Unit = Literal["s", "B", "x", "n"]
_N = TypeVar("_N", int, float)


def child_env() -> dict[str, str]:
    """The environment of a measured child process: this checkout and its plugin importable.

    ``PYTHONDONTWRITEBYTECODE`` is dropped: with it (some CI images set it) every process compiles
    every module it imports from source, ~2 s a pytest session here, which is not what a developer's
    second run pays and would drown the differences measured.
    """
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), str(ROOT / "plugin"), os.environ.get("PYTHONPATH", "")])
    return env


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100), linear between the closest ranks."""
    ordered = sorted(values)
    if not ordered:
        raise ValueError("no values")
    pos = (len(ordered) - 1) * q / 100
    lo = int(pos)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


@dataclass(frozen=True, slots=True)
class Target:
    """A pass condition on one column of a row: ``ratio <= 1.05``, ``value < 0.05`` (seconds)..."""

    column: Literal["value", "ratio"]
    op: Literal["<=", "<"]
    limit: float
    text: str  # how the table shows it, e.g. "<= 1.05x"

    def check(self, value: float | None, ratio: float | None) -> bool | None:
        got = value if self.column == "value" else ratio
        if got is None:
            return None
        return got <= self.limit if self.op == "<=" else got < self.limit


@dataclass(slots=True)
class Row:
    """One line of the results table."""

    id: str  # stable key: the smoke test checks that every declared id is produced
    figure: str
    value: float | None  # llm-replay
    unit: Unit = "s"
    baseline_name: str = ""
    baseline: float | None = None
    ratio: float | None = None
    target: Target | None = None
    note: str = ""
    skipped: str = ""  # why the row has no figures (e.g. ../shared absent)
    passed: bool | None = field(default=None)

    def __post_init__(self) -> None:
        if self.ratio is None and self.value is not None and self.baseline:
            self.ratio = self.value / self.baseline
        if self.target is not None and not self.skipped:
            self.passed = self.target.check(self.value, self.ratio)

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["target"] = self.target.text if self.target else ""
        # The condition itself, so a reader of the JSON can re-check "passed".
        out["target_check"] = (
            {"column": self.target.column, "op": self.target.op, "limit": self.target.limit}
            if self.target
            else None
        )
        return out


@dataclass(slots=True)
class Comparison:
    """Per-variant samples (seconds per operation), one per round, in variant order."""

    samples: dict[str, list[float]]

    def median(self, name: str) -> float:
        return median(self.samples[name])

    def ratio(self, name: str, baseline: str) -> float:
        """Median of the per-round ratios ``name / baseline``."""
        pairs = zip(self.samples[name], self.samples[baseline], strict=True)
        return median([a / b for a, b in pairs])

    def row(
        self,
        id: str,
        figure: str,
        name: str,
        baseline: str,
        *,
        baseline_label: str | None = None,
        target: Target | None = None,
        note: str = "",
    ) -> Row:
        return Row(
            id=id,
            figure=figure,
            value=self.median(name),
            baseline_name=baseline_label or baseline,
            baseline=self.median(baseline),
            ratio=self.ratio(name, baseline),
            target=target,
            note=note,
        )


@dataclass(frozen=True, slots=True)
class Variant:
    """One contender: ``call`` is timed; ``context`` (entered and left untimed around each batch)
    is where a tool is switched on, so tools that patch the same classes never overlap."""

    call: Callable[[], object]
    context: Callable[[], AbstractContextManager[Any]] | None = None


def compare(
    variants: Mapping[str, Variant | Callable[[], object]],
    *,
    rounds: int,
    inner: int = 1,
    warmup: int = 1,
    settle: bool = False,
) -> Comparison:
    """Time each variant ``inner`` times per round, rounds interleaved with a rotating order.

    ``settle``: make one untimed call inside each variant's context before its timed batch, so a
    per-request figure does not include the tool's per-activation warm-up (measured separately
    by the per-test rows).
    """
    norm = {k: v if isinstance(v, Variant) else Variant(v) for k, v in variants.items()}
    names = list(norm)
    samples: dict[str, list[float]] = {name: [] for name in names}
    perf = time.perf_counter
    for name in names:
        with _entered(norm[name]):
            for _ in range(warmup):
                norm[name].call()
    for r in range(rounds):
        order = names[r % len(names) :] + names[: r % len(names)]
        gc.collect()
        for name in order:
            variant = norm[name]
            fn = variant.call
            with _entered(variant):
                if settle:
                    fn()
                start = perf()
                for _ in range(inner):
                    fn()
                samples[name].append((perf() - start) / inner)
    return Comparison(samples)


def _entered(variant: Variant) -> AbstractContextManager[Any]:
    return variant.context() if variant.context is not None else nullcontext()


@dataclass(slots=True)
class Context:
    """What every section gets: sizes (full or quick), a scratch folder, and where rows go."""

    quick: bool
    workdir: Path
    rows: list[Row] = field(default_factory=list)
    log: Callable[[str], None] = print

    def add(self, row: Row) -> None:
        self.rows.append(row)
        self.log(f"  {format_row(row)}")

    def size(self, full: _N, quick: _N) -> _N:
        return quick if self.quick else full

    def add_percentiles(
        self,
        id: str,
        figure: str,
        values: Sequence[float],
        *,
        baseline_name: str,
        baseline: Sequence[float],
        targets: Mapping[str, Target | None],
    ) -> None:
        """A row for each of p50 and p99 (id ``{id}.p50``, ``figure`` with "p50" for its ``{stat}``):
        that percentile of ``values`` against the same of ``baseline``, checked by ``targets[stat]``."""
        for stat, q in (("p50", 50.0), ("p99", 99.0)):
            self.add(
                Row(
                    f"{id}.{stat}",
                    figure.replace("{stat}", stat),
                    percentile(values, q),
                    baseline_name=baseline_name,
                    baseline=percentile(baseline, q),
                    target=targets[stat],
                )
            )


# -- formatting ------------------------------------------------------------------------------


def fmt_value(value: float | None, unit: Unit) -> str:
    if value is None:
        return "-"
    if unit == "s":
        a = abs(value)
        if a >= 1:
            return f"{value:.2f} s"
        if a >= 1e-3:
            return f"{value * 1e3:.2f} ms"
        if a >= 1e-6 or a == 0:
            return f"{value * 1e6:.1f} us"
        return f"{value * 1e9:.0f} ns"
    if unit == "B":
        if abs(value) >= 1 << 20:
            return f"{value / (1 << 20):.1f} MiB"
        if abs(value) >= 1 << 10:
            return f"{value / (1 << 10):.1f} KiB"
        return f"{value:.0f} B"
    if unit == "x":
        return f"{value:.2f}x"
    return f"{value:,.0f}"


def format_row(row: Row) -> str:
    status = {True: "pass", False: "FAIL", None: "-"}[row.passed]
    if row.skipped:
        return f"{row.figure}: skipped ({row.skipped})"
    ratio = f"{row.ratio:.2f}x" if row.ratio is not None else "-"
    target = row.target.text if row.target else "-"
    base = f"{row.baseline_name} {fmt_value(row.baseline, row.unit)}" if row.baseline_name else "-"
    return f"{row.figure}: {fmt_value(row.value, row.unit)} | {base} | {ratio} | {target} | {status}"


def format_table(rows: Iterable[Row]) -> str:
    """A Markdown table: figure, llm-replay, baseline, ratio, target, pass/fail."""
    lines = [
        "| figure | llm-replay | baseline | ratio | target | result |",
        "|---|---:|---|---:|---|---|",
    ]
    for row in rows:
        if row.skipped:
            lines.append(f"| {row.figure} | - | - | - | - | skipped: {row.skipped} |")
            continue
        status = {True: "pass", False: "**FAIL**", None: "info"}[row.passed]
        ratio = f"{row.ratio:.3f}x" if row.ratio is not None else "-"
        target = row.target.text if row.target else "-"
        base = f"{row.baseline_name}: {fmt_value(row.baseline, row.unit)}" if row.baseline_name else "-"
        figure = row.figure + (f" ({row.note})" if row.note else "")
        lines.append(
            f"| {figure} | {fmt_value(row.value, row.unit)} | {base} | {ratio} | {target} | {status} |"
        )
    return "\n".join(lines)


# -- the machine -----------------------------------------------------------------------------

_VERSIONED = (
    "llm-replay",
    "openai",
    "anthropic",
    "groq",
    "together",
    "httpx2",
    "httpx",
    "vcrpy",
    "respx",
    "freezegun",
    "pydantic",
    "PyYAML",
)


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_info() -> dict[str, Any]:
    import yaml

    versions: dict[str, str] = {}
    for name in _VERSIONED:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "absent"
    return {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "platform": platform.platform(),
        "python": f"{platform.python_implementation()} {sys.version.split()[0]}",
        "libyaml": bool(getattr(yaml, "__with_libyaml__", False)),
        "versions": versions,
    }


def describe_machine(info: Mapping[str, Any]) -> str:
    versions = ", ".join(f"{k} {v}" for k, v in info["versions"].items())
    return (
        f"{info['cpu']}, {info['cores']} cores, {info['platform']}; {info['python']} "
        f"(PyYAML libyaml: {'yes' if info['libyaml'] else 'no'}); {versions}"
    )


def write_json(path: Path, info: Mapping[str, Any], rows: Sequence[Row], seconds: float) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {"machine": dict(info), "seconds": seconds, "rows": [r.to_json() for r in rows]}
    path.write_text(json.dumps(payload, indent=2) + "\n")


_LOCAL = ("127.0.0.1", "::1", "localhost")


def guard_network() -> None:
    """Refuse any connection or name lookup that is not this machine, for the whole process.

    Every baseline is served in process; a tool that failed to intercept a request must fail
    loudly here rather than reach a public host.
    """
    import socket

    real_getaddrinfo = socket.getaddrinfo
    real_connect = socket.socket.connect

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        name = host.decode() if isinstance(host, bytes) else host
        if name not in _LOCAL and not str(name).startswith("127."):
            raise OSError(f"benchmark network guard: lookup of {name!r} refused (not local)")
        return real_getaddrinfo(host, *args, **kwargs)

    def connect(self: socket.socket, address: Any) -> None:
        if self.family in (socket.AF_INET, socket.AF_INET6):
            host = address[0]
            if host not in _LOCAL and not str(host).startswith("127."):
                raise OSError(f"benchmark network guard: connect to {host!r} refused (not local)")
        real_connect(self, address)

    socket.getaddrinfo = getaddrinfo
    socket.socket.connect = connect  # type: ignore[method-assign,assignment]
