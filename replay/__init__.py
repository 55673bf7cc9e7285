"""llm-replay: record and replay LLM API traffic, SSE streams chunk by chunk with their timing.

Example usage::

    import replay

    with replay.use_cassette("cassettes/chat.yaml", timing="virtual"):
        ...  # any httpx2/httpx client the code creates is served from the cassette
"""

from typing import TYPE_CHECKING

from .errors import (
    CassetteError,
    CassetteFormatError,
    CassetteNotFoundError,
    CassetteWriteError,
    NoMatchingInteraction,
    ReplayError,
    ReplayWarning,
)
from .lazy import lazy_attributes
from .modes import RecordMode, Timing

if TYPE_CHECKING:
    from . import faults, synth
    from .chat.codecs import API_NAMES, TranslationError
    from .chat.translate import api_of, translate
    from .engine.api import CassetteContext, use_cassette
    from .engine.player import ActiveCassette
    from .faults.variants import (
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
    from .hygiene.changes import RecordingChanges
    from .hygiene.expiry import CassetteExpiredError, CassetteExpiredWarning
    from .hygiene.usage import UnusedInteractionsError, UsageLog
    from .io.storage import load_cassette, save_cassette
    from .model.cassette import Cassette, Chunk, Interaction, Request, Response, StreamEnd
    from .model.sse import SSEEvent
    from .scrub import SecretsFoundError
    from .timing.real import real_monotonic, real_perf_counter, real_time
    from .tools.diff import CassetteDiff, diff_cassettes
    from .transport.netguard import NetworkBlockedError
    from .vcr.format import SyntheticTiming

# Everything else is imported on first use (PEP 562): `import replay` stays cheap for a test
# session that only needs, say, the errors, and a command pays only for what it touches.
_LAZY: dict[str, str] = {
    "faults": "",
    "synth": "",
    "CassetteContext": "engine.api",
    "use_cassette": "engine.api",
    "ActiveCassette": "engine.player",
    "ANTHROPIC_EDGE_CASES": "faults.variants",
    "EDGE_CASES": "faults.variants",
    "Variant": "faults.variants",
    "variants": "faults.variants",
    "BEDROCK_EDGE_CASES": "faults.variants",
    "EDGE_CASES_BY_API": "faults.variants",
    "GEMINI_EDGE_CASES": "faults.variants",
    "OLLAMA_EDGE_CASES": "faults.variants",
    "RESPONSES_EDGE_CASES": "faults.variants",
    "edge_cases_for": "faults.variants",
    "RecordingChanges": "hygiene.changes",
    "CassetteExpiredError": "hygiene.expiry",
    "CassetteExpiredWarning": "hygiene.expiry",
    "UnusedInteractionsError": "hygiene.usage",
    "UsageLog": "hygiene.usage",
    "load_cassette": "io.storage",
    "save_cassette": "io.storage",
    "Cassette": "model.cassette",
    "Chunk": "model.cassette",
    "Interaction": "model.cassette",
    "Request": "model.cassette",
    "Response": "model.cassette",
    "StreamEnd": "model.cassette",
    "SSEEvent": "model.sse",
    "SecretsFoundError": "scrub",
    "real_monotonic": "timing.real",
    "real_perf_counter": "timing.real",
    "real_time": "timing.real",
    "CassetteDiff": "tools.diff",
    "diff_cassettes": "tools.diff",
    "NetworkBlockedError": "transport.netguard",
    "SyntheticTiming": "vcr.format",
    "API_NAMES": "chat.codecs",
    "TranslationError": "chat.codecs",
    "api_of": "chat.translate",
    "translate": "chat.translate",
}


__getattr__ = lazy_attributes(__name__, _LAZY, globals())


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


__version__ = "0.1.0"

# Plain sorted() order (what tests pin), not ruff's constants-first order.
__all__ = [  # noqa: RUF022
    "ANTHROPIC_EDGE_CASES",
    "API_NAMES",
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
    "TranslationError",
    "UnusedInteractionsError",
    "UsageLog",
    "Variant",
    "api_of",
    "diff_cassettes",
    "edge_cases_for",
    "faults",
    "load_cassette",
    "real_monotonic",
    "real_perf_counter",
    "real_time",
    "save_cassette",
    "synth",
    "translate",
    "use_cassette",
    "variants",
]
