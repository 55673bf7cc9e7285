"""``ClientResponse.content`` for replayed and recorded aiohttp responses.

:class:`ReplayContent` has the reading interface of ``aiohttp.StreamReader`` over recorded chunks,
one chunk per ``readany()``; :class:`RecordingContent` passes a live ``StreamReader`` through,
noting each piece the application reads as it arrives.

Example::

    content = ReplayContent(player.iter_async())
    async for chunk in content.iter_any():  # the recorded chunks, boundaries unchanged
        ...
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

__all__ = ["RecordingContent", "ReplayContent"]


class ReplayContent:
    """A recorded body with ``aiohttp.StreamReader``'s reading methods."""

    def __init__(self, chunks: AsyncIterator[bytes]) -> None:
        self._chunks = chunks
        self._buffer = b""
        self._eof = False
        self._exception: BaseException | None = None
        self.total_bytes = 0

    async def _next(self) -> bytes:
        if self._buffer:
            data, self._buffer = self._buffer, b""
            return data
        while not self._eof:
            try:
                data = await self._chunks.__anext__()
            except StopAsyncIteration:
                self._eof = True
                break
            if data:
                self.total_bytes += len(data)
                return data
        return b""

    def exception(self) -> BaseException | None:
        return self._exception

    def set_exception(self, exc: BaseException, exc_cause: BaseException | None = None) -> None:
        self._exception = exc

    def at_eof(self) -> bool:
        return self._eof and not self._buffer

    def is_eof(self) -> bool:
        return self._eof

    async def readany(self) -> bytes:
        return await self._next()

    async def read(self, n: int = -1) -> bytes:
        if n < 0:
            parts = []
            while data := await self._next():
                parts.append(data)
            return b"".join(parts)
        data = await self._next()
        self._buffer = data[n:]
        return data[:n]

    async def readchunk(self) -> tuple[bytes, bool]:
        data = await self._next()
        return data, bool(data)

    async def readuntil(self, separator: bytes = b"\n") -> bytes:
        line = b""
        while True:
            data = await self._next()
            if not data:
                return line
            cut = (line + data).find(separator)
            if cut >= 0:
                whole = line + data
                end = cut + len(separator)
                self._buffer = whole[end:]
                return whole[:end]
            line += data

    async def readline(self) -> bytes:
        return await self.readuntil(b"\n")

    async def readexactly(self, n: int) -> bytes:
        data = b""
        while len(data) < n:
            more = await self._next()
            if not more:
                raise asyncio.IncompleteReadError(data, n)
            data += more
        self._buffer = data[n:]
        return data[:n]

    def read_nowait(self, n: int = -1) -> bytes:
        data, self._buffer = (self._buffer, b"") if n < 0 else (self._buffer[:n], self._buffer[n:])
        return data

    async def iter_any(self) -> AsyncIterator[bytes]:
        while data := await self._next():
            yield data

    async def iter_chunked(self, n: int) -> AsyncIterator[bytes]:
        while data := await self.read(n):
            yield data

    async def iter_chunks(self) -> AsyncIterator[tuple[bytes, bool]]:
        while data := await self._next():
            yield data, True

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self._lines()

    async def _lines(self) -> AsyncIterator[bytes]:
        while line := await self.readline():
            yield line


class RecordingContent(ReplayContent):
    """A live ``StreamReader`` passed through; each read is noted with its arrival time."""

    def __init__(
        self,
        inner: Any,
        note: Callable[[bytes], None],
        finish: Callable[[], None],
        fail: Callable[[BaseException], None],
        closed: Callable[[], None],
    ) -> None:
        super().__init__(self._pull())
        self._inner = inner
        self._note, self._finish, self._fail, self._closed = note, finish, fail, closed

    async def _pull(self) -> AsyncIterator[bytes]:
        try:
            while data := await self._inner.readany():
                self._note(data)
                yield data
        except Exception as exc:
            self._fail(exc)
            raise
        self._finish()

    def exception(self) -> BaseException | None:
        exc: BaseException | None = self._inner.exception()
        return exc

    def set_exception(self, exc: BaseException, exc_cause: BaseException | None = None) -> None:
        self._inner.set_exception(exc)
        self._closed()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)
