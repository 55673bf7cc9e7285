"""The recordings as another API sees them: what ``use_cassette(..., as_api=...)`` replays from.

Each interaction recorded in a chat API is translated (:func:`replay.chat.translate.translate`)
into every API named, and matched with the ``chat`` matcher: a live request in API B finds the
recording whose conversation and tools are the same data, whatever API it was made in, and is
answered in B's wire format with the recorded timing. Interactions that are not chat calls
(embeddings, a model list) stay as recorded and match as before.

Example usage::

    view = AsApiView(cassette.interactions, ("anthropic-messages",), "cassettes/chat.yaml")
    view.interactions            # what the matcher indexes
    view.answer(i, live_request) # the interaction to play: streamed or whole, as the call asks
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from ..model.cassette import Interaction, Request
from .codecs import TranslationError, codec_for, get_codec
from .translate import translate

__all__ = ["AS_API_MATCH_ON", "AsApiView", "parse_as_api"]

AS_API_MATCH_ON: tuple[str, ...] = ("method", "chat")


def parse_as_api(value: str | Iterable[str] | None) -> tuple[str, ...]:
    """API names from ``as_api`` (one name or several); a ValueError names the unknown ones."""
    if value is None:
        return ()
    names = (value,) if isinstance(value, str) else tuple(value)
    for name in names:
        get_codec(name)
    return names


@dataclass(frozen=True, slots=True)
class _Origin:
    """Where a view entry came from: the file's interaction, and the API it answers in (None:
    not a chat call, played as recorded)."""

    index: int
    interaction: Interaction
    api: str | None
    translated: bool


class AsApiView:
    """Each chat interaction translated into every other API in ``apis`` and, after those, as
    recorded (a fallback chain from Anthropic to the recorded OpenAI needs both paths); other
    interactions as recorded. And the answer for a live call.

    Chat entries match with the ``chat`` matcher (conversation and tools as data, whatever the
    model name or sampling parameters), the recorded API's own entry too, so every path of a
    multi-provider app matches alike. The matcher ignores the stream flag, so a recorded stream
    also answers a call that does not stream (and the reverse): :meth:`answer` re-encodes the
    recording whole (its body arriving at the time of the last event) or as a stream, as the
    live request asks.
    """

    def __init__(self, interactions: Sequence[Interaction], apis: Sequence[str], source: str) -> None:
        self.interactions: list[Interaction] = []
        self._origins: list[_Origin] = []
        self._answers: dict[tuple[int, bool], Interaction] = {}
        self._files = len(interactions)
        self._source = source
        for index, interaction in enumerate(interactions):
            codec = codec_for(interaction.request)
            if codec is None:
                self._add(interaction, _Origin(index, interaction, None, translated=False))
                continue
            for api in apis:
                if api != codec.name:
                    translated = self._translate(index, interaction, api, None)
                    self._add(translated, _Origin(index, interaction, api, translated=True))
            self._add(interaction, _Origin(index, interaction, codec.name, translated=False))

    def _add(self, interaction: Interaction, origin: _Origin) -> None:
        if origin.api is not None:
            interaction = interaction.model_copy(update={"match_on": AS_API_MATCH_ON})
        self.interactions.append(interaction)
        self._origins.append(origin)

    def _translate(self, index: int, interaction: Interaction, api: str, stream: bool | None) -> Interaction:
        try:
            return translate(interaction, to=api, stream=stream)
        except TranslationError as exc:
            raise TranslationError(
                f"{self._source} interaction #{index} ({interaction.request.method} "
                f"{interaction.request.url}) cannot be served as {api}: {exc}"
            ) from None

    def origin(self, index: int) -> tuple[int, str | None]:
        """The file index a view index came from, and the API it was translated to (None when
        it plays as recorded).

        Indices past the view (recorded in this session) continue after the file's.
        """
        if index >= len(self._origins):
            return index - len(self._origins) + self._files, None
        origin = self._origins[index]
        return origin.index, origin.api if origin.translated else None

    def file_counts(self, view_counts: Sequence[int]) -> list[int]:
        """Plays per file interaction: a recording was played when any of its entries was."""
        counts = [0] * self._files
        for index, plays in enumerate(view_counts[: len(self._origins)]):
            counts[self._origins[index].index] += plays
        return counts

    def answer(self, index: int, live: Request) -> Interaction:
        """The interaction at ``index`` of the view, streamed or whole as ``live`` asks."""
        chosen = self.interactions[index]
        origin = self._origins[index]
        if origin.api is None:
            return chosen
        codec = get_codec(origin.api)
        stream = codec.is_stream_request(live)
        if stream == codec.is_stream_request(chosen.request):
            return chosen
        key = (index, stream)
        if key not in self._answers:
            answer = self._translate(origin.index, origin.interaction, origin.api, stream)
            self._answers[key] = answer.model_copy(update={"match_on": AS_API_MATCH_ON})
        return self._answers[key]
