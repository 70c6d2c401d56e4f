"""Realistic provider payloads for tests: responses, stream events and error bodies.

One builder per wire format and shape, each returning exactly what the
provider sends (field names, nesting and the incidental fields included),
so tests exercise the same parsing paths live traffic does:

- OpenAI chat completions: :func:`openai_completion`, :func:`openai_stream_events`,
  :func:`openai_error`.
- Anthropic messages: :func:`anthropic_message`, :func:`anthropic_stream_events`,
  :func:`anthropic_error`.
- Gemini generateContent: :func:`gemini_response`, :func:`gemini_stream_events`,
  :func:`gemini_error`.

Tool calls are given as :class:`exllm_py.types.ToolCall` values (Gemini,
which has no call ids, ignores ``id``). Streams are lists of
:class:`SSEEvent`, which :class:`~tests.fakes.provider_server.ProviderServer`
sends one flushed write at a time.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import attrs
import orjson

from exllm_py.types import ToolCall

__all__ = [
    "SSEEvent",
    "anthropic_error",
    "anthropic_message",
    "anthropic_stream_events",
    "gemini_error",
    "gemini_response",
    "gemini_stream_events",
    "openai_completion",
    "openai_error",
    "openai_stream_events",
    "text_pieces",
]

_CREATED = 1_700_000_000


@attrs.frozen
class SSEEvent:
    """One server-sent event: ``data`` is JSON-encoded unless it is a ``str`` (sent verbatim)."""

    data: Any
    event: str | None = None

    def encode(self) -> bytes:
        """The event as it goes over the wire, blank line included."""
        data = self.data if isinstance(self.data, str) else orjson.dumps(self.data).decode()
        lines = [f"event: {self.event}"] if self.event else []
        lines.extend(f"data: {line}" for line in data.split("\n"))
        return ("\n".join(lines) + "\n\n").encode()

    def json(self) -> Any:
        """The decoded data (for assertions on builder output)."""
        return orjson.loads(self.data) if isinstance(self.data, str) else self.data


def text_pieces(text: str) -> list[str]:
    """``text`` cut the way providers stream it: words with their leading whitespace."""
    pieces = re.findall(r"\s*\S+", text)
    rest = text[len("".join(pieces)) :]
    return [*pieces, rest] if rest else pieces or [text]


def _words(text: str | None) -> int:
    return len((text or "").split())


def _json_text(arguments: Any) -> str:
    return orjson.dumps(dict(arguments)).decode()


# -- OpenAI ------------------------------------------------------------------------------


def openai_completion(
    content: str | None = "Hello!",
    *,
    model: str = "gpt-4o-mini-2024-07-18",
    id: str = "chatcmpl-test123",
    tool_calls: Sequence[ToolCall] = (),
    finish_reason: str | None = None,
    prompt_tokens: int = 10,
    completion_tokens: int | None = None,
) -> dict[str, Any]:
    """A ``chat.completion`` body; ``finish_reason`` defaults to ``tool_calls`` or ``stop``."""
    message: dict[str, Any] = {"role": "assistant", "content": content, "refusal": None}
    if tool_calls:
        message["tool_calls"] = [
            {
                "id": call.id,
                "type": "function",
                "function": {"name": call.name, "arguments": _json_text(call.arguments)},
            }
            for call in tool_calls
        ]
    completion = _words(content) if completion_tokens is None else completion_tokens
    return {
        "id": id,
        "object": "chat.completion",
        "created": _CREATED,
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": message,
                "logprobs": None,
                "finish_reason": finish_reason or ("tool_calls" if tool_calls else "stop"),
            }
        ],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion,
            "total_tokens": prompt_tokens + completion,
        },
        "system_fingerprint": "fp_test",
    }


def openai_stream_events(
    content: str | None = "Hello!",
    *,
    model: str = "gpt-4o-mini-2024-07-18",
    id: str = "chatcmpl-test123",
    tool_calls: Sequence[ToolCall] = (),
    finish_reason: str | None = None,
    include_usage: bool = True,
    prompt_tokens: int = 10,
    completion_tokens: int | None = None,
) -> list[SSEEvent]:
    """``chat.completion.chunk`` events: role, text, tool-call deltas, finish, usage, ``[DONE]``."""
    envelope: dict[str, Any] = {
        "id": id,
        "object": "chat.completion.chunk",
        "created": _CREATED,
        "model": model,
        "system_fingerprint": "fp_test",
    }
    if include_usage:
        envelope["usage"] = None  # every chunk but the last carries a null usage

    def chunk(delta: dict[str, Any], finish: str | None = None) -> SSEEvent:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
        return SSEEvent({**envelope, "choices": [choice]})

    events = [chunk({"role": "assistant", "content": "", "refusal": None})]
    events.extend(chunk({"content": piece}) for piece in text_pieces(content or ""))
    for index, call in enumerate(tool_calls):
        arguments = _json_text(call.arguments)
        half = len(arguments) // 2
        start = {"index": index, "id": call.id, "type": "function"}
        events.append(chunk({"tool_calls": [{**start, "function": {"name": call.name}}]}))
        events.extend(
            chunk({"tool_calls": [{"index": index, "function": {"arguments": piece}}]})
            for piece in (arguments[:half], arguments[half:])
        )
    events.append(chunk({}, finish_reason or ("tool_calls" if tool_calls else "stop")))
    if include_usage:
        completion = _words(content) if completion_tokens is None else completion_tokens
        usage = {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion,
            "total_tokens": prompt_tokens + completion,
        }
        events.append(SSEEvent({**envelope, "choices": [], "usage": usage}))
    events.append(SSEEvent("[DONE]"))
    return events


def openai_error(
    message: str, *, type: str = "invalid_request_error", code: str | None = None
) -> dict[str, Any]:
    """An OpenAI error body."""
    return {"error": {"message": message, "type": type, "param": None, "code": code}}


# -- Anthropic ---------------------------------------------------------------------------


def _anthropic_usage(input_tokens: int, output_tokens: int) -> dict[str, Any]:
    return {
        "input_tokens": input_tokens,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 0,
        "output_tokens": output_tokens,
    }


def anthropic_message(
    content: str | None = "Hello!",
    *,
    model: str = "claude-3-5-haiku-20241022",
    id: str = "msg_test123",
    tool_calls: Sequence[ToolCall] = (),
    stop_reason: str | None = None,
    input_tokens: int = 10,
    output_tokens: int | None = None,
) -> dict[str, Any]:
    """A Messages API ``message`` body; ``stop_reason`` defaults to ``tool_use`` or ``end_turn``."""
    blocks: list[dict[str, Any]] = [{"type": "text", "text": content}] if content else []
    blocks.extend(
        {"type": "tool_use", "id": call.id, "name": call.name, "input": dict(call.arguments)}
        for call in tool_calls
    )
    output = _words(content) if output_tokens is None else output_tokens
    return {
        "id": id,
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": blocks,
        "stop_reason": stop_reason or ("tool_use" if tool_calls else "end_turn"),
        "stop_sequence": None,
        "usage": _anthropic_usage(input_tokens, output),
    }


def anthropic_stream_events(
    content: str | None = "Hello!",
    *,
    model: str = "claude-3-5-haiku-20241022",
    id: str = "msg_test123",
    tool_calls: Sequence[ToolCall] = (),
    stop_reason: str | None = None,
    input_tokens: int = 10,
    output_tokens: int | None = None,
) -> list[SSEEvent]:
    """Named events: message_start, a ping, one block per text/tool call, message_delta, stop."""

    def event(name: str, **fields: Any) -> SSEEvent:
        return SSEEvent({"type": name, **fields}, event=name)

    start = {**anthropic_message(None, model=model, id=id, input_tokens=input_tokens)}
    start.update(content=[], stop_reason=None, usage=_anthropic_usage(input_tokens, 1))
    events = [event("message_start", message=start)]
    index = 0
    if content:
        events.append(
            event("content_block_start", index=0, content_block={"type": "text", "text": ""})
        )
        events.append(event("ping"))
        events.extend(
            event("content_block_delta", index=0, delta={"type": "text_delta", "text": piece})
            for piece in text_pieces(content)
        )
        events.append(event("content_block_stop", index=0))
        index = 1
    else:
        events.append(event("ping"))
    for offset, call in enumerate(tool_calls, start=index):
        block = {"type": "tool_use", "id": call.id, "name": call.name, "input": {}}
        events.append(event("content_block_start", index=offset, content_block=block))
        arguments = _json_text(call.arguments)
        half = len(arguments) // 2
        events.extend(
            event(
                "content_block_delta",
                index=offset,
                delta={"type": "input_json_delta", "partial_json": piece},
            )
            for piece in ("", arguments[:half], arguments[half:])
        )
        events.append(event("content_block_stop", index=offset))
    output = _words(content) if output_tokens is None else output_tokens
    delta = {"stop_reason": stop_reason or ("tool_use" if tool_calls else "end_turn")}
    events.append(
        event(
            "message_delta",
            delta={**delta, "stop_sequence": None},
            usage={"output_tokens": output},
        )
    )
    events.append(event("message_stop"))
    return events


def anthropic_error(message: str, *, type: str = "invalid_request_error") -> dict[str, Any]:
    """An Anthropic error body (also the payload of a streamed ``error`` event)."""
    return {"type": "error", "error": {"type": type, "message": message}}


# -- Gemini ------------------------------------------------------------------------------


def _gemini_usage(prompt_tokens: int, candidates_tokens: int | None) -> dict[str, Any]:
    usage: dict[str, Any] = {"promptTokenCount": prompt_tokens}
    if candidates_tokens is not None:
        usage["candidatesTokenCount"] = candidates_tokens
    usage["totalTokenCount"] = prompt_tokens + (candidates_tokens or 0)
    usage["promptTokensDetails"] = [{"modality": "TEXT", "tokenCount": prompt_tokens}]
    return usage


def _gemini_chunk(
    parts: list[dict[str, Any]],
    *,
    model: str,
    response_id: str,
    usage: dict[str, Any],
    finish_reason: str | None,
) -> dict[str, Any]:
    candidate: dict[str, Any] = {"content": {"parts": parts, "role": "model"}}
    if finish_reason:
        candidate["finishReason"] = finish_reason
    candidate["index"] = 0
    return {
        "candidates": [candidate],
        "usageMetadata": usage,
        "modelVersion": model,
        "responseId": response_id,
    }


def _function_call_parts(tool_calls: Sequence[ToolCall]) -> list[dict[str, Any]]:
    return [{"functionCall": {"name": c.name, "args": dict(c.arguments)}} for c in tool_calls]


def gemini_response(
    content: str | None = "Hello!",
    *,
    model: str = "gemini-2.0-flash",
    response_id: str = "resp-test123",
    tool_calls: Sequence[ToolCall] = (),
    finish_reason: str = "STOP",
    prompt_tokens: int = 10,
    candidates_tokens: int | None = None,
) -> dict[str, Any]:
    """A ``GenerateContentResponse`` body with one candidate."""
    parts = [{"text": content}] if content else []
    parts.extend(_function_call_parts(tool_calls))
    output = _words(content) if candidates_tokens is None else candidates_tokens
    return _gemini_chunk(
        parts,
        model=model,
        response_id=response_id,
        usage=_gemini_usage(prompt_tokens, output),
        finish_reason=finish_reason,
    )


def gemini_stream_events(
    content: str | None = "Hello!",
    *,
    model: str = "gemini-2.0-flash",
    response_id: str = "resp-test123",
    tool_calls: Sequence[ToolCall] = (),
    finish_reason: str = "STOP",
    prompt_tokens: int = 10,
    candidates_tokens: int | None = None,
) -> list[SSEEvent]:
    """``alt=sse`` events: one response chunk per text piece, the last with finish and usage.

    Without ``alt=sse`` Gemini sends the same chunks as one JSON array:
    ``[event.data for event in gemini_stream_events(...)]``.
    """
    pieces = text_pieces(content) if content else []
    output = _words(content) if candidates_tokens is None else candidates_tokens
    chunks = [[{"text": piece}] for piece in pieces] or [[]]
    chunks[-1] = chunks[-1] + _function_call_parts(tool_calls)
    last = len(chunks) - 1
    return [
        SSEEvent(
            _gemini_chunk(
                parts,
                model=model,
                response_id=response_id,
                usage=_gemini_usage(prompt_tokens, output if i == last else None),
                finish_reason=finish_reason if i == last else None,
            )
        )
        for i, parts in enumerate(chunks)
    ]


def gemini_error(
    message: str,
    *,
    code: int = 400,
    status: str = "INVALID_ARGUMENT",
    details: Sequence[dict[str, Any]] = (),
) -> dict[str, Any]:
    """A Google API error body (``details`` for e.g. ``RetryInfo``)."""
    error: dict[str, Any] = {"code": code, "message": message, "status": status}
    if details:
        error["details"] = list(details)
    return {"error": error}
