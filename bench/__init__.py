"""llm-replay's benchmark suite: ``python -m bench`` (``--quick`` for tiny sizes).

Each section compares llm-replay with a baseline measured side by side in the same process and
adds rows (figure, llm-replay, baseline, ratio, target, pass/fail) to one table. See
``bench/README.md``.
"""

from __future__ import annotations

__all__: list[str] = []
