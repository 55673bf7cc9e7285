"""The scrubber: what is redacted before a cassette is written, and the check that refuses a
write that still holds a secret."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from ..errors import ReplayError
from ..model.cassette import Cassette, Interaction, Request, Response

if TYPE_CHECKING:
    from pathlib import Path

from ..model.headers import header_value, media_type
from .bodies import looks_like_form, multipart_fields
from .edits import (
    _AUTO,
    _MISSING,
    _REMOVE,
    Finding,
    SecretsFoundError,
    _body_edits,
    _chunk_at,
    _edit_chunks,
    _field_rules,
    _merge_edits,
    _normalize_rules,
    _scrub_headers,
    _scrub_pairs,
    _scrub_url,
    _set_header,
)
from .patterns import PLACEHOLDER, SECRET_BODY_FIELDS, SECRET_QUERY_PARAMS, _apply, _Edit, find_key_patterns

__all__ = ["Scrubber", "T", "redact_secrets"]

# -- the scrubber -----------------------------------------------------------------------------

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Scrubber:
    """Default scrubbing plus the user's rules and hooks; see the module docstring.

    ``filter_headers`` / ``filter_query``: names (placeholder value) or ``(name, replacement)``
    pairs, where a ``None`` replacement removes the header or parameter. ``filter_body_fields``:
    JSON field names (any depth; string values) or ``(name, replacement)``, applied to request
    and response bodies, and to form-encoded request bodies. Hooks run last and must return the
    (modified) request or response. ``allow_secrets`` turns off the check before writing.

    Example usage::

        scrubber = Scrubber.build(filter_headers=["x-internal-token"])
        clean = scrubber.scrub_interaction(interaction)
        scrubber.check(cassette, path)   # raises SecretsFoundError naming the field
    """

    filter_headers: tuple[tuple[str, Any], ...] = ()
    filter_query: tuple[tuple[str, Any], ...] = ()
    filter_body_fields: tuple[tuple[str, Any], ...] = ()
    before_record_request: Callable[[Request], Request] | None = None
    before_record_response: Callable[[Response], Response] | None = None
    allow_secrets: bool = False
    redact_response_bodies: bool = False
    _header_rules: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)
    _query_rules: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)
    _form_rules: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)
    _fields: re.Pattern[str] | None = field(default=None, compare=False, repr=False)
    _user_fields: re.Pattern[str] | None = field(default=None, compare=False, repr=False)
    _field_values: dict[str, str] = field(default_factory=dict, compare=False, repr=False)
    _user_field_values: dict[str, str] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        header_rules = {name.lower(): rule for name, rule in self.filter_headers}
        query_rules: dict[str, Any] = dict.fromkeys(SECRET_QUERY_PARAMS, _AUTO)
        query_rules.update({name.lower(): rule for name, rule in self.filter_query})
        field_values = dict.fromkeys(SECRET_BODY_FIELDS, PLACEHOLDER)
        user_values = {
            name: PLACEHOLDER if rule is _AUTO else str(rule) for name, rule in self.filter_body_fields
        }
        field_values.update(user_values)
        form_rules = dict(query_rules)
        form_rules.update({name.lower(): _AUTO for name in SECRET_BODY_FIELDS})
        form_rules.update({name.lower(): user_values[name] for name in user_values})
        fields, wire_values = _field_rules(field_values)
        user_fields, user_wire_values = _field_rules(user_values)
        # frozen dataclass: derived lookup tables are computed once, here
        object.__setattr__(self, "_header_rules", header_rules)
        object.__setattr__(self, "_query_rules", query_rules)
        object.__setattr__(self, "_form_rules", form_rules)
        object.__setattr__(self, "_fields", fields)
        object.__setattr__(self, "_field_values", wire_values)
        object.__setattr__(self, "_user_fields", user_fields)
        object.__setattr__(self, "_user_field_values", user_wire_values)

    @classmethod
    def build(
        cls,
        *,
        filter_headers: Any = None,
        filter_query: Any = None,
        filter_body_fields: Any = None,
        before_record_request: Any = None,
        before_record_response: Any = None,
        allow_secrets: Any = False,
        redact_response_bodies: bool = False,
    ) -> Scrubber:
        """Validate user-facing options (raises ValueError saying what is wrong and how to write it)."""
        for name, hook in (
            ("before_record_request", before_record_request),
            ("before_record_response", before_record_response),
        ):
            if hook is not None and not callable(hook):
                raise ValueError(f"{name} must be a function, got {type(hook).__name__}")
        if not isinstance(allow_secrets, bool):
            raise ValueError(f"allow_secrets must be True or False, got {allow_secrets!r}")
        return cls(
            filter_headers=_normalize_rules(filter_headers, "filter_headers", allow_remove=True),
            filter_query=_normalize_rules(filter_query, "filter_query", allow_remove=True),
            filter_body_fields=_normalize_rules(filter_body_fields, "filter_body_fields", allow_remove=False),
            before_record_request=before_record_request,
            before_record_response=before_record_response,
            allow_secrets=allow_secrets,
            redact_response_bodies=redact_response_bodies,
        )

    # -- requests ---------------------------------------------------------------------------

    def _request_rules(
        self, request: Request, *, headers_too: bool = True
    ) -> tuple[Request, list[tuple[str, str]]]:
        """The request with default and declared rules applied, and why each field changed."""
        reasons: list[tuple[str, str]] = []
        url, why = _scrub_url(request.url, self._query_rules)
        reasons.extend(("url", w) for w in why)
        headers = request.headers
        if headers_too:
            headers, hwhy = _scrub_headers(request.headers, self._header_rules)
            reasons.extend((f"headers.{name.lower()}", w) for name, w in hwhy)
        body = request.body
        ctype = media_type(header_value(request.headers, "content-type"))
        # Told by the bytes too, so a recording whose content type was lost or differs is
        # scrubbed like the live request it must match.
        if body and (ctype == "application/x-www-form-urlencoded" or looks_like_form(body)):
            form, fwhy = _scrub_pairs(body.decode("latin-1"), self._form_rules)
            reasons.extend(("body", f"form {w}") for w in fwhy)
            body = form.encode("latin-1")
        edits = _merge_edits(
            _body_edits(body, fields=self._fields, field_values=self._field_values, keys=True)
            + self._multipart_edits(body)
        )
        if edits:
            reasons.extend(("body", e.reason) for e in edits)
            body = _apply(body.decode("latin-1"), edits).encode("latin-1")
        if body != request.body and header_value(headers, "content-length") is not None:
            headers = _set_header(headers, "content-length", str(len(body)))
        if url == request.url and headers == request.headers and body == request.body:
            return request, []
        return request.model_copy(update={"url": url, "headers": headers, "body": body}), reasons

    def _multipart_edits(self, body: bytes) -> list[_Edit]:
        """Secret-named fields of a multipart body (``name="apikey"``), value replaced."""
        edits: list[_Edit] = []
        for name, start, end in multipart_fields(body):
            rule = self._form_rules.get(name.lower(), _MISSING)
            if rule is _MISSING or rule is _REMOVE:
                continue
            replacement = PLACEHOLDER if rule is _AUTO else str(rule)
            if body[start:end] != replacement.encode("latin-1", "replace"):
                edits.append(_Edit(start, end, replacement, f"multipart field {name!r}"))
        return edits

    def scrub_request(self, request: Request, *, headers_too: bool = True) -> Request:
        """The request as it is written (and compared): rules, then ``before_record_request``."""
        clean, _ = self._request_rules(request, headers_too=headers_too)
        return _through_hook(self.before_record_request, clean, Request, "before_record_request")

    # -- responses --------------------------------------------------------------------------

    def _response_rules(self, response: Response) -> tuple[Response, list[tuple[str, str]]]:
        reasons: list[tuple[str, str]] = []
        headers, hwhy = _scrub_headers(response.headers, self._header_rules)
        reasons.extend((f"headers.{name.lower()}", w) for name, w in hwhy)
        chunks = response.chunks
        edits: list[_Edit] = []
        if self._user_fields is not None or self.redact_response_bodies:
            edits = _body_edits(
                response.body,
                fields=self._user_fields,
                field_values=self._user_field_values,
                keys=self.redact_response_bodies,
            )
        if edits:
            chunks = _edit_chunks(response.chunks, edits)
            body_len = sum(len(c.data) for c in chunks)
            if header_value(headers, "content-length") is not None:
                headers = _set_header(headers, "content-length", str(body_len))
            reasons.extend(("body", e.reason) for e in edits)
        if headers == response.headers and chunks is response.chunks:
            return response, []
        return response.model_copy(update={"headers": headers, "chunks": chunks}), reasons

    def scrub_response(self, response: Response) -> Response:
        """The response as it is written: rules, then ``before_record_response``."""
        clean, _ = self._response_rules(response)
        return _through_hook(self.before_record_response, clean, Response, "before_record_response")

    def scrub_interaction(self, interaction: Interaction) -> Interaction:
        """Both sides of an interaction, scrubbed."""
        request = self.scrub_request(interaction.request)
        response = self.scrub_response(interaction.response)
        if request is interaction.request and response is interaction.response:
            return interaction
        return interaction.model_copy(update={"request": request, "response": response})

    def prepare(self, request: Request) -> Request:
        """What matching compares: the same scrubbing as recording, so keys never decide a match.

        Matching never compares headers, so theirs is skipped (the costliest part of a scrub);
        the user's hook still runs, as it does before a recording is written.
        """
        return self.scrub_request(request, headers_too=False)

    # -- the last check ---------------------------------------------------------------------

    def findings(self, interactions: Sequence[Interaction]) -> list[Finding]:
        """Every place a secret-looking value is still visible (hooks are not run here)."""
        found: list[Finding] = []
        for i, interaction in enumerate(interactions):
            where = f"interactions[{i}]"
            _, reasons = self._request_rules(interaction.request)
            found.extend(Finding(f"{where}.request.{field_}", what) for field_, what in reasons)
            response = interaction.response
            _, reasons = self._response_rules(response)
            found.extend(
                Finding(f"{where}.response.{field_}", what) for field_, what in reasons if field_ != "body"
            )
            body = response.body
            edits = _body_edits(
                body, fields=self._user_fields, field_values=self._user_field_values, keys=True
            )
            for e in _merge_edits(edits):
                part = (
                    f"chunks[{_chunk_at(response.chunks, e.start)}]" if len(response.chunks) > 1 else "body"
                )
                found.append(Finding(f"{where}.response.{part}", _describe(e)))
            if response.end is not None and response.end.message:
                for _, _, label in find_key_patterns(response.end.message):
                    found.append(Finding(f"{where}.response.end.message", label))
        return found

    def check(self, cassette: Cassette | Sequence[Interaction], path: Path | str) -> None:
        """Raise :class:`SecretsFoundError` if anything secret-looking would be written."""
        if self.allow_secrets:
            return
        interactions = cassette.interactions if isinstance(cassette, Cassette) else cassette
        found = self.findings(interactions)
        if not found:
            return
        shown = "\n".join(f"  {f}" for f in found[:8])
        more = f"\n  ... and {len(found) - 8} more" if len(found) > 8 else ""
        raise SecretsFoundError(
            f"Refusing to write {path}: it would still contain what looks like a secret:\n{shown}{more}\n"
            "Nothing was written; the previous file, if any, is intact. To fix: redact it with a hook "
            "(before_record_response=replay.scrub.redact_secrets for response bodies) or with "
            "filter_headers / filter_query / filter_body_fields; for a cassette recorded before "
            "scrubbing, run `llm-replay scrub PATH`. If the value is not a secret, pass "
            "allow_secrets=True (pytest: @pytest.mark.replay(allow_secrets=True)).",
            found,
        )


def _describe(edit: _Edit) -> str:
    # Never echo any part of the value itself: error messages end up in CI logs.
    return f"{edit.reason} ({edit.end - edit.start} characters at body offset {edit.start})"


def redact_secrets(obj: T) -> T:
    """Replace key-shaped values (``sk-...``, ``gsk_...``, JWTs...) in a request or response.

    Usable directly as a hook: ``before_record_response=replay.scrub.redact_secrets`` keeps
    response bodies from carrying keys (a key-management API, a server echoing the request).
    Chunk times are kept; ``content-length`` is updated.

    Example usage::

        with replay.use_cassette(path, record_mode="once", before_record_response=redact_secrets):
            ...
    """
    if isinstance(obj, Response):
        clean, _ = _RESPONSE_REDACTOR._response_rules(obj)
        return clean  # type: ignore[return-value]
    if isinstance(obj, Request):
        clean_req, _ = _RESPONSE_REDACTOR._request_rules(obj)
        return clean_req  # type: ignore[return-value]
    raise TypeError(f"redact_secrets takes a replay.Request or replay.Response, got {type(obj).__name__}")


_RESPONSE_REDACTOR = Scrubber(redact_response_bodies=True)


def _through_hook(hook: Callable[[T], T] | None, clean: T, kind: type[T], name: str) -> T:
    """``clean`` passed through the user's hook ``name`` (if any), which must give a ``kind`` back."""
    if hook is None:
        return clean
    result = hook(clean)
    if not isinstance(result, kind):
        raise ReplayError(
            f"{name} returned {type(result).__name__}; it must return the "
            f"(modified) replay.{kind.__name__} it was given"
        )
    return result
