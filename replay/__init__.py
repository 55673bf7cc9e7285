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
from .usage import UnusedInteractionsError, UsageLog
from .variants import (
    ANTHROPIC_EDGE_CASES,
    BEDROCK_EDGE_CASES,
    EDGE_CASES,
    EDGE_CASES_BY_API,
    GEMINI_EDGE_CASES,
    OLLAMA_EDGE_CASES,
    RESPONSES_EDGE_CASES,
    Variant,
    edge_cases_for,
    variants,
)
from .vcr import SyntheticTiming

__version__ = "0.1.0"

# Plain sorted() order (what tests pin), not ruff's constants-first order.
__all__ = [  # noqa: RUF022
    "ANTHROPIC_EDGE_CASES",
    "ActiveCassette",
    "BEDROCK_EDGE_CASES",
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
    "EDGE_CASES_BY_API",
    "GEMINI_EDGE_CASES",
    "Interaction",
    "NetworkBlockedError",
    "NoMatchingInteraction",
    "OLLAMA_EDGE_CASES",
    "RESPONSES_EDGE_CASES",
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
    "edge_cases_for",
    "faults",
    "load_cassette",
    "save_cassette",
    "synth",
    "use_cassette",
    "variants",
]
