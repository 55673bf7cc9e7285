"""The base of the provider schemas: open models, because providers add fields all the time.

Example usage::

    class Usage(OpenModel):
        input_tokens: int | None = None
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

__all__ = ["OpenModel"]


class OpenModel(BaseModel):
    """A schema that keeps the fields it does not name: a replay tool must keep them, not judge them."""

    model_config = ConfigDict(extra="allow")

    def dump(self) -> dict[str, Any]:
        """The JSON-ready mapping, extra fields included, unset optional fields left out."""
        return self.model_dump(mode="json", exclude_unset=True)
