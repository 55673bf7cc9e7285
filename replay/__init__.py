"""llm-replay: record and replay LLM API traffic, SSE streams chunk by chunk with their timing.

Example usage::

    import replay

    with replay.use_cassette("cassettes/chat.yaml", timing="virtual"):
        ...  # any httpx2/httpx client the code creates is served from the cassette
"""

from .api import CassetteContext, use_cassette
from .cassette import Cassette, Chunk, Interaction, Request, Response, StreamEnd
from .errors import (
    CassetteError,
    CassetteFormatError,
    CassetteNotFoundError,
    CassetteWriteError,
    NoMatchingInteraction,
    ReplayError,
)
from .modes import RecordMode, Timing
from .netguard import NetworkBlockedError
from .player import ActiveCassette
from .scrub import SecretsFoundError
from .sse import SSEEvent
from .storage import load_cassette, save_cassette

__version__ = "0.1.0"

__all__ = [
    "ActiveCassette",
    "Cassette",
    "CassetteContext",
    "CassetteError",
    "CassetteFormatError",
    "CassetteNotFoundError",
    "CassetteWriteError",
    "Chunk",
    "Interaction",
    "NetworkBlockedError",
    "NoMatchingInteraction",
    "RecordMode",
    "ReplayError",
    "Request",
    "Response",
    "SSEEvent",
    "SecretsFoundError",
    "StreamEnd",
    "Timing",
    "load_cassette",
    "save_cassette",
    "use_cassette",
]
