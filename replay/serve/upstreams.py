"""The upstreams record mode may forward to: only those named on the command line."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

__all__ = ["UPSTREAM_HEADER", "UpstreamRefused", "Upstreams", "normalize_upstream"]

UPSTREAM_HEADER = "x-replay-upstream"


class UpstreamRefused(ValueError):
    """A request names no upstream, or one not given on the command line."""


def normalize_upstream(url: str) -> str:
    """``https://API.openai.com/`` -> ``https://api.openai.com`` (refusing what is not a base URL)."""
    parsed = urlsplit(url.strip())
    if parsed.scheme.lower() not in ("http", "https") or not parsed.hostname:
        raise UpstreamRefused(f"--upstream {url!r} is not an http(s) base URL like https://api.openai.com")
    if parsed.query or parsed.fragment or parsed.username or parsed.password:
        raise UpstreamRefused(f"--upstream {url!r} has a query, fragment or credentials; give a base URL")
    host = parsed.hostname.lower()
    shown = f"[{host}]" if ":" in host else host
    port = f":{parsed.port}" if parsed.port is not None else ""
    return f"{parsed.scheme.lower()}://{shown}{port}{parsed.path.rstrip('/')}"


@dataclass(frozen=True, slots=True)
class Upstreams:
    """The upstreams named on the command line: the only hosts record mode forwards to."""

    urls: tuple[str, ...]

    @classmethod
    def of(cls, urls: Sequence[str]) -> Upstreams:
        return cls(tuple(dict.fromkeys(normalize_upstream(u) for u in urls)))

    def check(self, url: str) -> str:
        """``url`` if it is one of the named upstreams, else :class:`UpstreamRefused`."""
        try:
            wanted = normalize_upstream(url)
        except UpstreamRefused:
            wanted = url
        if wanted not in self.urls:
            named = ", ".join(self.urls) or "none"
            raise UpstreamRefused(
                f"{url!r} is not an upstream of this server (named with --upstream: {named}); "
                "the server forwards only to those, it is not an open proxy."
            )
        return wanted

    def choose(self, header: str | None, session_choice: str | None) -> str:
        if header is not None:
            return self.check(header)
        if session_choice is not None:
            return self.check(session_choice)
        if len(self.urls) == 1:
            return self.urls[0]
        if not self.urls:
            raise UpstreamRefused(
                "This request must be recorded, but the server has no upstream: start it with "
                "--upstream URL (e.g. --upstream https://api.openai.com)."
            )
        raise UpstreamRefused(
            f"Several upstreams ({', '.join(self.urls)}): name one in the {UPSTREAM_HEADER} header "
            "or in the session's 'upstream'."
        )
