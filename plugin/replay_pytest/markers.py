"""Where a test's cassette is and what its ``@pytest.mark.replay`` markers say (shared by the
fixtures and by ``--replay-list-cassettes``)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from .variants import name_without_variant

__all__ = ["USE_CASSETTE_KEYS", "default_cassette_path", "marker_settings"]

USE_CASSETTE_KEYS = frozenset(
    {
        "record_mode",
        "timing",
        "speed",
        "allow_playback_repeats",
        "match_on",
        "record_on_failure",
        "synthetic_timing",  # the schedule of vcrpy cassettes' bodies
        "strict",  # hygiene: fail on unplayed interactions
        "max_age",
        "expiry",
        "faults",  # fault injection (replay.faults)
        # safety: secrets and network (replay.scrub, replay.transport.netguard)
        "filter_headers",
        "filter_query",
        "filter_body_fields",
        "before_record_request",
        "before_record_response",
        "allow_secrets",
        "block_network",
        "allowed_hosts",
        "as_api",  # provider translation: answer calls in these APIs from another API's recordings
    }
)


def default_cassette_path(node: pytest.Item) -> Path:
    """``<test dir>/cassettes/<module>/<[Class.]test>.yaml``, with the name made file-safe."""
    module = node.path.stem
    owner = getattr(node, "cls", None)
    cls = owner.__name__ + "." if owner is not None else ""
    name = re.sub(r"[^\w.\-\[\]=,+@]", "_", cls + name_without_variant(node))
    return node.path.parent / "cassettes" / module / f"{name}.yaml"


def marker_settings(node: pytest.Item) -> tuple[Path | None, dict[str, Any]]:
    # Closest marker wins per key: apply from the farthest (module) to the nearest (function).
    path: Path | None = None
    kwargs: dict[str, Any] = {}
    for marker in reversed(list(node.iter_markers("replay"))):
        if len(marker.args) > 1:
            raise pytest.UsageError(f"{node.nodeid}: @pytest.mark.replay takes at most one path argument")
        unknown = set(marker.kwargs) - USE_CASSETTE_KEYS - {"path"}
        if unknown:
            raise pytest.UsageError(
                f"{node.nodeid}: unknown @pytest.mark.replay argument(s) {sorted(unknown)}; "
                f"known: path, {', '.join(sorted(USE_CASSETTE_KEYS))}"
            )
        given = marker.args[0] if marker.args else marker.kwargs.get("path")
        if given is not None:
            p = Path(given)
            path = p if p.is_absolute() else node.path.parent / p
        kwargs.update({k: v for k, v in marker.kwargs.items() if k != "path" and v is not None})
    return path, kwargs
