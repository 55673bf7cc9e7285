"""A recorded request: method, absolute URL, HTTP headers (in order, repeats allowed), body bytes.

Validated as it loads: a URL no client could have sent, header names that are not HTTP tokens,
values with CR/LF, or a body nested past :data:`replay.limits.MAX_JSON_DEPTH` are refused here,
so replay and the CLI never meet them.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
    model_serializer,
    model_validator,
)

from .bodies import check_nesting, decode_body, encode_body
from .headers import Headers, check_headers, header_value, headers_from_disk, headers_to_disk

__all__ = ["DiskModel", "HTTPHeaders", "Request", "check_url"]

# The headers of a recorded request or response: names that are HTTP tokens, values without CR/LF.
HTTPHeaders = Annotated[Headers, AfterValidator(check_headers)]


def check_url(url: str) -> str:
    """``url`` if it is an absolute http(s) URL that parses (host, port)."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError as exc:
        raise ValueError(f"url {url[:80]!r} does not parse: {exc}") from None
    if parts.scheme.lower() not in {"http", "https", "ws", "wss"} or not parts.hostname:
        raise ValueError(f"url {url[:80]!r} is not an absolute http(s) URL with a host")
    if any(c in url for c in "\r\n\x00 \t"):
        raise ValueError(f"url {url[:80]!r} holds whitespace or control characters")
    return url


class DiskModel(BaseModel):
    """A request or response as a cassette stores it: a mapping's values are converted from
    their disk forms (headers as a mapping or pairs, ...) before the fields are validated, so a
    value that cannot be converted is reported against the model, not one of its fields."""

    @model_validator(mode="before")
    @classmethod
    def _from_disk(cls, value: Any) -> Any:
        if not isinstance(value, dict):
            return value
        value = dict(value)
        if "headers" in value:
            value["headers"] = headers_from_disk(value["headers"])
        cls._fields_from_disk(value)
        return value

    @classmethod
    def _fields_from_disk(cls, value: dict[str, Any]) -> None:
        """Convert the model's other fields from their disk forms, in place."""


class Request(DiskModel):
    """A recorded request: method, URL, headers (in order, repeats allowed) and body bytes."""

    model_config = ConfigDict(extra="forbid")

    method: str
    url: str
    headers: HTTPHeaders = Field(default_factory=list)
    body: bytes = b""

    @classmethod
    def _fields_from_disk(cls, value: dict[str, Any]) -> None:
        body = value.get("body")
        if body is None:
            value.pop("body", None)
        elif isinstance(body, dict):
            value["body"] = decode_body(body)
        if isinstance(value.get("method"), str):
            value["method"] = value["method"].upper()

    @model_serializer(mode="plain")
    def _to_disk(self) -> dict[str, Any]:
        out: dict[str, Any] = {"method": self.method, "url": self.url}
        if self.headers:
            out["headers"] = headers_to_disk(self.headers)
        if self.body:
            out["body"] = encode_body(self.body)
        return out

    @field_validator("url")
    @classmethod
    def _absolute_url(cls, value: str) -> str:
        return check_url(value)

    @field_validator("body")
    @classmethod
    def _shallow_body(cls, value: bytes) -> bytes:
        check_nesting(value, "the request body")
        return value

    def header(self, name: str) -> str | None:
        """First value of a header, case-insensitively."""
        return header_value(self.headers, name)

    @property
    def host(self) -> str:
        return urlsplit(self.url).hostname or ""

    @property
    def path(self) -> str:
        return urlsplit(self.url).path
