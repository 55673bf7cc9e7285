"""Griffe extension: the library's docstrings use reST roles; the API pages are Markdown.

``:class:`~replay.usage.UnusedInteractionsError``` becomes ```UnusedInteractionsError```
(the full path without ``~``), and a paragraph ending in ``::`` (reST's literal-block marker
before an indented example) ends in ``:``, so Markdown shows the example as code.
"""

from __future__ import annotations

import re
from typing import Any

import griffe

__all__ = ["ReSTRoles"]

_ROLE = re.compile(r":(?:class|func|meth|mod|data|attr|exc|obj):`(~?)([^`]+)`")


def _role(match: re.Match[str]) -> str:
    target = match.group(2)
    return f"`{target.rsplit('.', 1)[-1] if match.group(1) else target}`"


class ReSTRoles(griffe.Extension):
    def on_object(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.docstring is not None:
            text = _ROLE.sub(_role, obj.docstring.value)
            obj.docstring.value = re.sub(r"::\n", ":\n", text)
