"""Content-Type parsing has one home (replay.model.headers.media_type)."""

from __future__ import annotations

from replay.model.headers import media_type


def test_media_type_drops_parameters_and_case() -> None:
    assert media_type("Text/Event-Stream; charset=utf-8") == "text/event-stream"
    assert media_type(" application/json ") == "application/json"
    assert media_type(None) == ""
