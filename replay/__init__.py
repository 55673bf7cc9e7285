"""llm-replay: record and replay LLM API traffic, SSE streams chunk by chunk with their timing.

Example usage::

    import replay

    with replay.use_cassette("cassettes/chat.yaml", timing="virtual"):
        ...  # any httpx2/httpx client the code creates is served from the cassette
"""

from . import faults, synth
from .api import CassetteContext, use_cassette
from .cassette import Cassette, Chunk, Interaction, Request, Response, StreamEnd
from .changes import RecordingChanges
from .diff import CassetteDiff, diff_cassettes
from .errors import (
    CassetteError,
    CassetteFormatError,
    CassetteNotFoundError,
    CassetteWriteError,
    NoMatchingInteraction,
    ReplayError,
    ReplayWarning,
)
from .expiry import CassetteExpiredError, CassetteExpiredWarning
from .modes import RecordMode, Timing
from .netguard import NetworkBlockedError
from .player import ActiveCassette
from .scrub import SecretsFoundError
from .sse import SSEEvent
from .storage import load_cassette, save_cassette
from .timing.real import real_monotonic, real_perf_counter, real_time
from .usage import UnusedInteractionsError, UsageLog
from .variants import ANTHROPIC_EDGE_CASES, EDGE_CASES, Variant, variants
from .vcr import SyntheticTiming

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
    "real_monotonic",
    "real_perf_counter",
    "real_time",
    "save_cassette",
    "synth",
    "use_cassette",
    "variants",
]
