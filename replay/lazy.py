"""Names a package offers but loads at first use (PEP 562 module ``__getattr__``).

A session pays for a module only when one of its names is read: ``import replay`` stays cheap
while ``replay.translate`` and the rest remain one attribute away.

Example usage::

    _HOMES = {"translate": "chat.translate", "tools": ""}  # "" names a submodule itself
    __getattr__ = lazy_attributes(__name__, _HOMES, globals())
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["lazy_attributes"]


def lazy_attributes(
    package: str, homes: Mapping[str, str], namespace: dict[str, Any], *, base: str | None = None
) -> Callable[[str], Any]:
    """A module ``__getattr__`` that imports ``{base}.{homes[name]}`` and returns its ``name``.

    ``base`` defaults to ``package``; a home of ``""`` means the submodule ``{base}.{name}``
    itself. The value is stored in ``namespace`` so later reads are plain attribute reads.
    """
    root = base or package

    def __getattr__(name: str) -> Any:
        home = homes.get(name)
        if home is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        if home:
            value = getattr(importlib.import_module(f"{root}.{home}"), name)
        else:
            value = importlib.import_module(f"{root}.{name}")
        namespace[name] = value
        return value

    return __getattr__
