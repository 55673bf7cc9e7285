"""Any wrong value in any field of a valid cassette (native or vcrpy) gives the library's error
naming the file, never a raw exception (issue 21)."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import replay
import replay.io.storage
from replay.model.cassette import Cassette, Chunk, Interaction, Request, Response, StreamEnd

# -- any wrong value in any field --------------------------------------------------------------


def _valid_data(kind: str) -> object:
    from replay.vcr.export import dump_vcr

    cassette = Cassette(
        interactions=[
            Interaction(
                request=Request(
                    method="POST", url="https://x.test/v1", headers=[("a", "b")], body=b'{"m": 1}'
                ),
                response=Response(
                    status=200,
                    t=0.1,
                    headers=[("content-type", "text/event-stream")],
                    chunks=[Chunk(0.2, b"data: {}\n\n"), Chunk(0.3, b"data: [DONE]\n\n")],
                    end=StreamEnd(kind="read_error", message="reset", t=0.4),
                ),
            )
        ]
    )
    text = dump_vcr(cassette) if kind == "vcrpy" else replay.io.storage.dump_cassette(cassette)
    return yaml.safe_load(text)


def _paths(data: object, prefix: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    out: list[tuple[object, ...]] = [prefix] if prefix else []
    if isinstance(data, dict):
        for key, value in data.items():
            out += _paths(value, (*prefix, key))
    elif isinstance(data, list):
        for i, value in enumerate(data):
            out += _paths(value, (*prefix, i))
    return out


WRONG = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    st.binary(max_size=20),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=3),
    # values that once escaped as raw exceptions (OverflowError, ValueError at replay, ...)
    st.sampled_from([10**400, -(10**400), 1e300, "http://[::1", "a\r\nb", "a:b", "", "\u20ac" * 3, "0.2/-2"]),
)


@pytest.mark.parametrize("kind", ["native", "vcrpy"])
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_wrong_value_in_any_field_gives_the_library_error(
    kind: str, data: st.DataObject, tmp_path: Path
) -> None:
    doc = _valid_data(kind)
    path_to = data.draw(st.sampled_from(_paths(doc)))
    value = data.draw(WRONG)
    mutated = copy.deepcopy(doc)
    parent = mutated
    for key in path_to[:-1]:
        parent = parent[key]  # type: ignore[index]
    parent[path_to[-1]] = value  # type: ignore[index]
    path = tmp_path / f"{kind}.yaml"
    path.write_text(yaml.safe_dump(mutated, allow_unicode=True))
    try:
        replay.load_cassette(path)
    except replay.CassetteError as exc:
        assert str(path) in str(exc)


HOSTILE_VALUES: list[object] = [
    None,
    True,
    -1,
    10**400,
    1e300,
    float("nan"),
    float("inf"),
    "",
    "x",
    "http://[::1",
    "a\r\nb",
    "a:b",
    "\u20ac",
    "0.2/-2",
    b"\x00\xff",
    [],
    [1],
    {},
    {"a": 1},
]


@pytest.mark.parametrize("kind", ["native", "vcrpy"])
def test_every_field_with_every_hostile_value_gives_the_library_error(kind: str, tmp_path: Path) -> None:
    doc = _valid_data(kind)
    path = tmp_path / f"{kind}.yaml"
    for where in _paths(doc):
        for value in HOSTILE_VALUES:
            mutated = copy.deepcopy(doc)
            parent = mutated
            for key in where[:-1]:
                parent = parent[key]  # type: ignore[index]
            parent[where[-1]] = value  # type: ignore[index]
            path.write_text(yaml.safe_dump(mutated, allow_unicode=True))
            try:
                replay.load_cassette(path)
            except replay.CassetteError as exc:
                assert str(path) in str(exc), (where, value)
            except Exception as exc:  # the property: nothing else ever escapes
                pytest.fail(f"{where} = {value!r}: {type(exc).__name__}: {exc}")
