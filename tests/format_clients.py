"""Drive each API's real SDK against a base URL and report what the application saw.

boto3 sends through urllib3, which llm-replay does not intercept yet; :func:`boto3_client`
routes its requests through an httpx client instead (botocore's documented ``before-send``
event lets a handler answer a request), so boto3's own event-stream parser and models run on
the bytes llm-replay serves. Transport errors are raised as urllib3 would raise them, so
botocore sees what it sees live.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx

__all__ = ["CASES", "Case", "Seen", "boto3_client", "run_case"]

PROMPT = [{"role": "user", "content": "Say hello"}]


@dataclass
class Seen:
    """What the application observed."""

    text: str = ""
    finish: str | None = None
    usage: tuple[int, int] | None = None
    items: int = 0
    error: str | None = None  # the exception's class, module-qualified
    events: list[str] = field(default_factory=list)


class _RawStream:
    """The ``raw`` botocore reads a body from (urllib3's shape), over an httpx response."""

    def __init__(self, response: httpx.Response) -> None:
        self._response = response

    def stream(self, amt: int | None = None, decode_content: bool | None = None) -> Iterator[bytes]:
        import urllib3.exceptions as u3

        try:
            yield from self._response.iter_bytes()
        except httpx.ReadTimeout as exc:
            raise u3.ReadTimeoutError(None, None, str(exc)) from exc  # type: ignore[arg-type]
        except (httpx.RemoteProtocolError, httpx.ReadError) as exc:
            raise u3.ProtocolError(str(exc), exc) from exc

    def read(self, amt: int | None = None) -> bytes:
        return b"".join(self.stream())

    def close(self) -> None:
        self._response.close()


def boto3_client(endpoint: str, http: httpx.Client) -> Any:
    """A real boto3 ``bedrock-runtime`` client whose requests go through ``http``."""
    import boto3
    from botocore.awsrequest import AWSResponse
    from botocore.config import Config

    client = boto3.client(
        "bedrock-runtime",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="AKIAIOSFODNN7EXAMPLE",
        aws_secret_access_key="wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        config=Config(retries={"max_attempts": 1, "mode": "standard"}),
    )

    def send(request: Any, **_: Any) -> AWSResponse:
        built = http.build_request(
            request.method, request.url, headers=dict(request.headers), content=request.body
        )
        response = http.send(built, stream=True)
        return AWSResponse(request.url, response.status_code, dict(response.headers), _RawStream(response))

    client.meta.events.register("before-send.bedrock-runtime.*", send)
    return client


def _ollama(base: str, generate: bool, timeout: float) -> Seen:
    import ollama

    client = ollama.Client(host=base, timeout=timeout)
    seen = Seen()
    try:
        parts = (
            client.generate(model="llama3.2", prompt="Say hello", stream=True)
            if generate
            else client.chat(model="llama3.2", messages=PROMPT, stream=True)
        )
        for part in parts:
            seen.items += 1
            seen.text += part.response if generate else (part.message.content or "")
            if part.done:
                seen.finish = part.done_reason
                seen.usage = (part.prompt_eval_count or 0, part.eval_count or 0)
    finally:
        client._client.close()
    return seen


def _gemini(base: str, timeout: float) -> Seen:
    from google import genai

    client = genai.Client(api_key="test-key", http_options={"base_url": base, "timeout": int(timeout * 1000)})
    seen = Seen()
    with client:
        for chunk in client.models.generate_content_stream(model="gemini-2.0-flash", contents="Say hello"):
            seen.items += 1
            seen.text += chunk.text or ""
            candidate = (chunk.candidates or [None])[0]
            if candidate is not None and candidate.finish_reason is not None:
                seen.finish = str(candidate.finish_reason.value)
            if chunk.usage_metadata is not None:
                meta = chunk.usage_metadata
                seen.usage = (meta.prompt_token_count or 0, meta.candidates_token_count or 0)
    return seen


def _gemini_array(base: str, timeout: float) -> Seen:
    """The JSON-array form (no SDK asks for it): a raw client parses the whole array."""
    url = base + "/v1beta/models/gemini-2.0-flash:streamGenerateContent"
    seen = Seen()
    with httpx.Client(timeout=timeout) as client:
        response = client.post(url, json={"contents": [{"parts": [{"text": "Say hello"}]}]})
    for chunk in json.loads(response.content):
        seen.items += 1
        if "error" in chunk:
            seen.error = "gemini-error-element"
            continue
        candidate = chunk["candidates"][0]
        seen.text += "".join(p.get("text", "") for p in candidate.get("content", {}).get("parts", []))
        seen.finish = candidate.get("finishReason", seen.finish)
        meta = chunk["usageMetadata"]
        seen.usage = (meta["promptTokenCount"], meta["candidatesTokenCount"])
    return seen


def _converse(base: str, timeout: float) -> Seen:
    seen = Seen()
    with httpx.Client(timeout=timeout) as http:
        client = boto3_client(base, http)
        response = client.converse_stream(
            modelId="amazon.nova-lite-v1:0", messages=[{"role": "user", "content": [{"text": "Say hello"}]}]
        )
        for event in response["stream"]:
            seen.items += 1
            (name,) = event
            seen.events.append(name)
            if name == "contentBlockDelta":
                seen.text += event[name]["delta"].get("text", "")
            elif name == "messageStop":
                seen.finish = event[name]["stopReason"]
            elif name == "metadata":
                seen.usage = (event[name]["usage"]["inputTokens"], event[name]["usage"]["outputTokens"])
    return seen


def _invoke(base: str, timeout: float) -> Seen:
    seen = Seen()
    body = json.dumps({"anthropic_version": "bedrock-2023-05-31", "max_tokens": 64, "messages": PROMPT})
    with httpx.Client(timeout=timeout) as http:
        client = boto3_client(base, http)
        response = client.invoke_model_with_response_stream(modelId="anthropic.claude-3-haiku", body=body)
        for event in response["body"]:
            seen.items += 1
            inner = json.loads(event["chunk"]["bytes"])
            seen.events.append(inner["type"])
            if inner["type"] == "content_block_delta":
                seen.text += inner["delta"].get("text", "")
            elif inner["type"] == "message_delta":
                seen.finish = inner["delta"]["stop_reason"]
                seen.usage = (8, inner["usage"]["output_tokens"])
    return seen


def _responses(base: str, timeout: float) -> Seen:
    import openai

    client = openai.OpenAI(base_url=base + "/v1", api_key="sk-test-key", max_retries=0, timeout=timeout)
    with client, client.responses.create(model="gpt-4o-mini", input="Say hello", stream=True) as stream:
        seen = _responses_events(stream)
    return seen


def _responses_events(stream: Any) -> Seen:
    seen = Seen()
    for event in stream:
        seen.items += 1
        seen.events.append(event.type)
        if event.type == "response.output_text.delta":
            seen.text += event.delta
        elif event.type in ("response.completed", "response.incomplete"):
            details = event.response.incomplete_details
            seen.finish = details.reason if details is not None else event.response.status
            usage = event.response.usage
            seen.usage = (usage.input_tokens, usage.output_tokens) if usage is not None else None
        elif event.type == "error":
            seen.error = "responses-error-event"
    return seen


@dataclass(frozen=True)
class Case:
    """One API's stream: its framing and the SDK call (or raw client) that reads it."""

    name: str
    framing: str
    run: Callable[[str, float], Seen]


CASES = [
    Case("ollama-chat", "ndjson", lambda b, t: _ollama(b, False, t)),
    Case("ollama-generate", "ndjson", lambda b, t: _ollama(b, True, t)),
    Case("gemini-sse", "sse", _gemini),
    Case("gemini-json-array", "json-array", _gemini_array),
    Case("bedrock-converse-stream", "eventstream", _converse),
    Case("bedrock-invoke-stream", "eventstream", _invoke),
    Case("openai-responses", "sse", _responses),
]


def run_case(case: Case, base: str, timeout: float = 30.0) -> Seen:
    """Run the case's SDK call; an exception becomes ``Seen.error`` (its module and class)."""
    try:
        return case.run(base, timeout)
    except Exception as exc:
        return Seen(error=f"{type(exc).__module__}.{type(exc).__name__}")
