"""How the commands report a file they cannot use: one line, and exit status 2."""

from __future__ import annotations

__all__ = ["BAD_INPUT", "one_line"]

BAD_INPUT = 2
"""Exit status of a command given a file it cannot read (1 stays "differences"/"secrets found")."""


def one_line(error: BaseException | str) -> str:
    """``error``'s message on one line: a loader error lists its fields on separate lines, and a
    terminal or a CI log should show the whole of it as one (grep finds it, the file name stays
    beside the cause)."""
    return " ".join(part.strip() for part in str(error).splitlines() if part.strip())
