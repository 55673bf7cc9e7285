"""Key shapes of every provider the README names (issue 13, item 7): planted in a header, a
query and a body, each never reaches disk, and ``llm-replay scrub --check`` finds it in a file.

The keys are made up, in each provider's documented shape: Together ``tgp_v1_`` + 43 base64url
characters, OpenRouter ``sk-or-v1-`` + 64 hex digits, Fireworks ``fw_`` + alphanumerics,
Gemini ``AIza`` + 35, AWS ``AKIA``/``ASIA`` + 16 upper-case base32, SigV4 signatures (64 hex
digits) and STS session tokens (base64 starting ``IQoJb3JpZ2luX2Vj``). Cohere and Mistral keys
are opaque alphanumerics with no shape: they are caught where they travel (``Authorization:
Bearer``, an ``api_key`` parameter or field, a ``Bearer`` string).
"""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import quote

import httpx2
import pytest
from llm_server import LLMServer

import replay
from replay.cli import main
from replay.model.cassette import Cassette, Chunk, Interaction, Request, Response
from replay.scrub import find_key_patterns

_HEX64 = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
_SESSION = "IQoJb3JpZ2luX2VjEHYaCXVzLWVhc3QtMSJHMEUCIQD" + "Zx8Cv6Bn4Ml2Kj0Hg8Fd6Sa4Qw2Er0Ty8Ui6Op4As+/" * 4
_SIGV4 = (
    "AWS4-HMAC-SHA256 Credential=AKIAZ7Q4N5B3X2W6V8R9/20261204/us-east-1/bedrock/aws4_request, "
    f"SignedHeaders=host;x-amz-date, Signature={_HEX64}"
)
# (id, the secret, the parts of it that must not reach disk, where it travels)
SHAPED = [
    ("together", "tgp_v1_" + "E6rQwX9nV_2LG_7uBiSAB22qG7GvgM6mAMbgFv-cns4", "shaped"),
    ("gemini", "AIza" + "SyD4f7Gh2Jk9Lm3Np6Qr8St1Uv5Wx0Yz2Ab", "shaped"),
    ("aws-akia", "AKIA" + "Z7Q4N5B3X2W6V8R9", "shaped"),
    ("aws-asia", "ASIA" + "Q2W3E4R5T6Y7U8I9", "shaped"),
    ("aws-session-token", _SESSION, "shaped"),
    ("aws-sigv4", _SIGV4, "shaped"),
    ("huggingface", "hf_" + "Ab3dE5gH7jK9mN1pQ3sT5vW7yZ9bC1dF3h", "shaped"),
    (
        "xai",
        "xai-" + "Ab3dE5gH7jK9mN1pQ3sT5vW7yZ9bC1dF3hJ5kL7aB9cD1eF3gH5iJ7kL9mN1oP3qR5sT7uV9wX1yZ3aB5c",
        "shaped",
    ),
    ("openrouter", "sk-or-v1-" + _HEX64, "shaped"),
    ("replicate", "r8_" + "Ab3dE5gH7jK9mN1pQ3sT5vW7yZ9bC1dF3hJ5kL7", "shaped"),
    ("fireworks", "fw_" + "3Zk8Qp2Lm7Xv4Nb9Rt6Ws1Yc", "shaped"),
    ("perplexity", "pplx-" + "Ab3dE5gH7jK9mN1pQ3sT5vW7yZ9bC1dF3hJ5kL7aB9cD1eF", "shaped"),
    ("cohere", "l9AiVVhqFsgfSCTtwKXdlLFM41HtmQzSKa5gfCC6", "opaque"),
    ("mistral", "Qm4Xz7Lp2Vb9Nc6Rt3Wy8Hd5Fk1Js0Ga", "opaque"),
]


def _tails(secret: str) -> list[str]:
    """Secret-bearing pieces of ``secret`` (a SigV4 string holds two: key id and signature)."""
    if secret.startswith("AWS4-HMAC-SHA256"):
        return ["Z7Q4N5B3X2W6V8R9", _HEX64[-24:]]
    return [secret[-16:]]


def _carriers(secret: str, kind: str) -> tuple[list[tuple[str, str]], str, bytes]:
    """Header, query and body carrying ``secret`` where that kind of key travels."""
    if kind == "opaque":
        headers = [("Authorization", f"Bearer {secret}"), ("X-Custom", f"Bearer {secret}")]
        query = f"api_key={secret}&token={secret}"
        body = {"model": "m", "messages": [], "api_key": secret, "note": f"Authorization: Bearer {secret}"}
    else:
        headers = [("X-Custom", secret)]
        query = f"trace={quote(secret, safe='')}&other={quote(secret, safe='')}"
        body = {"model": "m", "messages": [], "note": secret}
    return headers, query, json.dumps(body).encode()


@pytest.mark.parametrize(("secret", "kind"), [(s, k) for _, s, k in SHAPED], ids=[i for i, _, _ in SHAPED])
def test_a_planted_key_never_reaches_disk(
    secret: str, kind: str, llm_server: LLMServer, tmp_path: Path
) -> None:
    path = tmp_path / "planted.yaml"
    headers, query, body = _carriers(secret, kind)
    with replay.use_cassette(path, record_mode="once"):
        url = f"{llm_server.base_url}/v1/chat/completions?{query}"
        response = httpx2.post(url, headers=headers, content=body)
        assert response.status_code == 200
    text = path.read_text()
    for tail in _tails(secret):
        assert tail not in text and quote(tail, safe="") not in text
    assert "REDACTED" in text


@pytest.mark.parametrize(("secret", "kind"), [(s, k) for _, s, k in SHAPED], ids=[i for i, _, _ in SHAPED])
def test_scrub_check_finds_a_planted_key_in_a_file(
    secret: str, kind: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    headers, query, body = _carriers(secret, kind)
    path = tmp_path / "leaky.yaml"
    request = Request(
        method="POST", url=f"https://api.example.com/v1/chat?{query}", headers=headers, body=body
    )
    response = Response(
        status=200, headers=[("content-type", "application/json")], chunks=[Chunk(t=0.1, data=b"{}")]
    )
    replay.save_cassette(Cassette(interactions=[Interaction(request=request, response=response)]), path)
    assert main(["scrub", "--check", str(path)]) == 1
    out = capsys.readouterr()
    output = out.out + out.err
    for where in ("request.headers.x-custom", "request.url", "request.body"):
        assert f"interactions[0].{where}" in output, output
    for tail in _tails(secret):
        assert tail not in output  # never echoed into CI logs
    assert main(["scrub", str(path)]) == 0
    capsys.readouterr()
    assert main(["scrub", "--check", str(path)]) == 0


@pytest.mark.parametrize(
    ("secret", "label"),
    [
        ("sk-or-v1-" + _HEX64, "an OpenRouter API key"),
        ("tgp_v1_" + "E6rQwX9nV_2LG_7uBiSAB22qG7GvgM6mAMbgFv-cns4", "a Together API key"),
        ("fw_" + "3Zk8Qp2Lm7Xv4Nb9Rt6Ws1Yc", "a Fireworks API key"),
        (_SESSION, "an AWS session token"),
        (f"Signature={_HEX64}", "an AWS SigV4 signature"),
    ],
)
def test_findings_name_the_provider(secret: str, label: str) -> None:
    assert [found[2] for found in find_key_patterns(f'{{"v": "{secret}"}}')] == [label]
