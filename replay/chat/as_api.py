"""The recordings as another API sees them: what ``use_cassette(..., as_api=...)`` replays from.

Each interaction recorded in a chat API is translated (:func:`replay.chat.translate.translate`)
into every API named, and matched with the ``chat`` matcher: a live request in API B finds the
recording whose conversation and tools are the same data, whatever API it was made in, and is
answered in B's wire format with the recorded timing. Interactions that are not chat calls
(embeddings, a model list) stay as recorded and match as before.

Example usage::

    view = as_api_view(cassette.interactions, ("anthropic-messages",), "cassettes/chat.yaml")
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from ..cassette import Interaction
from .codecs import TranslationError, codec_for, get_codec
from .translate import translate

__all__ = ["AS_API_MATCH_ON", "as_api_view", "parse_as_api"]

AS_API_MATCH_ON: tuple[str, ...] = ("method", "chat")


def parse_as_api(value: str | Iterable[str] | None) -> tuple[str, ...]:
    """API names from ``as_api`` (one name or several); a ValueError names the unknown ones."""
    if value is None:
        return ()
    names = (value,) if isinstance(value, str) else tuple(value)
    for name in names:
        get_codec(name)
    return names


def as_api_view(interactions: Sequence[Interaction], apis: Sequence[str], source: str) -> list[Interaction]:
    """Each chat interaction once per API in ``apis`` (as recorded where it is that API)."""
    out: list[Interaction] = []
    for index, interaction in enumerate(interactions):
        codec = codec_for(interaction.request)
        if codec is None:
            out.append(interaction)
            continue
        for api in apis:
            try:
                translated = translate(interaction, to=api)
            except TranslationError as exc:
                raise TranslationError(
                    f"{source} interaction #{index} ({interaction.request.method} {interaction.request.url}) "
                    f"cannot be served as {api}: {exc}"
                ) from None
            out.append(translated.model_copy(update={"match_on": AS_API_MATCH_ON}))
    return out
