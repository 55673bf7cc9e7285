"""The plugin's support API resolves every name it lists, lazily, to the one implementation."""

from __future__ import annotations

import pytest

from replay import pytest_support
from replay.hygiene import listeners, usage


def test_every_listed_name_resolves() -> None:
    for name in pytest_support.__all__:
        assert getattr(pytest_support, name) is not None, name
    assert pytest_support.add_listener is listeners.add_listener
    assert pytest_support.UsageLog is usage.UsageLog


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no_such_name"):
        pytest_support.no_such_name  # noqa: B018
