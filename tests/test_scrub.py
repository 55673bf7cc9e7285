"""Secrets never reach disk: default scrubbing, user rules and hooks, both sides of matching,
and the last check before writing.

Fake keys are assembled at run time so that no key-shaped literal sits in the repository.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from llm_server import LLMServer
from sdk_helpers import MESSAGES, make_client

import replay
from replay.model.cassette import Chunk, Interaction, Request, Response
from replay.scrub import PLACEHOLDER, Scrubber, find_key_patterns, redact_secrets
from replay.scrub.edits import _edit_chunks
from replay.scrub.patterns import _Edit

SYNC_ASYNC = pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])

OPENAI_KEY = "sk-" + "proj-" + "Ab3dE5gH7jK9mN1pQ3sT5vW7yZ9bC1dF3hJ5kL7"
ANTHROPIC_KEY = "sk-" + "ant-api03-" + "Zx8Cv6Bn4Ml2Kj0Hg8Fd6Sa4Qw2Er0Ty8Ui6Op4As"
GROQ_KEY = "gsk" + "_" + "Qw3Er5Ty7Ui9Op1As3Df5Gh7Jk9Lz1Xc3"
TOGETHER_KEY = "tgp" + "_v1_" + "f4ce" * 10  # not a known pattern: only the header protects it
GOOGLE_KEY = "AIza" + "SyD3f5G7h9J1k3L5m7N9p1Q3r5S7t9V1w3X"
SDK_KEYS = {"openai": OPENAI_KEY, "anthropic": ANTHROPIC_KEY, "groq": GROQ_KEY, "together": TOGETHER_KEY}


def secret_tail(key: str) -> str:
    """A distinctive part of a key: it must not appear anywhere in a written cassette."""
    return key[-16:]


# -- the rules ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("Authorization", "Bearer " + OPENAI_KEY, "Bearer REDACTED"),
        ("authorization", "Basic dXNlcjpwYXNz", "Basic REDACTED"),
        ("Proxy-Authorization", "token123", "REDACTED"),
        ("api-key", "0123456789abcdef0123456789abcdef", "REDACTED"),
        ("x-api-key", ANTHROPIC_KEY, "REDACTED"),
        ("OpenAI-Organization", "org-Abc123", "REDACTED"),
        ("openai-project", "proj_tzz1TbPPOXaf6j9tEkVUBIAa", "REDACTED"),
        ("anthropic-admin-key", "whatever", "REDACTED"),
        ("anthropic-organization-id", "1a2b3c4d-0000-4000-8000-5e6f7a8b9c0d", "REDACTED"),
        ("x-goog-api-key", GOOGLE_KEY, "REDACTED"),
        ("x-auth-token", "abc", "REDACTED"),
        ("Cookie", "__cf_bm=abc.def; _cfuvid=xyz", "__cf_bm=REDACTED; _cfuvid=REDACTED"),
        (
            "Set-Cookie",
            "__cf_bm=KE6apT_Tk-1774962826; HttpOnly; Secure; Path=/; Domain=api.openai.com",
            "__cf_bm=REDACTED; HttpOnly; Secure; Path=/; Domain=api.openai.com",
        ),
        # key-shaped values in any header
        ("x-custom-forward", "use " + GROQ_KEY, "use gsk_REDACTED"),
        # metadata that only looks sensitive stays
        ("x-ratelimit-remaining-tokens", "149990", "149990"),
        ("anthropic-ratelimit-tokens-limit", "80000", "80000"),
        ("idempotency-key", "stainless-python-retry-1f2e", "stainless-python-retry-1f2e"),
        ("access-control-allow-credentials", "true", "true"),
        ("anthropic-version", "2023-06-01", "2023-06-01"),
        ("content-type", "application/json", "application/json"),
    ],
)
def test_default_header_rules(name: str, value: str, expected: str) -> None:
    request = Request(method="GET", url="https://api.example.com/", headers=[(name, value)])
    clean = Scrubber().scrub_request(request)
    assert clean.headers == [(name, expected)]  # the header stays, with a placeholder
    again = Scrubber().scrub_request(clean)
    assert again.headers == clean.headers  # idempotent: a scrubbed recording is a fixed point


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            f"https://generativelanguage.googleapis.com/v1/models:gen?key={GOOGLE_KEY}&alt=sse",
            "https://generativelanguage.googleapis.com/v1/models:gen?key=REDACTED&alt=sse",
        ),
        (
            "https://x.test/a?api_key=abc&b=2&access_token=t0k&sig=s1",
            "https://x.test/a?api_key=REDACTED&b=2&access_token=REDACTED&sig=REDACTED",
        ),
        ("https://user:hunter2@proxy.test:8080/p?q=1#f", "https://REDACTED:REDACTED@proxy.test:8080/p?q=1#f"),
        (f"https://x.test/v1/keys/{OPENAI_KEY}", "https://x.test/v1/keys/sk-proj-REDACTED"),
        (
            "https://x.test/v1/chat?model=gpt-4o&stream=true",
            "https://x.test/v1/chat?model=gpt-4o&stream=true",
        ),
        ("https://x.test/v1/chat?&&=&key", "https://x.test/v1/chat?&&=&key"),
    ],
)
def test_url_rules(url: str, expected: str) -> None:
    clean = Scrubber().scrub_request(Request(method="GET", url=url))
    assert clean.url == expected
    assert Scrubber().scrub_request(clean).url == expected


def test_request_body_keys_and_fields_are_scrubbed_and_content_length_follows() -> None:
    body = json.dumps(
        {
            "model": "gpt-4o",
            "messages": [{"role": "user", "content": f"my key is {OPENAI_KEY}, and {GROQ_KEY}"}],
            "api_key": "plain-secret",
            "nested": {"client_secret": "abc", "password": 12345},
        }
    ).encode()
    request = Request(
        method="POST",
        url="https://x.test/v1",
        headers=[("content-type", "application/json"), ("content-length", str(len(body)))],
        body=body,
    )
    clean = Scrubber().scrub_request(request)
    data = json.loads(clean.body)
    assert data["messages"][0]["content"] == "my key is sk-proj-REDACTED, and gsk_REDACTED"
    assert data["api_key"] == PLACEHOLDER
    assert data["nested"]["client_secret"] == PLACEHOLDER
    assert data["nested"]["password"] == 12345  # string values only: a number is left as is
    assert clean.header("content-length") == str(len(clean.body))
    assert request.body == body  # the live request object is never modified


def test_form_bodies_are_scrubbed_like_query_strings() -> None:
    body = b"grant_type=client_credentials&client_secret=s3cr3t&scope=a+b"
    request = Request(
        method="POST",
        url="https://login.test/token",
        headers=[("Content-Type", "application/x-www-form-urlencoded")],
        body=body,
    )
    assert Scrubber().scrub_request(request).body == (
        b"grant_type=client_credentials&client_secret=REDACTED&scope=a+b"
    )


@pytest.mark.parametrize(
    "text",
    [
        "scikit-learn is installed with pip install sk-learn-and-friends-of-sklearn",
        "the risk-assessment-framework-for-everyone-2024 document",
        "Bearer authentication uses a bearer token in the header",
        "sk-REDACTED and sk-proj-REDACTED and gsk_REDACTED",
        'data: {"id":"chatcmpl-9HpbaAXyt0cAnlWvI8kUAFpZt5jyQ","model":"gpt-35-turbo"}',
        "msg_01XFDUDYJgAACzvnptvVoYEL toolu_01A09q90qw90lq917835lq9",
        # The prefixes and placeholders of the key shapes added for issue 13 (test_defects_keys).
        "set fw_version_number_for_release to 2 and the tgp_v1_ prefix marks a Together key",
        "the header is AWS4-HMAC-SHA256 Credential=..., SignedHeaders=host, Signature=... (see docs)",
        "Signature=deadbeef is too short; AKIA is a prefix; ASIAN cuisine 2024 menu items list",
        "sk-or-v1-REDACTED, tgp_v1_REDACTED, fw_REDACTED, Signature=REDACTED",
        "the IQoJb3JpZ2luX2 prefix alone is not a token",
    ],
)
def test_prose_and_ids_are_not_keys(text: str) -> None:
    assert find_key_patterns(text) == []


@pytest.mark.parametrize(
    ("key", "label"),
    [
        (OPENAI_KEY, "OpenAI"),
        ("sk-" + "Ab3dE5gH7jK9mN1pQ3sT5vW7yZ9bC1dF3hJ5kL7aB9", "OpenAI"),
        (ANTHROPIC_KEY, "Anthropic"),
        (GROQ_KEY, "Groq"),
        (GOOGLE_KEY, "Google"),
        ("xai-" + "Ab3dE5gH7jK9mN1pQ3sT5vW7", "xAI"),
        ("hf_" + "Ab3dE5gH7jK9mN1pQ3sT5vW7yZ", "Hugging Face"),
        (
            "eyJhbGciOiJIUzI1NiJ9." + "eyJzdWIiOiIxMjM0NTY3ODkwIn0." + "dozjgNryP4J3jVmNHl0w5N_XgL0n3I9P",
            "JSON Web",
        ),
        ("Bearer " + "4f9a8b7c6d5e4f3a2b1c", "bearer"),
    ],
)
def test_provider_key_shapes_are_found(key: str, label: str) -> None:
    found = find_key_patterns(f'{{"value": "{key}"}}')
    assert len(found) == 1 and label in found[0][2]


# -- chunk-preserving edits (response bodies) ------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(
    body=st.binary(min_size=1, max_size=60),
    cuts=st.lists(st.integers(min_value=0, max_value=60), max_size=8),
    raw_edits=st.lists(
        st.tuples(st.integers(0, 60), st.integers(0, 12), st.text("XYZ", max_size=4)), max_size=4
    ),
)
def test_edit_chunks_equals_editing_the_joined_body(
    body: bytes, cuts: list[int], raw_edits: list[tuple[int, int, str]]
) -> None:
    bounds = sorted({min(c, len(body)) for c in cuts} | {0, len(body)})
    chunks = [Chunk(t=i * 0.5, data=body[a:b]) for i, (a, b) in enumerate(itertools.pairwise(bounds))]
    edits = []
    last = 0
    for start, length, text in sorted(raw_edits):
        start = max(start, last)
        end = min(start + length, len(body))
        if start >= len(body) or end <= start:
            continue
        edits.append(_Edit(start, end, text, "test"))
        last = end
    out = _edit_chunks(chunks, edits)
    expected = bytearray()
    pos = 0
    for e in edits:
        expected += body[pos : e.start] + e.text.encode("latin-1")
        pos = e.end
    expected += body[pos:]
    assert b"".join(c.data for c in out) == bytes(expected)
    assert all(c.data for c in out)
    times = [c.t for c in out]
    assert times == sorted(times) and set(times) <= {c.t for c in chunks}


def test_redact_secrets_keeps_chunk_times_for_a_key_split_across_reads() -> None:
    key = OPENAI_KEY.encode()
    response = Response(
        status=200,
        headers=[("content-type", "text/event-stream"), ("content-length", "999")],
        chunks=[
            Chunk(t=0.1, data=b'data: {"key":"' + key[:10]),
            Chunk(t=0.2, data=key[10:] + b'"}\n\n'),
            Chunk(t=0.3, data=b"data: [DONE]\n\n"),
        ],
    )
    clean = redact_secrets(response)
    assert [c.t for c in clean.chunks] == [0.1, 0.2, 0.3]
    assert clean.body == b'data: {"key":"sk-proj-REDACTED"}\n\ndata: [DONE]\n\n'
    assert clean.header("content-length") == str(len(clean.body))


# -- options ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"filter_headers": 5}, "filter_headers must be a list"),
        ({"filter_headers": [("x-a", 3)]}, "each entry is a name or a (name, replacement) pair"),
        ({"filter_query": [""]}, "each entry is a name"),
        ({"filter_body_fields": [("secret", None)]}, "needs a replacement string"),
        ({"before_record_request": "not callable"}, "before_record_request must be a function"),
        ({"allow_secrets": "yes"}, "allow_secrets must be True or False"),
        ({"block_network": 1}, "block_network must be True or False"),
        ({"allowed_hosts": [1, 2]}, "allowed_hosts must be a list"),
    ],
)
def test_bad_options_are_refused_with_the_fix(kwargs: dict[str, Any], message: str, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        replay.use_cassette(tmp_path / "x.yaml", **kwargs)


# -- recording through the real SDKs ---------------------------------------------------------


@SYNC_ASYNC
@pytest.mark.parametrize("sdk", ["openai", "anthropic", "groq", "together"])
def test_sdk_keys_never_reach_the_cassette_and_replay_still_matches(
    sdk: str, is_async: bool, llm_server: LLMServer, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    path = tmp_path / "chat.yaml"
    key = SDK_KEYS[sdk]
    extra: dict[str, Any] = {"api_key": key}
    if sdk == "openai":
        extra.update(organization="org-Xy7Zk2Lm9Qp4", project="proj_tzz1TbPPOXaf6j9tEkVUBIAa")

    base = llm_server.base_url

    def chat() -> str:
        return _chat(sdk, base, is_async, extra, content=f"my key is {OPENAI_KEY}")

    with replay.use_cassette(path, record_mode="once"):
        live = chat()
    text = path.read_text()
    for secret in (key, OPENAI_KEY, "org-Xy7Zk2Lm9Qp4", "proj_tzz1TbPPOXaf6j9tEkVUBIAa"):
        assert secret_tail(secret) not in text
    # The application sent the real key; only the cassette is scrubbed, and its placeholder
    # keeps the header present (whichever header this SDK version carries the key in).
    sent = {k.lower(): v for k, v in llm_server.requests[-1]["headers"].items()}
    carriers = [name for name, value in sent.items() if key in value]
    assert carriers and set(carriers) <= {"authorization", "x-api-key", "api-key"}
    headers = {k.lower(): v for k, v in replay.load_cassette(path).interactions[0].request.headers}
    for name in carriers:
        assert headers[name] in (PLACEHOLDER, "Bearer REDACTED")
    if sdk == "openai":
        assert headers["openai-organization"] == headers["openai-project"] == PLACEHOLDER
    body = json.loads(replay.load_cassette(path).interactions[0].request.body)
    assert "sk-proj-REDACTED" in json.dumps(body)

    llm_server.stop()
    request.getfixturevalue("no_network")
    # Replay with the real key in the header and in the body: both sides are scrubbed alike.
    with replay.use_cassette(path) as cassette:
        assert chat() == live
    assert cassette.all_played


def _chat(sdk: str, base: str, is_async: bool, client_kwargs: dict[str, Any], content: str) -> str:
    import asyncio

    messages = [{"role": "user", "content": content}]
    client = make_client(sdk, base, is_async=is_async, **client_kwargs)
    if sdk == "anthropic":
        call = lambda: client.messages.create(model="m", max_tokens=8, messages=messages)  # noqa: E731
    else:
        call = lambda: client.chat.completions.create(model="m", messages=messages)  # noqa: E731
    if is_async:

        async def go() -> Any:
            async with client:
                return await call()

        result = asyncio.run(go())
    else:
        with client:
            result = call()
    if sdk == "anthropic":
        return str(result.content[0].text)
    return str(result.choices[0].message.content)


def test_a_live_key_in_the_url_matches_its_scrubbed_recording(llm_server: LLMServer, tmp_path: Path) -> None:
    import httpx2

    path = tmp_path / "q.yaml"
    url = llm_server.base_url + "/v1/chat/completions"
    payload = {"model": "m", "messages": MESSAGES}
    with replay.use_cassette(path, record_mode="once"), httpx2.Client() as client:
        live = client.post(url, params={"key": GOOGLE_KEY, "alt": "json"}, json=payload).json()
    assert GOOGLE_KEY not in path.read_text()
    assert replay.load_cassette(path).interactions[0].request.url.endswith("?key=REDACTED&alt=json")
    other_key = "AIza" + "Sy0000000000000000000000000000000000"
    with replay.use_cassette(path), httpx2.Client() as client:
        again = client.post(url, params={"key": other_key, "alt": "json"}, json=payload).json()
    assert again == live


def test_a_miss_never_echoes_the_live_key(llm_server: LLMServer, tmp_path: Path) -> None:
    import httpx2

    path = tmp_path / "q.yaml"
    url = llm_server.base_url + "/v1/chat/completions"
    with replay.use_cassette(path, record_mode="once"), httpx2.Client() as client:
        client.post(url, json={"model": "m", "messages": MESSAGES})
    with (
        replay.use_cassette(path),
        httpx2.Client() as client,
        pytest.raises(replay.NoMatchingInteraction) as err,
    ):
        client.post(url, params={"key": GOOGLE_KEY}, json={"model": "other", "note": OPENAI_KEY})
    message = str(err.value)
    assert "key=REDACTED" in message and "sk-proj-REDACTED" in message
    assert secret_tail(GOOGLE_KEY) not in message and secret_tail(OPENAI_KEY) not in message


# -- user rules and hooks --------------------------------------------------------------------


def test_user_filters_and_hooks(llm_server: LLMServer, tmp_path: Path) -> None:
    import httpx2

    path = tmp_path / "rules.yaml"
    url = llm_server.base_url + "/v1/chat/completions"
    seen: list[str] = []

    def before_request(req: Request) -> Request:
        seen.append(req.url)  # hooks see the request already scrubbed by the defaults
        return req.model_copy(update={"headers": [*req.headers, ("x-hooked", "yes")]})

    def before_response(resp: Response) -> Response:
        return resp.model_copy(update={"headers": [(k, v) for k, v in resp.headers if k != "x-request-id"]})

    options: dict[str, Any] = {
        "filter_headers": ["x-tenant-token-v2", ("x-tenant", "tenant-0"), ("x-drop-me", None)],
        "filter_query": ["session", ("trace", None)],
        "filter_body_fields": ["user_email", ("model", "some-model")],
        "before_record_request": before_request,
        "before_record_response": before_response,
    }
    payload = {"model": "m-secret", "messages": MESSAGES, "user_email": "a@b.test"}
    headers = {"x-tenant-token-v2": "t0", "x-tenant": "acme", "x-drop-me": "1", "x-api-key": "k"}
    with replay.use_cassette(path, record_mode="once", **options), httpx2.Client() as client:
        live = client.post(
            url, params={"session": "s1", "trace": "t1", "n": "2"}, headers=headers, json=payload
        )
    # Order: defaults, then declared rules, then the hook (which sees their result).
    assert seen and seen[0].endswith("?session=REDACTED&n=2")
    recorded = replay.load_cassette(path).interactions[0]
    req = recorded.request
    assert req.url.endswith("?session=REDACTED&n=2")
    assert req.header("x-tenant-token-v2") == PLACEHOLDER
    assert req.header("x-tenant") == "tenant-0"
    assert req.header("x-drop-me") is None
    assert req.header("x-hooked") == "yes"
    body = json.loads(req.body)
    assert body["user_email"] == PLACEHOLDER and body["model"] == "some-model"
    response = recorded.response
    assert response.header("x-request-id") is None
    # filter_body_fields applies to response bodies too: the server echoed the model name.
    assert json.loads(response.body)["model"] == "some-model"
    assert response.header("content-length") == str(len(response.body))
    # The same rules make the live request match its recording.
    with replay.use_cassette(path, **options), httpx2.Client() as client:
        again = client.post(
            url, params={"session": "s2", "trace": "t2", "n": "2"}, headers=headers, json=payload
        )
    assert again.json() == {**live.json(), "model": "some-model"}


def test_a_hook_must_return_the_request(llm_server: LLMServer, tmp_path: Path) -> None:
    import httpx2

    path = tmp_path / "h.yaml"
    with pytest.raises(replay.ReplayError, match="before_record_request returned NoneType"):  # noqa: SIM117
        with replay.use_cassette(path, record_mode="once", before_record_request=lambda r: None):
            with httpx2.Client() as client:
                client.post(llm_server.base_url + "/v1/chat/completions", json={"model": "m"})
    assert not path.exists()


# -- the last check --------------------------------------------------------------------------


def _echo_key_request(server: LLMServer, key: str) -> Any:
    import httpx2

    with httpx2.Client() as client:  # the local server echoes the model name in its response
        return client.post(
            server.base_url + "/v1/chat/completions", json={"model": key, "messages": MESSAGES}
        )


def test_a_key_in_a_response_body_refuses_the_write_naming_the_field(
    llm_server: LLMServer, tmp_path: Path
) -> None:
    path = tmp_path / "echo.yaml"
    llm_server.script.gzip_json = False
    with replay.use_cassette(path, record_mode="once"):
        _echo_key_request(llm_server, "m0")
    before = path.read_bytes()
    with (
        pytest.raises(replay.SecretsFoundError) as err,
        replay.use_cassette(path, record_mode="new_episodes"),
    ):
        _echo_key_request(llm_server, OPENAI_KEY)
    message = str(err.value)
    assert f"Refusing to write {path}" in message
    assert "interactions[1].response.body: an OpenAI API key" in message
    assert "allow_secrets=True" in message and "redact_secrets" in message
    assert secret_tail(OPENAI_KEY) not in message
    assert err.value.findings[0].where == "interactions[1].response.body"
    assert path.read_bytes() == before  # nothing written, the previous file intact
    assert isinstance(err.value, replay.CassetteWriteError)


def test_allow_secrets_and_the_redact_hook(llm_server: LLMServer, tmp_path: Path) -> None:
    llm_server.script.gzip_json = False
    allowed = tmp_path / "allowed.yaml"
    with replay.use_cassette(allowed, record_mode="once", allow_secrets=True):
        _echo_key_request(llm_server, OPENAI_KEY)
    assert OPENAI_KEY in allowed.read_text()  # the user said so; the request side is still scrubbed
    assert replay.load_cassette(allowed).interactions[0].request.body.count(b"sk-proj-REDACTED") == 1

    redacted = tmp_path / "redacted.yaml"
    with replay.use_cassette(redacted, record_mode="once", before_record_response=redact_secrets):
        live = _echo_key_request(llm_server, OPENAI_KEY)
    assert secret_tail(OPENAI_KEY) not in redacted.read_text()
    with replay.use_cassette(redacted):
        again = _echo_key_request(llm_server, OPENAI_KEY)
    assert live.json()["model"] == OPENAI_KEY
    assert again.json()["model"] == "sk-proj-REDACTED"  # what was written is what replays


def test_a_hook_that_puts_a_key_back_is_caught(llm_server: LLMServer, tmp_path: Path) -> None:
    path = tmp_path / "back.yaml"

    def put_back(req: Request) -> Request:
        return req.model_copy(update={"headers": [*req.headers, ("authorization", "Bearer " + OPENAI_KEY)]})

    with (
        pytest.raises(replay.SecretsFoundError, match=r"interactions\[0\]\.request\.headers\.authorization"),
        replay.use_cassette(path, record_mode="once", before_record_request=put_back),
    ):
        _echo_key_request(llm_server, "m")
    assert not path.exists()


def test_findings_cover_every_field(tmp_path: Path) -> None:
    interaction = Interaction(
        request=Request(
            method="POST",
            url=f"https://x.test/v1?key={GOOGLE_KEY}",
            headers=[("Authorization", "Bearer " + OPENAI_KEY)],
            body=json.dumps({"api_key": "x", "text": GROQ_KEY}).encode(),
        ),
        response=Response(
            status=200,
            headers=[("set-cookie", "a=b; Path=/")],
            chunks=[
                Chunk(t=0.1, data=b"data: x\n\n"),
                Chunk(t=0.2, data=f"data: {ANTHROPIC_KEY}\n\n".encode()),
            ],
        ),
    )
    where = [f.where for f in Scrubber().findings([interaction])]
    assert where == [
        "interactions[0].request.url",
        "interactions[0].request.headers.authorization",
        "interactions[0].request.body",
        "interactions[0].request.body",
        "interactions[0].response.headers.set-cookie",
        "interactions[0].response.chunks[1]",
    ]
    clean = Scrubber().scrub_interaction(interaction)
    assert [f.where for f in Scrubber().findings([clean])] == ["interactions[0].response.chunks[1]"]
    assert Scrubber(allow_secrets=True).check([interaction], tmp_path / "x.yaml") is None


# -- pytest plugin ---------------------------------------------------------------------------


def test_plugin_marker_and_replay_config_carry_the_rules(
    pytester: pytest.Pytester, llm_server: LLMServer
) -> None:
    pytester.makeconftest(
        """
        import pytest

        @pytest.fixture
        def replay_config():
            return {"filter_headers": ["x-team-secret"]}
        """
    )
    pytester.makepyfile(
        test_rules=f"""
        import httpx2, pytest

        URL = "{llm_server.base_url}/v1/chat/completions"

        @pytest.mark.replay(filter_body_fields=["user_email"])
        def test_chat():
            with httpx2.Client() as client:
                r = client.post(
                    URL, headers={{"x-team-secret": "s3"}}, json={{"model": "m", "user_email": "a@b"}}
                )
            assert r.status_code == 200
        """
    )
    result = pytester.runpytest("--replay-record-mode=once", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    text = (pytester.path / "cassettes" / "test_rules" / "test_chat.yaml").read_text()
    assert "x-team-secret: REDACTED" in text and "user_email: REDACTED" in text and "a@b" not in text
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)


def test_plugin_reports_a_refused_write_as_an_error(pytester: pytest.Pytester, llm_server: LLMServer) -> None:
    llm_server.script.gzip_json = False
    pytester.makepyfile(
        test_leak=f"""
        import httpx2, pytest

        @pytest.mark.replay
        def test_echo():
            with httpx2.Client() as client:
                client.post("{llm_server.base_url}/v1/chat/completions", json={{"model": "{OPENAI_KEY}"}})
        """
    )
    result = pytester.runpytest("--replay-record-mode=once", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(
        [
            "*SecretsFoundError: Refusing to write *test_echo.yaml*",
            "*interactions[[]0[]].response.body: an OpenAI API key*",
        ]
    )
    assert not (pytester.path / "cassettes" / "test_leak" / "test_echo.yaml").exists()


KEYISH = st.sampled_from(
    [
        "sk-",
        "proj-",
        "ant-api03-",
        "gsk_",
        "AIza",
        "ya29.",
        "eyJ",
        "hf_",
        "xox",
        "sk_live_",
        "rk_test_",
        "Bearer ",
        "BEARER\t",
        ".",
        "a",
        "Z",
        "0",
        "9",
        "_",
        "-",
        " ",
        '"',
        "=",
        "x" * 20,
        "7" * 12,
        "Ab3dE5gH7j",
    ]
)


@settings(max_examples=500, deadline=None)
@given(st.lists(KEYISH, max_size=40).map("".join))
def test_the_fast_key_scan_finds_exactly_what_the_full_pattern_finds(text: str) -> None:
    from replay.scrub.patterns import _KEYS, _key_matches

    full = [(m.start(), m.end()) for m in _KEYS.finditer(text)]
    assert [(start, end) for start, _, end, _ in _key_matches(text)] == full
