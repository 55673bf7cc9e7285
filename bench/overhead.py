"""Target 1: replay overhead through the real SDKs, `instant` timing, chunk by chunk.

The same recorded exchange is served to the same SDK call by:

- llm-replay, cassette open (``use_cassette(..., timing="instant")``), one chunk per read;
- an httpx2/httpx ``MockTransport`` serving the same chunks (the in-process limit), and serving
  the body as one piece;
- vcrpy with the same data as a vcrpy cassette, open (it hands the client the whole body at once);
- respx (a route answering with the same chunks).

respx patches only ``httpx``; for the httpx2 path (openai) it runs in a child process where
``httpx2.alias_httpx()`` makes respx patch httpx2, and that child compares llm-replay, respx and
the MockTransport side by side in the same way (see :func:`respx_child`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import subprocess
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from types import ModuleType
from typing import Any

from .core import ROOT, Context, Row, Target, Variant, compare
from .data import (
    GROQ_URL,
    MESSAGES,
    MODEL,
    OPENAI_URL,
    REAL_GROQ_STREAM,
    REAL_OPENAI_STREAM,
    Exchange,
    chat_exchange,
    real_exchange,
    write_native,
    write_vcr,
)

__all__ = ["ROW_IDS", "respx_child", "run"]

VS_MOCK = Target("ratio", "<=", 1.05, "<= 1.05x")
VS_VCR = Target("ratio", "<=", 0.90, "<= 0.90x")

# (id, SDK, stream, async, source)
SCENARIOS: list[tuple[str, str, bool, bool, str]] = [
    ("openai.stream", "openai", True, False, "synthetic"),
    ("openai.nonstream", "openai", False, False, "synthetic"),
    ("openai.stream.async", "openai", True, True, "synthetic"),
    ("groq.stream", "groq", True, False, "synthetic"),
    ("groq.nonstream", "groq", False, False, "synthetic"),
    ("real.openai.stream", "openai", True, False, "real"),
    ("real.groq.stream", "groq", True, False, "real"),
]
_SDK_LIB = {"openai": "httpx2", "groq": "httpx"}
PARTS = ("find", "canonical_body", "request_parts", "request_model", "make_response", "raw_lookup")


def _row_ids() -> list[str]:
    ids = []
    for sid, _sdk, _stream, is_async, _source in SCENARIOS:
        ids += [f"1.{sid}.vs_mock", f"1.{sid}.vs_vcr", f"1.{sid}.vs_mock_whole"]
        if not is_async:
            ids.append(f"1.{sid}.vs_respx")
    ids += ["1.per_test.vs_vcr", "1.per_test.virtual_vs_instant"]
    ids += [f"1.parts.{part}" for part in PARTS]
    return ids


ROW_IDS = _row_ids()


# -- clients ---------------------------------------------------------------------------------


def _lib(sdk: str) -> ModuleType:
    import importlib

    return importlib.import_module(_SDK_LIB[sdk])


def chunk_stream_class(lib: ModuleType) -> type:
    """A byte stream over a list of chunks, one per read (the library's own base classes)."""

    class ChunkStream(lib.SyncByteStream, lib.AsyncByteStream):  # type: ignore[name-defined,misc]
        def __init__(self, chunks: list[bytes]) -> None:
            self._chunks = chunks

        def __iter__(self) -> Iterator[bytes]:
            return iter(self._chunks)

        async def __aiter__(self) -> AsyncIterator[bytes]:
            for chunk in self._chunks:
                yield chunk

    return ChunkStream


def mock_handler(lib: ModuleType, ex: Exchange, *, whole: bool) -> Callable[[Any], Any]:
    stream_cls = chunk_stream_class(lib)
    chunks = [ex.body] if whole else ex.chunks

    def handler(request: Any) -> Any:
        return lib.Response(ex.status, headers=ex.headers, stream=stream_cls(chunks))

    return handler


def base_url(sdk: str, url: str) -> str:
    """The SDK's ``base_url`` that makes its chat call hit ``url``."""
    suffix = "/chat/completions"
    assert url.endswith(suffix), url
    root = url[: -len(suffix)]
    return root.removesuffix("/openai/v1") if sdk == "groq" else root


def make_client(sdk: str, url: str, *, is_async: bool, http_client: Any = None) -> Any:
    kwargs: dict[str, Any] = {"max_retries": 0, "base_url": base_url(sdk, url)}
    if http_client is not None:
        kwargs["http_client"] = http_client
    if sdk == "openai":
        import openai

        return (openai.AsyncOpenAI if is_async else openai.OpenAI)(api_key="sk-bench", **kwargs)
    import groq

    return (groq.AsyncGroq if is_async else groq.Groq)(api_key="gsk_bench", **kwargs)


def make_call(client: Any, *, stream: bool, is_async: bool, model: str, messages: Any) -> Callable[[], None]:
    """One chat request through the SDK, stream fully consumed."""
    create = client.chat.completions.create
    if not is_async:
        if stream:

            def call() -> None:
                for _ in create(model=model, messages=messages, stream=True):
                    pass

        else:

            def call() -> None:
                create(model=model, messages=messages)

        return call
    return _AsyncCall(create, stream=stream, model=model, messages=messages)


class _AsyncCall:
    """An async request run to completion on a loop of its own (closed by :meth:`close`)."""

    def __init__(self, create: Any, *, stream: bool, model: str, messages: Any) -> None:
        self._create = create
        self._stream = stream
        self._model = model
        self._messages = messages
        self._loop = asyncio.new_event_loop()
        _OPEN_LOOPS.append(self._loop)

    async def _go(self) -> None:
        if self._stream:
            stream = await self._create(model=self._model, messages=self._messages, stream=True)
            async with stream:
                async for _ in stream:
                    pass
        else:
            await self._create(model=self._model, messages=self._messages)

    def __call__(self) -> None:
        self._loop.run_until_complete(self._go())


_OPEN_LOOPS: list[asyncio.AbstractEventLoop] = []


def close_loops() -> None:
    """Finish the async generators of every loop the async variants made, then close them."""
    while _OPEN_LOOPS:
        loop = _OPEN_LOOPS.pop()
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()


def _mock_http_client(lib: ModuleType, handler: Callable[[Any], Any], is_async: bool) -> Any:
    transport = lib.MockTransport(handler)
    return lib.AsyncClient(transport=transport) if is_async else lib.Client(transport=transport)


def _replay_ctx(path: Path) -> Callable[[], AbstractContextManager[Any]]:
    import replay

    return lambda: replay.use_cassette(path, timing="instant", allow_playback_repeats=True)


def _vcr_ctx(path: Path) -> Callable[[], AbstractContextManager[Any]]:
    import vcr

    return lambda: vcr.use_cassette(str(path), record_mode="none", allow_playback_repeats=True)


def _request_args(ex: Exchange) -> tuple[str, Any]:
    body = json.loads(ex.request_body)
    return body.get("model", MODEL), body.get("messages", MESSAGES)


def variants(
    sdk: str, ex: Exchange, native: Path, vcr_path: Path | None, *, stream: bool, is_async: bool
) -> dict[str, Variant]:
    """The contenders for one scenario, each with its own client."""
    lib = _lib(sdk)
    model, messages = _request_args(ex)

    def call_for(http_client: Any = None) -> Callable[[], None]:
        client = make_client(sdk, ex.url, is_async=is_async, http_client=http_client)
        return make_call(client, stream=stream, is_async=is_async, model=model, messages=messages)

    out = {
        "llm-replay": Variant(call_for(), _replay_ctx(native)),
        "MockTransport": Variant(
            call_for(_mock_http_client(lib, mock_handler(lib, ex, whole=False), is_async))
        ),
        "MockTransport(1 chunk)": Variant(
            call_for(_mock_http_client(lib, mock_handler(lib, ex, whole=True), is_async))
        ),
    }
    if vcr_path is not None:
        out["vcrpy"] = Variant(call_for(), _vcr_ctx(vcr_path))
    return out


def respx_variant(sdk: str, ex: Exchange, *, stream: bool) -> Variant:
    import respx

    lib = _lib(sdk)
    model, messages = _request_args(ex)
    handler = mock_handler(lib, ex, whole=False)
    client = make_client(sdk, ex.url, is_async=False)
    call = make_call(client, stream=stream, is_async=False, model=model, messages=messages)

    @contextlib.contextmanager
    def ctx() -> Iterator[None]:
        with respx.mock(assert_all_called=False) as router:
            router.post(ex.url).mock(side_effect=handler)
            yield

    return Variant(call, ctx)


# -- the section -----------------------------------------------------------------------------


def _exchange(sdk: str, stream: bool, source: str) -> Exchange | None:
    if source == "real":
        return real_exchange(REAL_OPENAI_STREAM if sdk == "openai" else REAL_GROQ_STREAM)
    return chat_exchange(stream, url=OPENAI_URL if sdk == "openai" else GROQ_URL)


def run(ctx: Context) -> None:
    rounds = ctx.size(25, 2)
    inner = ctx.size(20, 2)
    respx_children: list[tuple[str, Exchange, bool, Path]] = []
    for sid, sdk, stream, is_async, source in SCENARIOS:
        ex = _exchange(sdk, stream, source)
        label = f"{sdk}{' async' if is_async else ''} {'stream' if stream else 'non-stream'}"
        label += f" ({_SDK_LIB[sdk]}{', real cassette' if source == 'real' else ''}), per request"
        if ex is None:
            for rid in ROW_IDS:
                if rid.startswith(f"1.{sid}."):
                    ctx.add(Row(rid, label, None, skipped="../shared/real-cassettes absent"))
            continue
        native = write_native(ctx.workdir / f"overhead-{sid}.yaml", [ex])
        vcr_path = write_vcr(ctx.workdir / f"overhead-{sid}.vcr.yaml", [ex])
        v = variants(sdk, ex, native, vcr_path, stream=stream, is_async=is_async)
        if not is_async and _SDK_LIB[sdk] == "httpx":
            v["respx"] = respx_variant(sdk, ex, stream=stream)
        elif not is_async:
            respx_children.append((sid, ex, stream, native))
        comp = compare(v, rounds=rounds, inner=inner, settle=True)
        close_loops()
        ctx.add(comp.row(f"1.{sid}.vs_mock", label, "llm-replay", "MockTransport", target=VS_MOCK))
        ctx.add(comp.row(f"1.{sid}.vs_vcr", label, "llm-replay", "vcrpy", target=VS_VCR))
        ctx.add(comp.row(f"1.{sid}.vs_mock_whole", label, "llm-replay", "MockTransport(1 chunk)"))
        if "respx" in v:
            ctx.add(comp.row(f"1.{sid}.vs_respx", label, "llm-replay", "respx"))
    for sid, ex, stream, native in respx_children:
        _respx_rows(ctx, sid, ex, stream, native, rounds, inner, real=sid.startswith("real."))
    _per_test(ctx, rounds, inner)
    _parts(ctx)


def _respx_rows(
    ctx: Context, sid: str, ex: Exchange, stream: bool, native: Path, rounds: int, inner: int, *, real: bool
) -> None:
    spec = {
        "exchange": _exchange_json(ex),
        "stream": stream,
        "native": str(native),
        "rounds": rounds,
        "inner": inner,
    }
    proc = subprocess.run(
        [sys.executable, "-m", "bench.overhead", "--respx-child"],
        input=json.dumps(spec),
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
        timeout=600,
    )
    label = (
        f"openai {'stream' if stream else 'non-stream'} (httpx2 aliased as httpx in a child process"
        f"{', real cassette' if real else ''}), per request"
    )
    if proc.returncode != 0:
        raise RuntimeError(f"respx child failed:\n{proc.stderr[-3000:]}")
    samples = json.loads(proc.stdout.strip().splitlines()[-1])
    from .core import Comparison

    comp = Comparison(samples)
    ctx.add(
        comp.row(
            f"1.{sid}.vs_respx",
            label,
            "llm-replay",
            "respx",
            note=f"same child: llm-replay/MockTransport {comp.ratio('llm-replay', 'MockTransport'):.2f}x",
        )
    )


def _exchange_json(ex: Exchange) -> dict[str, Any]:
    return {
        "url": ex.url,
        "request_body": ex.request_body.decode(),
        "status": ex.status,
        "headers": ex.headers,
        "chunks": [c.decode() for c in ex.chunks],
        "times": ex.times,
    }


def respx_child() -> None:
    """Child process: httpx aliased to httpx2, then llm-replay vs respx vs MockTransport."""
    import httpx2

    from .core import guard_network

    guard_network()
    httpx2.alias_httpx()
    spec = json.loads(sys.stdin.read())
    e = spec["exchange"]
    ex = Exchange(
        e["url"],
        e["request_body"].encode(),
        e["status"],
        [tuple(h) for h in e["headers"]],
        [c.encode() for c in e["chunks"]],
        e["times"],
    )
    stream = bool(spec["stream"])
    v = variants("openai", ex, Path(spec["native"]), None, stream=stream, is_async=False)
    del v["MockTransport(1 chunk)"]
    v["respx"] = respx_variant("openai", ex, stream=stream)
    comp = compare(v, rounds=spec["rounds"], inner=spec["inner"], settle=True)
    print(json.dumps(comp.samples))


def _per_test(ctx: Context, rounds: int, inner: int) -> None:
    """A whole test: open the cassette, one streamed request, close (vcrpy: the same)."""
    import replay

    ex = chat_exchange(True)
    native = write_native(ctx.workdir / "per-test.yaml", [ex])
    vcr_path = write_vcr(ctx.workdir / "per-test.vcr.yaml", [ex])
    model, messages = _request_args(ex)
    client = make_client("openai", ex.url, is_async=False)
    request = make_call(client, stream=True, is_async=False, model=model, messages=messages)
    vcr_open = _vcr_ctx(vcr_path)

    def ours(timing: str) -> Callable[[], None]:
        def test() -> None:
            with replay.use_cassette(native, timing=timing):
                request()

        return test

    def theirs() -> None:
        with vcr_open():
            request()

    comp = compare(
        {"instant": ours("instant"), "virtual": ours("virtual"), "vcrpy": theirs},
        rounds=rounds,
        inner=inner,
    )
    label = "per test: open cassette + 1 openai stream + close"
    ctx.add(comp.row("1.per_test.vs_vcr", label + " (instant)", "instant", "vcrpy", target=VS_VCR))
    ctx.add(
        comp.row(
            "1.per_test.virtual_vs_instant",
            label + " (virtual)",
            "virtual",
            "instant",
            baseline_label="llm-replay instant",
            note="the difference is the virtual clock's start/stop",
        )
    )


if __name__ == "__main__":
    if sys.argv[1:] == ["--respx-child"]:
        respx_child()
    else:
        raise SystemExit("usage: python -m bench --only overhead")


def _parts(ctx: Context) -> None:
    """What llm-replay's own steps cost per request (the profile's top entries), in isolation,
    and a prototype of the cheapest match: an exact (method, URL, body bytes) dictionary lookup
    tried before JSON canonicalisation (SDKs send byte-identical bodies for identical calls)."""
    import httpx2

    from replay.engine.matching import Matcher, _canonical_body, request_parts
    from replay.transport.adapters import available_libs

    ex = chat_exchange(False)
    lib = next(lib for lib in available_libs() if lib.name == "httpx2")
    request = httpx2.Request(
        "POST", ex.url, content=ex.request_body, headers={"content-type": "application/json"}
    )
    request.read()
    model = lib.request_model(request, ex.request_body)
    matcher = Matcher([ex.interaction()], allow_playback_repeats=True)
    exact = {("POST", ex.url, ex.request_body): 0}
    n = ctx.size(20_000, 200)

    def loop(fn: Callable[[], object]) -> Callable[[], None]:
        def go() -> None:
            for _ in range(n):
                fn()

        return go

    steps: dict[str, Callable[[], object]] = {
        "find": lambda: matcher.find(model),
        "canonical_body": lambda: _canonical_body(ex.request_body),
        "request_parts": lambda: request_parts(model),
        "request_model": lambda: lib.request_model(request, ex.request_body),
        "make_response": lambda: lib.make_response(200, list(ex.headers), None),
        "raw_lookup": lambda: exact.get((model.method, model.url, model.body)),
    }
    comp = compare({k: loop(v) for k, v in steps.items()}, rounds=ctx.size(7, 1))
    labels = {
        "find": "Matcher.find (URL split, query parse, JSON canonical body, index lookup)",
        "canonical_body": "  of which: JSON canonical body (json.loads + sorted json.dumps)",
        "request_parts": "  of which: request_parts (urlsplit, parse_qsl)",
        "request_model": "HttpLib.request_model (headers decoded into a list, model_construct)",
        "make_response": "HttpLib.make_response (the client library's Response)",
        "raw_lookup": "prototype: exact (method, URL, body bytes) lookup before canonicalising",
    }
    for part in PARTS:
        ctx.add(Row(f"1.parts.{part}", f"per request: {labels[part]}", comp.median(part) / n))
