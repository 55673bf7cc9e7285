"""The provider-neutral chat exchange (:mod:`.model`) and the wire helpers codecs share (:mod:`.wire`).

The package's names are the model's: codecs write ``neutral.TextDelta``, and the list of names
lives once, in ``model.__all__``.

Example usage::

    from replay.chat.neutral import ChatResponse, TextDelta, Timed

    response = ChatResponse(events=(Timed(0.3, TextDelta("Hello")),))
"""

from __future__ import annotations

from . import model
from .model import *  # noqa: F403 - re-exported as they are, listed in model.__all__

__all__ = model.__all__
