"""Which recorded interactions were played: strict checks, cassette listeners, and usage logs.

- :func:`unused_message` / :class:`UnusedInteractionsError`: a cassette used with
  ``strict=True`` fails when interactions it holds were never played.
- :func:`add_listener`: callbacks told when any cassette opens and closes (the pytest plugin
  uses them to attribute cassettes to tests, whatever opened them).
- :class:`UsageLog`: a JSON Lines file, one line per cassette use (test, record mode, outcome,
  and per interaction how often it was played plus a fingerprint of its content), that
  ``llm-replay prune`` reads to remove interactions no test played.

Example usage::

    with replay.use_cassette("cassettes/chat.yaml", strict=True) as cassette:
        ...   # leaving the block raises UnusedInteractionsError if an interaction was not played
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..errors import ReplayError
from ..model.cassette import Interaction
from ..modes import RecordMode
from .listeners import CassetteListener, add_listener, notify_close, notify_open, remove_listener

if TYPE_CHECKING:
    from ..engine.player import ActiveCassette

__all__ = [
    "USAGE_LOG_FORMAT",
    "CassetteListener",
    "CassetteUse",
    "InteractionUse",
    "UnusedInteractionsError",
    "UsageLog",
    "UsageLogError",
    "UsageLogHeader",
    "add_listener",
    "describe_interaction",
    "interaction_fingerprint",
    "notify_close",
    "notify_open",
    "remove_listener",
    "replays",
    "unused_message",
    "use_from_active",
]

USAGE_LOG_FORMAT: Literal["llm-replay-usage"] = "llm-replay-usage"


class UnusedInteractionsError(ReplayError):
    """A strict cassette holds interactions that were never played."""


class UsageLogError(ReplayError):
    """A usage log cannot be read (wrong format, bad line) or written."""


# -- strict usage ------------------------------------------------------------------------------


def replays(record_mode: RecordMode, existed: bool) -> bool:
    """Whether a cassette opened in this mode plays recorded interactions back at all."""
    return record_mode.replays(existed)


def describe_interaction(interaction: Interaction, index: int) -> str:
    """``#2 POST https://host/v1/chat/completions (model 'gpt-4o', recorded 2026-11-25T06:59:51Z)``."""
    request = interaction.request
    notes = []
    try:
        body = json.loads(request.body) if request.body else None
    except ValueError:
        body = None
    if isinstance(body, dict) and isinstance(body.get("model"), str):
        notes.append(f"model {body['model']!r}")
    if interaction.recorded_at is not None:
        stamp = interaction.recorded_at.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        notes.append(f"recorded {stamp}")
    extra = f" ({', '.join(notes)})" if notes else ""
    return f"#{index} {request.method} {request.url}{extra}"


def unused_message(active: ActiveCassette, limit: int = 10) -> str | None:
    """Why a strict cassette fails (the unplayed interactions and the fix), or None."""
    if not replays(active.record_mode, active.existed):
        return None
    unplayed = active.unplayed
    if not unplayed:
        return None
    total = len(active.loaded)
    n = len(unplayed)
    lines = [
        f"Cassette {active.path}: {n} of {total} interaction{'s' if total != 1 else ''} "
        f"{'was' if n == 1 else 'were'} never played (strict usage):"
    ]
    lines.extend(f"  {describe_interaction(active.loaded[i], i)}" for i in unplayed[:limit])
    if n > limit:
        lines.append(f"  ... and {n - limit} more")
    lines.append(
        "To fix: remove them (run the tests with --replay-usage-log=FILE, then `llm-replay prune "
        f"--usage-log FILE {active.path}`), re-record the cassette with record mode 'rewrite', "
        "or turn strict usage off for this cassette (strict=False)."
    )
    return "\n".join(lines)


# -- the usage log -----------------------------------------------------------------------------


def interaction_fingerprint(interaction: Interaction) -> str:
    """A short digest of an interaction's content as written to disk (request, response, timing)."""
    text = json.dumps(interaction._to_disk(), sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


_RECORD = ConfigDict(extra="forbid", frozen=True)


class InteractionUse(BaseModel):
    """One loaded interaction: how often it was played, and what it was when loaded."""

    model_config = _RECORD

    index: int = Field(ge=0)
    plays: int = Field(ge=0)
    fingerprint: str
    request: str = ""


class CassetteUse(BaseModel):
    """One opening of one cassette (usually: one test)."""

    model_config = _RECORD

    cassette: str  # relative to the log's rootdir when inside it, else absolute; '/' separators
    test: str | None = None
    record_mode: str
    replayed: bool
    outcome: Literal["passed", "failed", "skipped"] = "passed"
    interactions: tuple[InteractionUse, ...] = ()
    recorded: int = Field(default=0, ge=0)

    @property
    def unplayed(self) -> list[int]:
        return [u.index for u in self.interactions if u.plays == 0]


class UsageLogHeader(BaseModel):
    """The first line of a usage log."""

    model_config = _RECORD

    format: Literal["llm-replay-usage"] = USAGE_LOG_FORMAT
    version: Literal[1] = 1
    rootdir: str
    created: str


def cassette_key(path: Path, rootdir: Path) -> str:
    """How a cassette path is written in a log: relative to ``rootdir`` when inside it."""
    resolved = Path(os.path.abspath(path))
    try:
        return resolved.relative_to(Path(os.path.abspath(rootdir))).as_posix()
    except ValueError:
        return resolved.as_posix()


def use_from_active(
    active: ActiveCassette,
    *,
    rootdir: Path,
    test: str | None,
    outcome: Literal["passed", "failed", "skipped"],
) -> CassetteUse:
    """The log record of a closed cassette."""
    counts = active.use_counts
    return CassetteUse(
        cassette=cassette_key(active.path, rootdir),
        test=test,
        record_mode=active.record_mode.value,
        replayed=replays(active.record_mode, active.existed),
        outcome=outcome,
        interactions=tuple(
            InteractionUse(
                index=i,
                plays=counts[i],
                fingerprint=interaction_fingerprint(interaction),
                request=f"{interaction.request.method} {interaction.request.url}",
            )
            for i, interaction in enumerate(active.loaded)
        ),
        recorded=len(active.recorded),
    )


class UsageLog:
    """A usage log in memory: the rootdir that relative cassette paths start from, and the uses.

    Example usage::

        log = UsageLog.read("usage.jsonl")
        for use in log.uses:
            print(use.test, use.cassette, use.unplayed)
    """

    def __init__(self, rootdir: Path, uses: Iterable[CassetteUse] = (), created: str | None = None) -> None:
        self.rootdir = rootdir
        self.uses = list(uses)
        self.created = created or datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")

    def resolve(self, use: CassetteUse, root: Path | None = None) -> Path:
        """The cassette file a use refers to (relative keys start at ``root`` or the log's rootdir)."""
        p = Path(use.cassette)
        return p if p.is_absolute() else (root or self.rootdir) / p

    def dumps(self) -> str:
        header = UsageLogHeader(rootdir=str(self.rootdir), created=self.created)
        lines = [header.model_dump_json()]
        lines.extend(use.model_dump_json(exclude_defaults=False) for use in self.uses)
        return "\n".join(lines) + "\n"

    def write(self, path: Path) -> None:
        """Replace ``path`` atomically with this log."""
        from ..errors import CassetteWriteError
        from ..io.storage import write_atomic

        try:
            write_atomic(path, self.dumps().encode("utf-8"))
        except CassetteWriteError as exc:
            raise UsageLogError(str(exc).replace("cassette", "usage log")) from None

    @classmethod
    def read(cls, path: Path) -> UsageLog:
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise UsageLogError(
                f"Usage log {path} does not exist; write one with `pytest --replay-usage-log={path}`."
            ) from None
        except (OSError, UnicodeDecodeError) as exc:
            raise UsageLogError(f"{path}: cannot read the usage log: {exc}") from None
        lines = [(n, line) for n, line in enumerate(text.splitlines(), 1) if line.strip()]
        if not lines:
            raise UsageLogError(f"{path}: the usage log is empty.")
        n, first = lines[0]
        try:
            header = UsageLogHeader.model_validate_json(first)
        except ValidationError:
            raise UsageLogError(
                f"{path}: not an llm-replay usage log (line {n} is not its header); "
                "write one with `pytest --replay-usage-log=FILE`."
            ) from None
        uses: list[CassetteUse] = []
        for n, line in lines[1:]:
            try:
                uses.append(CassetteUse.model_validate_json(line))
            except ValidationError as exc:
                first_error = exc.errors()[0]
                where = ".".join(str(p) for p in first_error["loc"]) or "(line)"
                raise UsageLogError(
                    f"{path}: line {n} is not a valid cassette use ({where}: {first_error['msg']}); "
                    "re-run the tests with --replay-usage-log to write a fresh log."
                ) from None
        return cls(Path(header.rootdir), uses, created=header.created)

    @staticmethod
    def merge(logs: Sequence[UsageLog]) -> list[tuple[UsageLog, CassetteUse]]:
        return [(log, use) for log in logs for use in log.uses]
