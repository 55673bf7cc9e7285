"""llm-replay: record and replay LLM API traffic, SSE streams chunk by chunk with their timing.

Example usage::

    import replay

    with replay.use_cassette("cassettes/chat.yaml", timing="virtual"):
        ...  # any httpx2/httpx client the code creates is served from the cassette
"""

from . import faults, synth
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
from .player import ActiveCassette
from .sse import SSEEvent
from .storage import load_cassette, save_cassette
from .variants import ANTHROPIC_EDGE_CASES, EDGE_CASES, Variant, variants

__version__ = "0.1.0"

# Plain sorted() order (what tests pin), not ruff's constants-first order.
__all__ = [  # noqa: RUF022
    "ANTHROPIC_EDGE_CASES",
    "ActiveCassette",
    "Cassette",
    "CassetteContext",
    "CassetteError",
    "CassetteFormatError",
    "CassetteNotFoundError",
    "CassetteWriteError",
    "Chunk",
    "EDGE_CASES",
    "Interaction",
    "NoMatchingInteraction",
    "RecordMode",
    "ReplayError",
    "Request",
    "Response",
    "SSEEvent",
    "StreamEnd",
    "Timing",
    "Variant",
    "faults",
    "load_cassette",
    "save_cassette",
    "synth",
    "use_cassette",
    "variants",
]
