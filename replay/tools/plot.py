"""Chunk-arrival timelines drawn with matplotlib (the optional ``plot`` extra).

One panel per interaction, x in seconds since the request was sent. Lanes, top to bottom:
the response headers (time to first byte), each chunk (one network read), each SSE event
(a star where the finish reason arrives, labelled with it). A step line on the right axis
counts output tokens as they arrive; the panel title gives tokens per second.

Each group of marks carries an id (``headers-0``, ``chunks-0``, ``events-0``, ``finish-0``,
``tokens-0``), so an SVG can be checked mark by mark.

Example usage::

    from replay.tools.plot import save_plot
    save_plot(replay.load_cassette("cassettes/chat.yaml"), Path("chat.svg"))
"""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from ..errors import ReplayError
from ..model.cassette import Cassette, Interaction
from .timeline import TimedEvent, Timeline, timeline

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["FORMATS", "PlotMarks", "PlotUnavailableError", "plot_cassette", "save_plot"]

FORMATS = (".png", ".svg", ".pdf")
_LANES = {"headers": 2.0, "chunks": 1.0, "events": 0.0}
_COLORS = {
    "headers": "#7b3294",
    "chunks": "#2c7bb6",
    "events": "#1a9641",
    "finish": "#d7191c",
    "tokens": "#fdae61",
}


class PlotUnavailableError(ReplayError):
    """matplotlib is not installed (``pip install 'llm-replay[plot]'``)."""


@dataclass(frozen=True, slots=True)
class PlotMarks:
    """How many marks one panel shows, per lane."""

    index: int
    headers: int
    chunks: int
    events: int
    finish: int
    tokens_per_second: float | None


def _require_matplotlib() -> None:
    if importlib.util.find_spec("matplotlib") is None:
        raise PlotUnavailableError(
            "plotting needs matplotlib, which is not installed. Install the extra: "
            "pip install 'llm-replay[plot]'"
        )


def _title(index: int, interaction: Interaction, line: Timeline) -> str:
    split = urlsplit(interaction.request.url)
    parts = [
        f"#{index} {interaction.request.method} {split.path or '/'}",
        f"status {interaction.response.status}",
        f"ttfb {line.ttfb:.3f}s",
        f"{len(line.chunk_times)} chunks",
    ]
    if line.events:
        parts.append(f"{len(line.events)} {line.framing or ''} events".replace("  ", " "))
    tokens = line.tokens
    rate = line.tokens_per_second
    if tokens is not None:
        parts.append(f"{tokens} tokens" + (f" at {rate:.1f} tok/s" if rate is not None else ""))
    finishes = [e.finish for e in line.finish if e.finish]
    if finishes:
        parts.append("finish " + ", ".join(dict.fromkeys(finishes)))
    return "   ".join(parts)


def plot_cassette(
    cassette: Cassette, *, indices: Sequence[int] | None = None, title: str | None = None
) -> tuple[Figure, list[PlotMarks]]:
    """A figure with one timeline panel per chosen interaction (all by default)."""
    _require_matplotlib()
    from matplotlib.figure import Figure

    chosen = _chosen(cassette, indices)
    fig = Figure(figsize=(11, 0.7 + 2.3 * len(chosen)), layout="constrained")
    if title:
        fig.suptitle(title, fontsize=11)
    axes = fig.subplots(len(chosen), 1, squeeze=False)[:, 0]
    marks = [_draw_panel(ax, i, cassette.interactions[i]) for ax, i in zip(axes, chosen, strict=True)]
    return fig, marks


def _chosen(cassette: Cassette, indices: Sequence[int] | None) -> list[int]:
    count = len(cassette.interactions)
    chosen = list(range(count)) if indices is None else list(indices)
    for i in chosen:
        if not 0 <= i < count:
            raise ReplayError(
                f"interaction #{i} does not exist (the cassette has {count}: #0 to #{count - 1})"
            )
    if not chosen:
        raise ReplayError("the cassette has no interactions to plot")
    return chosen


def _draw_panel(ax: Axes, i: int, interaction: Interaction) -> PlotMarks:
    """Interaction ``i``'s timeline: the head, each chunk, each event, finish reasons, tokens."""
    line = timeline(interaction.response)
    end = max(line.duration, line.ttfb) or 1.0
    ax.set_xlim(0, end * 1.04)
    lanes_below = max(0, len({e.choice for e in line.finish if e.choice is not None}) - 1)
    ax.set_ylim(-0.7 - _CHOICE_STEP * lanes_below, 2.6)
    ax.set_yticks(list(_LANES.values()), list(_LANES))
    ax.grid(axis="x", alpha=0.3)
    ax.set_title(_title(i, interaction, line), fontsize=9, loc="left")
    ax.set_xlabel("seconds since the request was sent", fontsize=8)
    ax.tick_params(labelsize=8)

    (head,) = ax.plot([line.ttfb], [_LANES["headers"]], "v", color=_COLORS["headers"], markersize=9)
    head.set_gid(f"headers-{i}")
    ax.axvline(line.ttfb, color=_COLORS["headers"], alpha=0.35, linewidth=1)
    ax.annotate(
        f"headers {line.ttfb:.3f}s",
        (line.ttfb, _LANES["headers"]),
        xytext=(6, 4),
        textcoords="offset points",
        fontsize=7,
        color=_COLORS["headers"],
    )
    (chunks,) = ax.plot(
        list(line.chunk_times),
        [_LANES["chunks"]] * len(line.chunk_times),
        "|",
        color=_COLORS["chunks"],
        markersize=14,
        markeredgewidth=1.2,
    )
    chunks.set_gid(f"chunks-{i}")
    plain = [e for e in line.events if e.finish is None]
    (events,) = ax.plot(
        [e.t for e in plain],
        [_LANES["events"]] * len(plain),
        "o",
        color=_COLORS["events"],
        markersize=4,
        alpha=0.8,
    )
    events.set_gid(f"events-{i}")
    choices = sorted({e.choice for e in line.events if e.choice is not None})
    _draw_finish(ax, i, line.finish, choices)
    _draw_tokens(ax, i, line.token_events, choices)
    return PlotMarks(
        index=i,
        headers=1,
        chunks=len(line.chunk_times),
        events=len(line.events),
        finish=len(line.finish),
        tokens_per_second=line.tokens_per_second,
    )


_CHOICE_STEP = 0.35  # how far below the events lane each further choice's finish mark sits
_CHOICE_COLORS = ("#fdae61", "#abd9e9", "#a6611a", "#80cdc1")


def _draw_finish(ax: Axes, i: int, finish: list[TimedEvent], choices: list[int]) -> None:
    """A star where each finish reason arrives; with several choices (``n>1``), one row per
    choice, labelled with its index, so marks that arrive together do not overlap."""
    multi = len(choices) > 1

    def row(e: TimedEvent) -> int:
        return choices.index(e.choice) if multi and e.choice in choices else 0

    ys = [_LANES["events"] - _CHOICE_STEP * row(e) for e in finish]
    (stars,) = ax.plot([e.t for e in finish], ys, "*", color=_COLORS["finish"], markersize=12)
    stars.set_gid(f"finish-{i}")
    for e, y in zip(finish, ys, strict=True):
        label = f"finish[{e.choice}]: {e.finish}" if multi else f"finish: {e.finish}"
        ax.annotate(
            label,
            (e.t, y),
            xytext=(-8, -4),
            textcoords="offset points",
            fontsize=7,
            color=_COLORS["finish"],
            ha="right",
        )


def _draw_tokens(ax: Axes, i: int, token_events: list[TimedEvent], choices: list[int]) -> None:
    """The content-event staircase on a right axis; one staircase per choice for ``n>1``."""
    if not token_events:
        return
    multi = len(choices) > 1
    groups = (
        [(c, [e for e in token_events if e.choice == c]) for c in choices]
        if multi
        else [(None, token_events)]
    )
    twin = ax.twinx()
    top = 1
    for k, (choice, events) in enumerate(groups):
        xs = [0.0, *(e.t for e in events)]
        ys = list(range(len(xs)))
        top = max(top, ys[-1])
        color = _CHOICE_COLORS[k % len(_CHOICE_COLORS)] if multi else _COLORS["tokens"]
        label = f"choice {choice}" if multi else None
        (steps,) = twin.step(xs, ys, where="post", color=color, linewidth=1.3, alpha=0.9, label=label)
        steps.set_gid(f"tokens-{i}" if not multi else f"tokens-{i}-choice-{choice}")
    twin.set_ylim(0, top * 1.15)
    twin.set_ylabel("content events", fontsize=8, color=_COLORS["tokens"])
    twin.tick_params(labelsize=7, colors=_COLORS["tokens"])
    if multi:
        twin.legend(loc="upper left", fontsize=7, frameon=False)
    # Keep the marks above the step line: draw the main axes last, without its background.
    ax.set_zorder(twin.get_zorder() + 1)
    ax.patch.set_visible(False)


def save_plot(
    cassette: Cassette, out: Path, *, indices: Sequence[int] | None = None, title: str | None = None
) -> list[PlotMarks]:
    """Draw the timelines and write them to ``out`` (``.png``, ``.svg`` or ``.pdf``)."""
    if out.suffix.lower() not in FORMATS:
        raise ReplayError(f"{out}: unknown image format {out.suffix!r}; use one of {', '.join(FORMATS)}")
    fig, marks = plot_cassette(cassette, indices=indices, title=title)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110, metadata={"Date": None} if out.suffix.lower() == ".svg" else None)
    return marks
