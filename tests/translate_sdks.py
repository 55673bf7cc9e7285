"""Drive each provider's real SDK against a translated recording and report what it assembled.

Each runner takes the request body in its API's wire format (the source conversation encoded by
that API's codec, so it matches the recording through the ``chat`` matcher) and returns a
:class:`Seen`: assembled text, reasoning, tool calls, finish reason, usage, and the clock offset
(``time.monotonic()`` after the call started: virtual time inside a cassette) of every content
event the SDK yielded.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import botocore.session
from botocore.parsers import create_parser
from botocore.validate import validate_parameters

from replay import Response

__all__ = ["RUNNERS", "Seen", "bedrock_parse", "gemini_config"]


@dataclass
class Seen:
    text: str = ""
    reasoning: str = ""
    calls: list[tuple[str, Any]] = field(default_factory=list)  # (name, decoded arguments)
    finish: str | None = None
    usage: tuple[int, int] = (0, 0)
    # (offset, kind, payload): kind "text", "reasoning", "args" (a fragment) or "call" (whole)
    marks: list[tuple[float, str, Any]] = field(default_factory=list)


class _Clock:
    def __init__(self) -> None:
        self.t0 = time.monotonic()

    def __call__(self) -> float:
        return time.monotonic() - self.t0


# The streamed deltas each SDK marks (as text, reasoning or tool-call arguments) and where the
# delta's text is: Anthropic's content_block_delta by its delta's type, Responses by event type.
_ANTHROPIC_MARKS = {
    "text_delta": ("text", "text"),
    "thinking_delta": ("reasoning", "thinking"),
    "input_json_delta": ("args", "partial_json"),
}
_RESPONSES_MARKS = {
    "response.output_text.delta": "text",
    "response.reasoning_text.delta": "reasoning",
    "response.function_call_arguments.delta": "args",
}


def run_anthropic(body: dict[str, Any]) -> Seen:
    import anthropic

    client = anthropic.Anthropic(api_key="sk-ant-test", base_url="https://api.anthropic.com", max_retries=0)
    seen, clock = Seen(), _Clock()
    kwargs = {k: body[k] for k in ("model", "max_tokens", "messages", "system", "tools") if k in body}
    with client.messages.stream(**kwargs) as stream:
        for event in stream:
            mark = _ANTHROPIC_MARKS.get(event.delta.type) if event.type == "content_block_delta" else None
            if mark is not None:
                seen.marks.append((clock(), mark[0], getattr(event.delta, mark[1])))
        message = stream.get_final_message()
    for block in message.content:
        if block.type == "text":
            seen.text += block.text
        elif block.type == "thinking":
            seen.reasoning += block.thinking
        elif block.type == "tool_use":
            seen.calls.append((block.name, block.input))
    seen.finish = message.stop_reason
    seen.usage = (message.usage.input_tokens, message.usage.output_tokens)
    return seen


def run_openai_chat(body: dict[str, Any]) -> Seen:
    import openai

    client = openai.OpenAI(api_key="sk-test", max_retries=0)
    seen, clock = Seen(), _Clock()
    kwargs = {k: body[k] for k in ("model", "messages", "tools") if k in body}
    args: dict[int, list[str]] = {}
    for chunk in client.chat.completions.create(
        **kwargs, stream=True, stream_options={"include_usage": True}
    ):
        if chunk.usage is not None:
            seen.usage = (chunk.usage.prompt_tokens, chunk.usage.completion_tokens)
        for choice in chunk.choices:
            delta = choice.delta
            reasoning = (delta.model_extra or {}).get("reasoning_content")
            if reasoning:
                seen.marks.append((clock(), "reasoning", reasoning))
                seen.reasoning += reasoning
            if delta.content:
                seen.marks.append((clock(), "text", delta.content))
                seen.text += delta.content
            for call in delta.tool_calls or []:
                entry = args.setdefault(call.index, ["", ""])
                if call.function and call.function.name:
                    entry[0] = call.function.name
                if call.function and call.function.arguments:
                    seen.marks.append((clock(), "args", call.function.arguments))
                    entry[1] += call.function.arguments
            seen.finish = choice.finish_reason or seen.finish
    seen.calls = [(name, json.loads(text)) for _, (name, text) in sorted(args.items())]
    return seen


def run_openai_responses(body: dict[str, Any]) -> Seen:
    import openai

    client = openai.OpenAI(api_key="sk-test", max_retries=0)
    seen, clock = Seen(), _Clock()
    kwargs = {k: body[k] for k in ("model", "input", "instructions", "tools") if k in body}
    with client.responses.stream(**kwargs) as stream:
        for event in stream:
            kind = _RESPONSES_MARKS.get(event.type)
            if kind is not None:
                seen.marks.append((clock(), kind, event.delta))
        final = stream.get_final_response()
    for item in final.output:
        if item.type == "message":
            seen.text += "".join(part.text for part in item.content if part.type == "output_text")
        elif item.type == "reasoning":
            seen.reasoning += "".join(part.text for part in item.content or [])
        elif item.type == "function_call":
            seen.calls.append((item.name, json.loads(item.arguments)))
    seen.finish = final.status
    assert final.usage is not None
    seen.usage = (final.usage.input_tokens, final.usage.output_tokens)
    return seen


def gemini_config(body: dict[str, Any]) -> Any:
    """The ``GenerateContentConfig`` carrying the wire body's tools and system instruction."""
    from google.genai import types

    decls = [
        types.FunctionDeclaration(
            name=f["name"], description=f["description"], parameters_json_schema=f["parameters"]
        )
        for t in body.get("tools", [])
        for f in t["functionDeclarations"]
    ]
    system = body.get("systemInstruction", {}).get("parts", [{}])[0].get("text")
    return types.GenerateContentConfig(
        tools=[types.Tool(function_declarations=decls)] if decls else None, system_instruction=system
    )


def run_gemini(body: dict[str, Any]) -> Seen:
    from google import genai

    client = genai.Client(
        api_key="gemini-test", http_options={"base_url": "https://generativelanguage.googleapis.com"}
    )
    seen, clock = Seen(), _Clock()
    config = gemini_config(body)
    model = body["_model"]
    for chunk in client.models.generate_content_stream(model=model, contents=body["contents"], config=config):
        candidate = chunk.candidates[0] if chunk.candidates else None
        for part in (candidate.content.parts if candidate and candidate.content else None) or []:
            if part.function_call is not None:
                call = (part.function_call.name, part.function_call.args)
                seen.marks.append((clock(), "call", call))
                seen.calls.append(call)
            elif part.text and part.thought:
                seen.marks.append((clock(), "reasoning", part.text))
                seen.reasoning += part.text
            elif part.text:
                seen.marks.append((clock(), "text", part.text))
                seen.text += part.text
        if candidate is not None and candidate.finish_reason is not None:
            seen.finish = candidate.finish_reason.value
        if chunk.usage_metadata is not None:
            seen.usage = (
                chunk.usage_metadata.prompt_token_count or 0,
                chunk.usage_metadata.candidates_token_count or 0,
            )
    return seen


def run_ollama(body: dict[str, Any]) -> Seen:
    import ollama

    client = ollama.Client(host="http://localhost:11434")
    seen, clock = Seen(), _Clock()
    for part in client.chat(
        model=body["model"], messages=body["messages"], tools=body.get("tools"), stream=True
    ):
        message = part.message
        if message.thinking:
            seen.marks.append((clock(), "reasoning", message.thinking))
            seen.reasoning += message.thinking
        if message.content:
            seen.marks.append((clock(), "text", message.content))
            seen.text += message.content
        for call in message.tool_calls or []:
            entry = (call.function.name, dict(call.function.arguments))
            seen.marks.append((clock(), "call", entry))
            seen.calls.append(entry)
        if part.done:
            seen.finish = part.done_reason
            seen.usage = (part.prompt_eval_count or 0, part.eval_count or 0)
    return seen


class _Reads:
    """A raw body for botocore that remembers the ``t`` of the read it is serving."""

    def __init__(self, response: Response) -> None:
        self.response = response
        self.t = 0.0

    def stream(self, **_: Any) -> Iterator[bytes]:
        for t, data in ((c.t, c.data) for c in self.response.chunks):
            self.t = t
            yield data

    def close(self) -> None:
        return None


def bedrock_parse(body: dict[str, Any], model: str, response: Response) -> Seen:
    """botocore's own request validation, event-stream parser and response parser on the bytes.

    boto3 sends with urllib3, which replay does not intercept in-process yet; this is what
    boto3 runs on a ``ConverseStream`` answer, minus the socket. Offsets are the ``t`` of the
    read that completed each event (what a client reading the recorded reads would see).
    """
    model_ = botocore.session.get_session().get_service_model("bedrock-runtime")
    operation = model_.operation_model("ConverseStream")
    validate_parameters({**body, "modelId": model}, operation.input_shape)  # raises on an invalid request
    reads = _Reads(response)
    raw = {
        "context": {"operation_name": "ConverseStream"},
        "status_code": response.status,
        "headers": dict(response.headers),
        "body": reads,
    }
    parsed = create_parser("rest-json").parse(raw, operation.output_shape)
    seen = Seen()
    tools: dict[int, list[str]] = {}
    for event in parsed["stream"]:
        if "contentBlockStart" in event:
            start = event["contentBlockStart"]
            tools[start["contentBlockIndex"]] = [start["start"]["toolUse"]["name"], ""]
        elif "contentBlockDelta" in event:
            delta, index = (
                event["contentBlockDelta"]["delta"],
                event["contentBlockDelta"]["contentBlockIndex"],
            )
            if "text" in delta:
                seen.marks.append((reads.t, "text", delta["text"]))
                seen.text += delta["text"]
            elif "reasoningContent" in delta:
                seen.marks.append((reads.t, "reasoning", delta["reasoningContent"]["text"]))
                seen.reasoning += delta["reasoningContent"]["text"]
            elif "toolUse" in delta:
                seen.marks.append((reads.t, "args", delta["toolUse"]["input"]))
                tools[index][1] += delta["toolUse"]["input"]
        elif "messageStop" in event:
            seen.finish = event["messageStop"]["stopReason"]
        elif "metadata" in event:
            usage = event["metadata"]["usage"]
            seen.usage = (usage["inputTokens"], usage["outputTokens"])
    seen.calls = [(name, json.loads(text)) for _, (name, text) in sorted(tools.items())]
    return seen


RUNNERS = {
    "anthropic-messages": run_anthropic,
    "openai-chat": run_openai_chat,
    "openai-responses": run_openai_responses,
    "gemini": run_gemini,
    "ollama-chat": run_ollama,
}
