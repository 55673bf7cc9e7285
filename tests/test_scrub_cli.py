"""``llm-replay scrub PATH [--check]``: native and vcrpy cassettes, rewritten in place atomically,
with vcrpy files kept in vcrpy's own format (vcrpy still replays them)."""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path

import pytest
import yaml
from conftest import require_real_cassettes
from llm_server import LLMServer

import replay
from replay.cli import main
from replay.model.cassette import Cassette, Chunk, Interaction, Request, Response

OPENAI_KEY = "sk-" + "proj-" + "Ab3dE5gH7jK9mN1pQ3sT5vW7yZ9bC1dF3hJ5kL7"
ANTHROPIC_KEY = "sk-" + "ant-api03-" + "Zx8Cv6Bn4Ml2Kj0Hg8Fd6Sa4Qw2Er0Ty8Ui6Op4As"


def leaky_native(path: Path, *, response_key: bool = False) -> Path:
    """A native cassette written without scrubbing (as an old llm-replay or a hand edit might)."""
    sse = [
        b'data: {"x":1}\n\n',
        f"data: {ANTHROPIC_KEY}\n\n".encode() if response_key else b"data: [DONE]\n\n",
    ]
    cassette = Cassette(
        interactions=[
            Interaction(
                request=Request(
                    method="POST",
                    url="https://api.openai.com/v1/chat/completions?api_key=abc123",
                    headers=[("Authorization", "Bearer " + OPENAI_KEY), ("content-type", "application/json")],
                    body=json.dumps({"model": "m", "note": OPENAI_KEY}).encode(),
                ),
                response=Response(
                    status=200,
                    headers=[("content-type", "text/event-stream"), ("set-cookie", "__cf_bm=abc; Path=/")],
                    chunks=[Chunk(t=0.1 * (i + 1), data=d) for i, d in enumerate(sse)],
                ),
            )
        ]
    )
    replay.save_cassette(cassette, path)
    return path


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(["scrub", *args])
    out = capsys.readouterr()
    return code, out.out + out.err


def test_check_lists_every_secret_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = leaky_native(tmp_path / "leaky.yaml")
    before = path.read_bytes()
    code, output = run(capsys, "--check", str(path))
    assert code == 1
    for where in (
        "interactions[0].request.url: query parameter 'api_key'",
        "interactions[0].request.headers.authorization: a credential header",
        "interactions[0].request.body: an OpenAI API key",
        "interactions[0].response.headers.set-cookie: a credential header",
    ):
        assert f"{path}: secret: {where}" in output
    assert "1 still contain secret-looking values: run `llm-replay scrub PATH`" in output
    assert OPENAI_KEY[-16:] not in output
    assert path.read_bytes() == before


def test_scrub_rewrites_in_place_then_check_passes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = leaky_native(tmp_path / "leaky.yaml")
    code, output = run(capsys, str(path))
    assert code == 0, output
    assert f"{path}: scrubbed 4 value(s) (llm-replay)" in output
    text = path.read_text()
    assert OPENAI_KEY[-16:] not in text and "abc123" not in text and "__cf_bm=REDACTED; Path=/" in text
    interaction = replay.load_cassette(path).interactions[0]
    assert interaction.request.header("authorization") == "Bearer REDACTED"
    assert [c.t for c in interaction.response.chunks] == [0.1, 0.2]
    assert not list(tmp_path.glob(".*.tmp"))
    rewritten = path.read_bytes()
    assert run(capsys, "--check", str(path))[0] == 0
    assert run(capsys, str(path)) == (
        0,
        f"{path}: clean (llm-replay)\n1 cassette(s), 0 rewritten; no secrets found.\n",
    )
    assert path.read_bytes() == rewritten  # a clean file is not rewritten


def test_a_key_in_a_response_body_needs_response_bodies(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = leaky_native(tmp_path / "leaky.yaml", response_key=True)
    code, output = run(capsys, str(path))
    assert code == 1
    assert f"{path}: secret remains: interactions[0].response.chunks[1]: an Anthropic API key" in output
    assert "--response-bodies" in output
    code, output = run(capsys, "--response-bodies", str(path))
    assert code == 0, output
    assert (
        replay.load_cassette(path).interactions[0].response.chunks[1].data
        == b"data: sk-ant-api03-REDACTED\n\n"
    )


def test_extra_rules_from_the_command_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cassette = Cassette(
        interactions=[
            Interaction(
                request=Request(
                    method="POST",
                    url="https://x.test/v1?tenant=acme",
                    headers=[("x-team", "blue")],
                    body=b'{"email": "a@b.test"}',
                ),
                response=Response(status=200, headers=[("content-type", "application/json")], chunks=[]),
            )
        ]
    )
    path = tmp_path / "c.yaml"
    cassette.save(path)
    assert run(capsys, str(path))[0] == 0
    assert "blue" in path.read_text()  # nothing secret by default
    code, _ = run(capsys, "--header", "x-team", "--query", "tenant", "--body-field", "email", str(path))
    assert code == 0
    request = replay.load_cassette(path).interactions[0].request
    assert request.header("x-team") == "REDACTED" and request.url.endswith("?tenant=REDACTED")
    assert json.loads(request.body) == {"email": "REDACTED"}


# -- vcrpy cassettes ------------------------------------------------------------------------


@pytest.mark.parametrize("serializer", ["yaml", "json"])
def test_vcrpy_cassettes_are_scrubbed_in_vcrpy_format_and_vcrpy_still_replays_them(
    serializer: str, llm_server: LLMServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import requests
    import vcr

    path = tmp_path / f"vcr.{serializer}"
    my_vcr = vcr.VCR(serializer=serializer)
    with my_vcr.use_cassette(str(path), record_mode="once"):
        live = requests.post(
            llm_server.base_url + "/v1/chat/completions",
            params={"key": "AIza" + "SyD3f5G7h9J1k3L5m7N9p1Q3r5S7t9V1w3X"},
            headers={"Authorization": "Bearer " + OPENAI_KEY, "Cookie": "session=abc"},
            json={"model": "m", "messages": [{"role": "user", "content": "hi"}]},
            timeout=10,
        ).json()
    assert OPENAI_KEY in path.read_text()  # vcrpy saves secrets unless configured not to
    code, output = run(capsys, "--check", str(path))
    assert code == 1 and "interactions[0].request.headers.authorization" in output
    code, output = run(capsys, str(path))
    assert code == 0 and f"{path}: scrubbed 3 value(s) (vcrpy)" in output, output
    text = path.read_text()
    assert OPENAI_KEY[-16:] not in text and "session=abc" not in text and "9p1Q3r5S7t9V1w3X" not in text
    base = llm_server.base_url
    llm_server.stop()
    # vcrpy reads the file back (its own format) and replays the scrubbed request.
    with my_vcr.use_cassette(str(path), record_mode="none"):
        again = requests.post(
            f"{base}/v1/chat/completions?key=REDACTED",
            json={"model": "m", "messages": [{"role": "user", "content": "hi"}]},
            timeout=10,
        )
    assert again.json() == live


def test_real_vcrpy_cassettes_lose_their_cookies_and_nothing_else(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = require_real_cassettes()
    folder = tmp_path / "real"
    shutil.copytree(source, folder)
    code, output = run(capsys, "--check", str(folder))
    assert code == 1 and "response.headers.set-cookie" in output
    code, output = run(capsys, str(folder))
    assert code == 0, output
    assert run(capsys, "--check", str(folder))[0] == 0
    from vcr.serialize import deserialize
    from vcr.serializers import yamlserializer

    compared = 0
    for original in sorted(source.rglob("*.yaml")):
        scrubbed = folder / original.relative_to(source)
        old_requests, old_responses = deserialize(original.read_text(), yamlserializer)[:2]
        new_requests, new_responses = deserialize(scrubbed.read_text(), yamlserializer)[:2]
        for old_req, new_req, old, new in zip(
            old_requests, new_requests, old_responses, new_responses, strict=True
        ):
            assert (new_req.method, new_req.uri, new_req.body) == (old_req.method, old_req.uri, old_req.body)
            assert new["body"] == old["body"] and new["status"] == old["status"]
            for name, values in new["headers"].items():
                lname = name.lower()
                if lname in (
                    "set-cookie",
                    "openai-organization",
                    "openai-project",
                    "anthropic-organization-id",
                ):
                    assert all("REDACTED" in v for v in values)
                else:
                    assert values == old["headers"][name]
            compared += 1
    assert compared >= 40


def test_gzip_bodies_of_vcrpy_cassettes_are_checked_and_recompressed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    body = json.dumps({"id": "x", "echo": OPENAI_KEY}).encode()
    data = {
        "version": 1,
        "interactions": [
            {
                "request": {"method": "GET", "uri": "https://x.test/v1", "body": None, "headers": {}},
                "response": {
                    "status": {"code": 200, "message": "OK"},
                    "headers": {
                        "Content-Encoding": ["gzip"],
                        "Content-Length": [str(len(gzip.compress(body)))],
                    },
                    "body": {"string": gzip.compress(body)},
                },
            }
        ],
    }
    path = tmp_path / "gz.yaml"
    path.write_text(yaml.dump(data))
    code, output = run(capsys, "--check", str(path))
    assert code == 1 and "interactions[0].response.body: an OpenAI API key" in output
    assert run(capsys, "--response-bodies", str(path))[0] == 0
    response = yaml.load(path.read_text(), Loader=yaml.CSafeLoader)["interactions"][0]["response"]
    clean = gzip.decompress(response["body"]["string"])
    assert json.loads(clean) == {"id": "x", "echo": "sk-proj-REDACTED"}
    assert response["headers"]["Content-Length"] == [str(len(response["body"]["string"]))]


# -- folders, other files, errors -----------------------------------------------------------


def test_folders_are_searched_recursively_skipping_hidden_and_non_cassette_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    leaky_native(tmp_path / "a" / "b" / "leaky.yaml")
    (tmp_path / ".git").mkdir()
    leaky_native(tmp_path / ".git" / "ignored.yaml")
    (tmp_path / "ci.yml").write_text("jobs: {test: {runs-on: ubuntu-latest}}\n")
    (tmp_path / "notes.txt").write_text("Bearer " + OPENAI_KEY)
    code, output = run(capsys, str(tmp_path))
    assert code == 0, output
    assert f"{tmp_path / 'ci.yml'}: skipped (not a cassette)" in output
    assert "ignored.yaml" not in output and "notes.txt" not in output
    assert "1 cassette(s), 1 rewritten; no secrets found." in output
    assert OPENAI_KEY in (tmp_path / ".git" / "ignored.yaml").read_text()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("format: llm-replay\nversion: 1\ninteractions: [{request: ", "invalid YAML"),
        ("interactions: 5\n", "'interactions' must be a list (vcrpy cassette)"),
        (
            "interactions: [{request: {uri: 'http://x'}}]\n",
            "interactions[0] must be a mapping with 'request'",
        ),
        ("interactions: [{request: {method: GET}, response: {}}]\n", "needs 'method' and 'uri' strings"),
        (
            "- request: {uri: 'http://x'}\n  response: {}\n",
            "vcrpy cassette in the format of vcrpy before 1.0",
        ),
        ("interactions: !!python/object/apply:os.system ['touch PWNED']\n", "invalid YAML"),
        ("a: &a [1]\ninteractions: *a\n", "anchors/aliases"),
    ],
)
def test_unreadable_files_are_reported_and_the_rest_continue(
    content: str, message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(content)
    good = leaky_native(tmp_path / "good.yaml")
    code, output = run(capsys, str(tmp_path))
    assert code == 2  # an unreadable file: status 2
    assert f"{bad}: error: " in output and message in output, output
    assert "1 file(s) could not be read." in output
    assert f"{good}: scrubbed" in output
    assert bad.read_text() == content and not (tmp_path / "PWNED").exists()


def test_a_missing_path_is_an_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, output = run(capsys, str(tmp_path / "nope"))
    assert code == 2 and "nope does not exist" in output
