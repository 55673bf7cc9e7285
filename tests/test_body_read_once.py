"""A replayed body is read once, as from a socket: a second iteration of the response's stream
(openai 3.60+ drains a stream it stopped reading at ``[DONE]`` through ``response.stream``)
continues where the reader stopped instead of playing the body again."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx2
from cassette_factory import LOCAL_URL, chat_body, chat_stream, write_cassette

import replay


def _cassette(tmp_path: Path) -> tuple[Path, list[bytes]]:
    path = tmp_path / "c.yaml"
    interaction = chat_stream("m", ("a", "b", "c", "d"))
    write_cassette(path, interaction)
    return path, [c.data for c in interaction.response.chunks]


def test_a_second_iteration_continues_where_the_first_stopped(tmp_path: Path) -> None:
    path, chunks = _cassette(tmp_path)
    with (
        replay.use_cassette(path),
        httpx2.Client() as client,
        client.stream("POST", LOCAL_URL, json=chat_body("m")) as response,
    ):
        first = []
        for data in response.stream:
            first.append(data)
            if len(first) == 2:
                break
        rest = list(response.stream)
        again = list(response.stream)
    assert first == chunks[:2] and rest == chunks[2:] and again == []


def test_async_too(tmp_path: Path) -> None:
    path, chunks = _cassette(tmp_path)

    async def read() -> tuple[list[bytes], list[bytes]]:
        async with (
            httpx2.AsyncClient() as client,
            client.stream("POST", LOCAL_URL, json=chat_body("m")) as response,
        ):
            first = []
            async for data in response.stream:
                first.append(data)
                if len(first) == 3:
                    break
            return first, [data async for data in response.stream]

    with replay.use_cassette(path):
        first, rest = asyncio.run(read())
    assert first == chunks[:3] and rest == chunks[3:]
