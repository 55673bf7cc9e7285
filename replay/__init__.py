"""llm-replay: record and replay LLM API traffic, SSE streams chunk by chunk with their timing.

Example usage::

    import replay

    with replay.use_cassette("cassettes/chat.yaml", timing="virtual"):
        ...  # any httpx2/httpx client the code creates is served from the cassette
"""

from . import faults, synth
from .engine.api import CassetteContext, use_cassette
from .engine.player import ActiveCassette
from .errors import (
    CassetteError,
    CassetteFormatError,
    CassetteNotFoundError,
    CassetteWriteError,
    NoMatchingInteraction,
    ReplayError,
    ReplayWarning,
)
from .faults.variants import ANTHROPIC_EDGE_CASES, EDGE_CASES, Variant, variants
from .hygiene.changes import RecordingChanges
from .hygiene.expiry import CassetteExpiredError, CassetteExpiredWarning
from .hygiene.usage import UnusedInteractionsError, UsageLog
from .io.storage import load_cassette, save_cassette
from .model.cassette import Cassette, Chunk, Interaction, Request, Response, StreamEnd
from .model.sse import SSEEvent
from .modes import RecordMode, Timing
from .scrub import SecretsFoundError
from .tools.diff import CassetteDiff, diff_cassettes
from .transport.netguard import NetworkBlockedError
from .vcr.format import SyntheticTiming

__version__ = "0.1.0"

# Plain sorted() order (what tests pin), not ruff's constants-first order.
__all__ = [  # noqa: RUF022
    "ANTHROPIC_EDGE_CASES",
    "ActiveCassette",
    "Cassette",
    "CassetteContext",
    "CassetteDiff",
    "CassetteError",
    "CassetteExpiredError",
    "CassetteExpiredWarning",
    "CassetteFormatError",
    "CassetteNotFoundError",
    "CassetteWriteError",
    "Chunk",
    "EDGE_CASES",
    "Interaction",
    "NetworkBlockedError",
    "NoMatchingInteraction",
    "RecordMode",
    "RecordingChanges",
    "ReplayError",
    "ReplayWarning",
    "Request",
    "Response",
    "SSEEvent",
    "SecretsFoundError",
    "StreamEnd",
    "SyntheticTiming",
    "Timing",
    "UnusedInteractionsError",
    "UsageLog",
    "Variant",
    "diff_cassettes",
    "faults",
    "load_cassette",
    "save_cassette",
    "synth",
    "use_cassette",
    "variants",
]
