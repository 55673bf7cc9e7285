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


class AsApiView:
    """Each chat interaction once per API in ``apis``, and the answer for a live call.

    The ``chat`` matcher ignores the stream flag, so a recorded stream also answers a call that
    does not stream (and the reverse): :meth:`answer` re-encodes the recording whole (its body
    arriving at the time of the last event) or as a stream, as the live request asks.
    """

    def __init__(self, interactions: Sequence[Interaction], apis: Sequence[str], source: str) -> None:
        self.interactions: list[Interaction] = []
        self._origin: list[tuple[int, Interaction, str] | None] = []
        self._answers: dict[tuple[int, bool], Interaction] = {}
        self._file_index: list[int] = []
        self._files = len(interactions)
        for index, interaction in enumerate(interactions):
            if codec_for(interaction.request) is None:
                self.interactions.append(interaction)
                self._origin.append(None)
                self._file_index.append(index)
                continue
            for api in apis:
                translated = self._translate(index, interaction, api, None, source)
                self.interactions.append(translated.model_copy(update={"match_on": AS_API_MATCH_ON}))
                self._origin.append((index, interaction, api))
                self._file_index.append(index)
        self._source = source

    @staticmethod
    def _translate(
        index: int, interaction: Interaction, api: str, stream: bool | None, source: str
    ) -> Interaction:
        try:
            return translate(interaction, to=api, stream=stream)
        except TranslationError as exc:
            raise TranslationError(
                f"{source} interaction #{index} ({interaction.request.method} {interaction.request.url}) "
                f"cannot be served as {api}: {exc}"
            ) from None

    def origin(self, index: int) -> tuple[int, str | None]:
        """The file index a view index came from, and the API it was translated to.

        Indices past the view (recorded in this session) continue after the file's.
        """
        if index >= len(self._origin):
            return index - len(self._origin) + self._files, None
        origin = self._origin[index]
        return (origin[0], origin[2]) if origin is not None else (self._file_index[index], None)

    def file_counts(self, view_counts: Sequence[int]) -> list[int]:
        """Plays per file interaction: a recording was played when any of its translations was."""
        counts = [0] * self._files
        for index, plays in enumerate(view_counts[: len(self._origin)]):
            counts[self.origin(index)[0]] += plays
        return counts

    def answer(self, index: int, live: Request) -> Interaction:
        """The interaction at ``index`` of the view, streamed or whole as ``live`` asks."""
        chosen = self.interactions[index]
        origin = self._origin[index]
        if origin is None:
            return chosen
        codec = get_codec(origin[2])
        stream = codec.is_stream_request(live)
        if stream == codec.is_stream_request(chosen.request):
            return chosen
        key = (index, stream)
        if key not in self._answers:
            recorded, interaction, api = origin
            answer = self._translate(recorded, interaction, api, stream, self._source)
            self._answers[key] = answer.model_copy(update={"match_on": AS_API_MATCH_ON})
        return self._answers[key]
