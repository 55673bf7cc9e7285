"""Hostile and unusual input (issue 21): each case is refused with the library's error naming
the file, in bounded time and memory, and nothing recorded is lost."""

from __future__ import annotations

import gzip
import os
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx2
import pytest
import yaml

import replay
from replay.cli import main
from replay.io.atomic import temp_writer_pid
from replay.io.storage import save_cassette
from replay.limits import MAX_CHUNK_T, MAX_FORMAT_PARAM, MAX_JSON_DEPTH
from replay.model.cassette import Cassette, Chunk, Interaction, Request, Response
from replay.model.yamlio import uses_aliases

HEAD = "format: llm-replay\nversion: 1\ninteractions:\n"
GET = "- request: {method: GET, url: 'http://x.test/'}\n"


def native(response: str, request: str = GET, extra: str = "") -> str:
    return f"{HEAD}{extra}{request}  response: {response}\n"


# name -> (file text, fragment the error must contain)
CASES: dict[str, tuple[str, str]] = {
    "!!int abc": (native("{status: !!int abc}"), "invalid literal for int"),
    "!!bool maybe": (native("{status: 200, synthetic_timing: !!bool maybe}"), "invalid YAML value"),
    "!!timestamp nope": (
        f"{HEAD}- recorded_at: !!timestamp nope\n  request: {{method: GET, url: 'http://x.test/'}}\n"
        "  response: {status: 200}\n",
        "invalid YAML value",
    ),
    "5,000-digit status": (native("{status: " + "9" * 5000 + "}"), "invalid YAML value"),
    "400-digit chunk t": (
        native("{status: 200, chunks: [{t: " + "9" * 400 + ", text: a}]}"),
        "(400 characters)",
    ),
    "1e12 chunk t": (native("{status: 200, chunks: [{t: 1.0e+12, text: a}]}"), f"at most {MAX_CHUNK_T:g}"),
    "1e12 head t": (native("{status: 200, t: 1.0e+12}"), "response t must be"),
    "end.t NaN": (native("{status: 200, end: {kind: read_error, t: .nan}}"), "end t must be"),
    "end.t inf": (native("{status: 200, end: {kind: read_error, t: .inf}}"), "end t must be"),
    "URL http://[::1": (
        native("{status: 200}", request="- request: {method: GET, url: 'http://[::1'}\n"),
        "does not parse",
    ),
    "relative URL": (native("{status: 200}", request="- request: {method: GET, url: '/v1/x'}\n"), "absolute"),
    "header name with CR/LF": (native('{status: 200, headers: {"a\\r\\nb": x}}'), "not an HTTP field name"),
    "header name with ':'": (native("{status: 200, headers: {'a:b': x}}"), "not an HTTP field name"),
    "empty header name": (native("{status: 200, headers: {'': x}}"), "not an HTTP field name"),
    "header value with CR/LF": (
        native('{status: 200, headers: {a: "x\\r\\nSet-Cookie: y"}}'),
        "CR, LF or NUL",
    ),
    "request header value with LF": (
        native(
            "{status: 200}",
            request='- request: {method: GET, url: "http://x.test/", headers: {a: "b\\nc"}}\n',
        ),
        "CR, LF or NUL",
    ),
    "duplicate key": (native("\n    status: 200\n    status: 500"), "appears twice"),
    "duplicate top-level key": (f"{HEAD}{GET}  response: {{status: 200}}\nversion: 1\n", "appears twice"),
    "format indent=100000000": (
        native("{status: 200, body: {json: {a: 1}, format: indent=100000000}}"),
        f"from 0 to {MAX_FORMAT_PARAM}",
    ),
    "10,000-deep YAML": (native("{status: 200, body: {json: " + "[" * 10000 + "]" * 10000 + "}}"), "nest"),
    "5,000-deep JSON in SSE": (
        native('{status: 200, chunks: [{t: 0.1, text: "data: ' + "[" * 5000 + "]" * 5000 + '\\n\\n"}]}'),
        f"limit {MAX_JSON_DEPTH}",
    ),
    "5,000-deep JSON request body": (
        native(
            "{status: 200}",
            request="- request: {method: POST, url: 'http://x.test/', body: {text: '"
            + '{"a":' * 5000
            + "1"
            + "}" * 5000
            + "'}}\n",
        ),
        "the request body nests",
    ),
}


def vcr(response: str, timing: str = "") -> str:
    return (
        "interactions:\n- request: {method: GET, uri: 'http://x.test/', body: null, headers: {}}\n"
        "  response:\n    status: {code: 200, message: OK}\n    headers: {}\n"
        f"    body: {{string: {response}}}\n"
        f"{timing}version: 1\n"
    )


CASES["vcrpy negative chunk size"] = (
    vcr("hello", "    llm_replay: {t: 0.1, chunks: '0.2/-2 0.3/7'}\n"),
    "negative",
)
CASES["vcrpy 1e12 chunk t"] = (vcr("hello", "    llm_replay: {t: 0.1, chunks: '1e12/5'}\n"), "at most")


@pytest.mark.parametrize("name", list(CASES))
def test_each_hostile_cassette_is_refused_naming_the_file(name: str, tmp_path: Path) -> None:
    text, fragment = CASES[name]
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(replay.CassetteFormatError) as err:
        replay.load_cassette(path)
    message = str(err.value)
    assert message.startswith(f"{path}"), message
    assert fragment in message, message


@pytest.mark.parametrize("name", list(CASES))
@pytest.mark.parametrize("command", ["inspect", "inspect --json", "plot", "scrub --check", "convert", "diff"])
def test_the_cli_reports_a_hostile_file_on_one_line_with_exit_2(
    name: str, command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(CASES[name][0])
    argv = [*command.split(), str(path)]
    if command == "plot":
        argv += ["-o", str(tmp_path / "x.svg")]
    elif command == "convert":
        argv += [str(tmp_path / "out.yaml")]
    elif command == "diff":
        argv += [str(path)]
    assert main(argv) == 2
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if str(path) in line]
    assert len(lines) == 1 and "Traceback" not in err, err


def test_a_vcrpy_negative_chunk_size_never_reaches_the_body(tmp_path: Path) -> None:
    # It once served "hello" as "helello"; a consistent timing still loads.
    path = tmp_path / "ok.yaml"
    path.write_text(vcr("hello", "    llm_replay: {t: 0.1, chunks: '0.2/2 0.3/3'}\n"))
    chunks = replay.load_cassette(path).interactions[0].response.chunks
    assert [(c.t, c.data) for c in chunks] == [(0.2, b"he"), (0.3, b"llo")]


def _code_cassette(target: int) -> Cassette:
    chunks, size, i = [], 0, 0
    while size < target:
        code = f"fn f{i}<T{i}, U{i}>(x: &T{i}, y: &mut U{i}) -> *const T{i} {{ *x }}\\n"
        data = ('data: {"choices":[{"delta":{"content":"' + code + '"}}]}\n\n').encode()
        chunks.append(Chunk(t=0.1 + i / 1000, data=data))
        size, i = size + len(data), i + 1
    response = Response(status=200, headers=[("content-type", "text/event-stream")], chunks=chunks)
    return Cassette(
        interactions=[Interaction(request=Request(method="POST", url="https://x.test/v1"), response=response)]
    )


def test_the_alias_check_is_linear_on_a_code_heavy_body(tmp_path: Path) -> None:
    # Once quadratic: one scan of the whole text per "&name" (37 s CPU for 347 KB).
    path = tmp_path / "code.yaml"
    save_cassette(_code_cassette(350_000), path)
    text = path.read_text()
    assert text.count("&") > 5_000 and not uses_aliases(text)
    start = time.process_time()
    replay.load_cassette(path)
    assert time.process_time() - start < 3.0  # linear: ~0.05 s; the quadratic scan took 37 s
    assert uses_aliases("a: &x [1]\nb: *x\n") and not uses_aliases("R &D and *D")


def test_a_gzip_bomb_in_a_vcrpy_cassette_is_refused(tmp_path: Path) -> None:
    bomb = gzip.compress(b"\0" * (64 << 20))  # 64 MiB in ~64 KB: a ratio of ~1000
    path = tmp_path / "bomb.yaml"
    data = {
        "interactions": [
            {
                "request": {"method": "GET", "uri": "http://x.test/", "body": None, "headers": {}},
                "response": {
                    "status": {"code": 200, "message": "OK"},
                    "headers": {"Content-Encoding": ["gzip"]},
                    "body": {"string": bomb},
                },
            }
        ],
        "version": 1,
    }
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(replay.CassetteFormatError, match="inflates past"):
        replay.load_cassette(path)


@pytest.mark.parametrize("kind", ["folder", "fifo", "device"])
def test_only_regular_files_are_opened(kind: str, tmp_path: Path) -> None:
    if kind == "folder":
        path = tmp_path / "dir.yaml"
        path.mkdir()
    elif kind == "fifo":
        path = tmp_path / "pipe.yaml"
        os.mkfifo(path)
    else:
        path = Path("/dev/full" if Path("/dev/full").exists() else "/dev/zero")
    start = time.monotonic()
    with pytest.raises(replay.CassetteFormatError, match="not a regular file"):
        replay.load_cassette(path)
    with pytest.raises(replay.CassetteWriteError, match="not a regular file"):
        replay.use_cassette(path, record_mode="new_episodes").open()
    assert time.monotonic() - start < 10


# -- saving ----------------------------------------------------------------------------------


class _Echo(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("content-length", "2")
        self.send_header("x-price", "5 \u20ac".encode().decode("latin-1"))
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def echo() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Echo)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_a_symlinked_cassette_is_updated_through_the_link(echo: str, tmp_path: Path) -> None:
    shared = tmp_path / "shared" / "chat.yaml"
    shared.parent.mkdir()
    link = tmp_path / "link.yaml"
    link.symlink_to(shared)
    for i in range(2):
        with replay.use_cassette(link, record_mode="new_episodes"):
            httpx2.get(f"{echo}/{i}")
    assert link.is_symlink() and os.readlink(link) == str(shared)
    assert [i.request.url for i in replay.load_cassette(shared).interactions] == [f"{echo}/0", f"{echo}/1"]


def test_a_nul_byte_in_the_path_is_refused_before_any_request(echo: str, tmp_path: Path) -> None:
    sent: list[str] = []
    context = replay.use_cassette(str(tmp_path / "a\0b.yaml"), record_mode="once")
    with pytest.raises(replay.CassetteWriteError, match="NUL byte"), context:
        sent.append("request")
    assert sent == []


def test_a_name_past_the_file_system_limit_is_refused_at_open(tmp_path: Path) -> None:
    with pytest.raises(replay.CassetteWriteError, match="longer than a file system accepts"):
        replay.use_cassette(tmp_path / ("x" * 300 + ".yaml")).open()


def test_a_legal_250_byte_name_is_saved_and_its_stale_temps_cleaned(echo: str, tmp_path: Path) -> None:
    path = tmp_path / ("t" * 245 + ".yaml")
    assert len(path.name.encode()) == 250
    with replay.use_cassette(path, record_mode="new_episodes"):
        httpx2.get(f"{echo}/long")
    assert len(replay.load_cassette(path).interactions) == 1
    # A killed writer's temp file (a pid that no longer exists) is removed by the next save.
    gone = 2**22 + 12345
    stem = next(tmp_path.iterdir()).name  # only the cassette is left
    assert stem == path.name
    from replay.io.atomic import temp_stem

    stale = tmp_path / f".{temp_stem(path)}.{gone}-abcdefgh.tmp"
    stale.write_bytes(b"half")
    assert len(stale.name.encode()) <= 255 and temp_writer_pid(stale, path) == gone
    with replay.use_cassette(path, record_mode="new_episodes"):
        httpx2.get(f"{echo}/again")
    assert not stale.exists() and len(replay.load_cassette(path).interactions) == 2


def test_a_non_latin1_header_value_replays_as_recorded(echo: str, tmp_path: Path) -> None:
    path = tmp_path / "euro.yaml"
    with replay.use_cassette(path, record_mode="once"):
        live = httpx2.get(f"{echo}/euro").headers["x-price"]
    assert live == "5 \u20ac"
    with replay.use_cassette(path):
        assert httpx2.get(f"{echo}/euro").headers["x-price"] == live
