"""A provider-neutral chat exchange: the request, and the response as timed events.

Every API codec (:mod:`replay.chat.codecs`) decodes its wire format into these values and
encodes them back, so a recording made in one API can be served in another. Values are frozen
dataclasses (internal, never written to disk as such): equality is content equality.

Example usage::

    request = ChatRequest(model="gpt-4o", messages=(Message("user", (Text("hi"),)),))
    response = ChatResponse(events=(Timed(0.3, TextDelta("Hello")), Timed(0.4, Finish("stop"))))
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any, Literal

__all__ = [
    "FINISH_REASONS",
    "ChatRequest",
    "ChatResponse",
    "Event",
    "Finish",
    "FinishReason",
    "Image",
    "Message",
    "Part",
    "ReasoningDelta",
    "Role",
    "Start",
    "StreamDone",
    "Text",
    "TextDelta",
    "Timed",
    "Tool",
    "ToolArgsDelta",
    "ToolCall",
    "ToolCallEnd",
    "ToolCallStart",
    "ToolResult",
    "UsageReport",
    "merge_messages",
]

Role = Literal["user", "assistant"]
# The neutral finish reasons; each codec documents how it maps them to its own field.
FinishReason = Literal["stop", "length", "tool_calls", "content_filter", "stop_sequence", "other"]
FINISH_REASONS: tuple[FinishReason, ...] = (
    "stop",
    "length",
    "tool_calls",
    "content_filter",
    "stop_sequence",
    "other",
)


# -- request ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Text:
    """Plain text in a message."""

    text: str


@dataclass(frozen=True, slots=True)
class Image:
    """An image: base64 ``data`` with its media type, or a ``url``."""

    media_type: str = "image/png"
    data: str | None = None
    url: str | None = None


@dataclass(frozen=True, slots=True)
class ToolCall:
    """A tool call the assistant made; ``arguments`` is the decoded JSON value (usually a dict)."""

    id: str
    name: str
    arguments: Any


@dataclass(frozen=True, slots=True)
class ToolResult:
    """The result of a tool call, sent back by the user side."""

    tool_call_id: str
    content: str
    name: str = ""
    is_error: bool = False


Part = Text | Image | ToolCall | ToolResult


@dataclass(frozen=True, slots=True)
class Message:
    """One turn: tool results are parts of a ``user`` message, tool calls of an ``assistant`` one."""

    role: Role
    parts: tuple[Part, ...]


@dataclass(frozen=True, slots=True)
class Tool:
    """A function the model may call, with its JSON-schema ``parameters``."""

    name: str
    description: str = ""
    parameters: Any = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ChatRequest:
    """What the application asked for, whatever the API."""

    model: str = ""
    system: str | None = None
    messages: tuple[Message, ...] = ()
    tools: tuple[Tool, ...] = ()
    temperature: float | None = None
    top_p: float | None = None
    stop: tuple[str, ...] = ()
    max_tokens: int | None = None
    stream: bool = False

    def conversation_key(self) -> tuple[Any, ...]:
        """What request matching compares across APIs: system, conversation and tools, as data.

        The model name is left out (each provider names its models differently), and so are
        sampling parameters and the stream flag (the answer is re-encoded for the live call).
        """
        return (self.system or None, merge_messages(self.messages), self.tools)


def merge_messages(messages: Iterable[Message]) -> tuple[Message, ...]:
    """Adjacent messages of one role merged: the form every API can carry.

    Anthropic and Bedrock require alternating roles, so an OpenAI ``tool, tool, user`` run
    becomes one user turn there; merging on decode makes that the neutral form everywhere.
    """
    out: list[Message] = []
    for message in messages:
        if not message.parts:
            continue
        if out and out[-1].role == message.role:
            out[-1] = replace(out[-1], parts=out[-1].parts + message.parts)
        else:
            out.append(message)
    return tuple(out)


# -- response events ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Start:
    """The response began (OpenAI's role chunk, Anthropic's ``message_start``, ...)."""


@dataclass(frozen=True, slots=True)
class TextDelta:
    """Assistant text."""

    text: str


@dataclass(frozen=True, slots=True)
class ReasoningDelta:
    """Reasoning ("thinking") text, where the API exposes it."""

    text: str


@dataclass(frozen=True, slots=True)
class ToolCallStart:
    """A tool call opens; ``index`` numbers the calls of the response from 0."""

    index: int
    id: str
    name: str


@dataclass(frozen=True, slots=True)
class ToolArgsDelta:
    """A fragment of a tool call's JSON arguments text."""

    index: int
    arguments: str


@dataclass(frozen=True, slots=True)
class ToolCallEnd:
    """A tool call's arguments are complete."""

    index: int


@dataclass(frozen=True, slots=True)
class Finish:
    """Why generation stopped: a neutral reason and the provider's own word (``raw``)."""

    reason: FinishReason
    raw: str = ""


@dataclass(frozen=True, slots=True)
class UsageReport:
    """Token counts; ``None`` where the source did not report them."""

    input_tokens: int | None = None
    output_tokens: int | None = None


@dataclass(frozen=True, slots=True)
class StreamDone:
    """The stream's own end marker (``[DONE]``, ``message_stop``, ``done: true``)."""


Event = (
    Start
    | TextDelta
    | ReasoningDelta
    | ToolCallStart
    | ToolArgsDelta
    | ToolCallEnd
    | Finish
    | UsageReport
    | StreamDone
)


@dataclass(frozen=True, slots=True)
class Timed:
    """An event with ``t``, seconds from sending the request to the read that completed it."""

    t: float
    event: Event


@dataclass(frozen=True, slots=True)
class ChatResponse:
    """A response as timed events, plus the identity fields every API echoes.

    A non-streaming response has the same events, all at the time its body arrived.
    """

    events: tuple[Timed, ...] = ()
    id: str = ""
    model: str = ""
    created: int = 0
    stream: bool = True
    head_t: float = 0.0

    # -- derived views (what an SDK assembles) --

    @property
    def text(self) -> str:
        return "".join(e.event.text for e in self.events if isinstance(e.event, TextDelta))

    @property
    def reasoning(self) -> str:
        return "".join(e.event.text for e in self.events if isinstance(e.event, ReasoningDelta))

    def tool_calls(self) -> list[tuple[str, str, str]]:
        """``(id, name, arguments text)`` per tool call, in index order."""
        calls: dict[int, list[str]] = {}
        for e in self.events:
            ev = e.event
            if isinstance(ev, ToolCallStart):
                calls[ev.index] = [ev.id, ev.name, ""]
            elif isinstance(ev, ToolArgsDelta) and ev.index in calls:
                calls[ev.index][2] += ev.arguments
        return [(c[0], c[1], c[2]) for _, c in sorted(calls.items())]

    @property
    def finish(self) -> Finish | None:
        found = [e.event for e in self.events if isinstance(e.event, Finish)]
        return found[-1] if found else None

    @property
    def usage(self) -> UsageReport:
        """The last reported count of each kind (providers repeat or split usage)."""
        inp: int | None = None
        out: int | None = None
        for e in self.events:
            if isinstance(e.event, UsageReport):
                inp = e.event.input_tokens if e.event.input_tokens is not None else inp
                out = e.event.output_tokens if e.event.output_tokens is not None else out
        return UsageReport(inp, out)

    @property
    def end_t(self) -> float:
        return self.events[-1].t if self.events else self.head_t

    @property
    def end_index(self) -> int:
        """Where a single closing message goes: the finish, else the end marker, else the last event."""
        for kind in (Finish, StreamDone):
            found = next((i for i, e in enumerate(self.events) if isinstance(e.event, kind)), None)
            if found is not None:
                return found
        return len(self.events) - 1
