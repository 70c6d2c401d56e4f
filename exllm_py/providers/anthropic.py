"""The Anthropic Messages API wire format: ``POST {base_url}/v1/messages``.

OpenAI-shaped input is translated: system messages and the ``system``
option become the top-level ``system`` field, content parts become content
blocks, assistant ``tool_calls`` become ``tool_use`` blocks and tool
messages ``tool_result`` blocks (consecutive same-role turns are merged, as
the API wants user and assistant turns to alternate). ``max_tokens`` is
required by the API and defaults to :data:`DEFAULT_MAX_TOKENS`.

Options the API has no equivalent for: ``seed``, ``frequency_penalty`` and
``presence_penalty`` tune sampling only and are left out; ``n`` > 1 and a
JSON ``response_format`` change what the caller gets back, so asking for
them is a :class:`~exllm_py.errors.ValidationError`.

Finish reasons are reported in the common vocabulary of
:mod:`~exllm_py.providers.finish`; ``metadata["native_finish_reason"]``
keeps Anthropic's own. Thinking blocks become ``reasoning``, never ``content``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import attrs
import httpx

from exllm_py.errors import ValidationError
from exllm_py.providers.config import ProviderConfig
from exllm_py.providers.finish import (
    ANTHROPIC_FINISH_REASONS,
    chunk_metadata,
    finish_reason,
    response_metadata,
)
from exllm_py.providers.http_errors import stream_error
from exllm_py.providers.sse import ServerSentEvent
from exllm_py.providers.wire import (
    decode_arguments,
    decode_event,
    error_detail,
    image_url_of,
    json_request,
    split_data_url,
    system_prompt,
    unexpected_body,
)
from exllm_py.request import ChatRequest
from exllm_py.types import LLMResponse, StreamChunk, ToolCall, ToolCallDelta, Usage

__all__ = ["ANTHROPIC_VERSION", "DEFAULT_MAX_TOKENS", "AnthropicAdapter", "AnthropicStreamReader"]

#: The API version header every request carries.
ANTHROPIC_VERSION = "2023-06-01"
#: ``max_tokens`` sent when the caller gave none (the API requires one).
DEFAULT_MAX_TOKENS = 1024

# The HTTP status Anthropic documents for each error type, for errors sent mid-stream.
_ERROR_STATUS = {
    "invalid_request_error": 400,
    "authentication_error": 401,
    "permission_error": 403,
    "not_found_error": 404,
    "request_too_large": 413,
    "rate_limit_error": 429,
    "api_error": 500,
    "overloaded_error": 529,
}
_SILENT_EVENTS = frozenset({"ping", "content_block_stop", "message_stop"})


class AnthropicAdapter:
    """Messages API: ``x-api-key`` auth, content blocks, named SSE events."""

    __slots__ = ()

    #: The wire format's name, used for errors raised while reading a stream.
    name = "anthropic"

    def build_request(self, request: ChatRequest, config: ProviderConfig) -> httpx.Request:
        options = request.options
        _refuse_unsupported(options)
        max_tokens = options.get("max_tokens")
        body: dict[str, Any] = {
            "model": request.model,
            "max_tokens": DEFAULT_MAX_TOKENS if max_tokens is None else max_tokens,
            "messages": _turns(request.messages),
        }
        system = system_prompt(request)
        if system:
            body["system"] = system
        for option in ("temperature", "top_p"):
            if options.get(option) is not None:
                body[option] = options[option]
        stop = options.get("stop")
        if stop:
            body["stop_sequences"] = [stop] if isinstance(stop, str) else list(stop)
        if options.get("tools"):
            body["tools"] = [_tool(tool) for tool in options["tools"]]
        if options.get("tool_choice") is not None:
            body["tool_choice"] = _tool_choice(options["tool_choice"])
        if request.stream:
            body["stream"] = True
        headers = {"anthropic-version": ANTHROPIC_VERSION}
        if config.api_key:
            headers["x-api-key"] = config.api_key
        return json_request(_messages_url(config.base_url), body, headers, stream=request.stream)

    def parse_response(self, body: Any, config: ProviderConfig) -> LLMResponse:
        blocks = body.get("content") if isinstance(body, Mapping) else None
        if not isinstance(blocks, list):
            raise unexpected_body(config.name, body, "a 'content' list of blocks")
        blocks = [block for block in blocks if isinstance(block, Mapping)]
        native = body.get("stop_reason")
        return LLMResponse(
            content="".join(str(b.get("text", "")) for b in blocks if b.get("type") == "text"),
            model=str(body.get("model") or ""),
            provider=config.name,
            id=body.get("id"),
            finish_reason=finish_reason(ANTHROPIC_FINISH_REASONS, native),
            tool_calls=tuple(
                ToolCall(
                    id=str(block.get("id") or ""),
                    name=str(block.get("name") or ""),
                    arguments=decode_arguments(block.get("input")),
                )
                for block in blocks
                if block.get("type") == "tool_use"
            ),
            usage=_usage(body.get("usage")),
            # Redacted thinking is encrypted: it has no text to show, ``raw`` keeps it.
            reasoning="".join(
                str(b.get("thinking", "")) for b in blocks if b.get("type") == "thinking"
            ),
            metadata=response_metadata(native),
            raw=body,
        )

    def stream_reader(self, provider: str, model: str) -> AnthropicStreamReader:
        return AnthropicStreamReader(provider, model)

    def error_message(self, body: Any) -> str:
        return error_detail(body)


class AnthropicStreamReader:
    """One Messages stream: named events, content blocks opened, filled by deltas, closed.

    It remembers which content blocks are tool calls (to number them as the
    non-streamed answer does), and the id, model and usage of
    ``message_start``, which carries nothing to show: its input counts reach
    the caller with the output counts, on the ``message_delta`` chunk.
    """

    __slots__ = ("_id", "_model", "_provider", "_tools", "_usage")

    def __init__(self, provider: str, model: str) -> None:
        self._provider = provider
        self._model = model
        self._id: str | None = None
        self._tools: dict[int, int] = {}  # content block index → tool call index
        self._usage: dict[str, Any] = {}

    def read(self, event: ServerSentEvent) -> StreamChunk | None:
        if event.event in _SILENT_EVENTS:
            return None
        payload = decode_event(event, self._provider)
        if not isinstance(payload, Mapping):
            return None
        kind = payload.get("type", event.event)
        if kind == "error":
            error = payload.get("error") or {}
            status = _ERROR_STATUS.get(str(error.get("type")))
            raise stream_error(self._provider, payload, status)
        if kind == "message_start":
            self._start(payload)
            return None
        if kind == "content_block_start":
            return self._block_start(payload)
        if kind == "content_block_delta":
            return self._delta(payload)
        if kind == "message_delta":
            return self._finish(payload)
        # Event types this reader does not know yet carry nothing it could show.
        return None

    def _count(self, usage: Any) -> None:
        # message_delta's counts are cumulative and may repeat message_start's;
        # a field sent as null there leaves the earlier count standing.
        if isinstance(usage, Mapping):
            self._usage.update((k, v) for k, v in usage.items() if v is not None)

    def _chunk(self, payload: Mapping[str, Any], **fields: Any) -> StreamChunk:
        return StreamChunk(
            raw=payload, id=self._id, model=self._model, provider=self._provider, **fields
        )

    def _start(self, payload: Mapping[str, Any]) -> None:
        # Nothing to show yet: the id and model name the chunks to come, and
        # the input counts join the output counts of message_delta.
        message = payload.get("message") or {}
        self._id = message.get("id") or self._id
        self._model = message.get("model") or self._model
        self._count(message.get("usage"))

    def _block_start(self, payload: Mapping[str, Any]) -> StreamChunk | None:
        block = payload.get("content_block") or {}
        kind = block.get("type")
        if kind == "tool_use":
            index = self._tools.setdefault(int(payload.get("index") or 0), len(self._tools))
            call = ToolCallDelta(index=index, id=block.get("id"), name=block.get("name"))
            return self._chunk(payload, tool_calls=(call,))
        if kind == "text" and block.get("text"):
            return self._chunk(payload, content=str(block["text"]))
        if kind == "thinking" and block.get("thinking"):
            return self._chunk(payload, reasoning=str(block["thinking"]))
        return None

    def _delta(self, payload: Mapping[str, Any]) -> StreamChunk | None:
        delta = payload.get("delta") or {}
        kind = delta.get("type")
        if kind == "text_delta":
            return self._chunk(payload, content=str(delta.get("text", "")))
        if kind == "thinking_delta":
            return self._chunk(payload, reasoning=str(delta.get("thinking", "")))
        if kind == "input_json_delta":
            index = self._tools.get(int(payload.get("index") or 0))
            if index is None:
                return None  # the input of a server tool (web search, …), not the caller's
            call = ToolCallDelta(index=index, arguments=str(delta.get("partial_json", "")))
            return self._chunk(payload, tool_calls=(call,))
        return None  # signature deltas and citations carry no text

    def _finish(self, payload: Mapping[str, Any]) -> StreamChunk:
        native = (payload.get("delta") or {}).get("stop_reason")
        self._count(payload.get("usage"))
        chunk = self._chunk(
            payload,
            finish_reason=finish_reason(ANTHROPIC_FINISH_REASONS, native),
            usage=_usage(self._usage),
        )
        metadata = chunk_metadata(native)
        return chunk if metadata is None else attrs.evolve(chunk, metadata=metadata)


def _messages_url(base_url: str) -> str:
    base = base_url.rstrip("/")
    # Accept a base URL given with or without the version segment.
    return f"{base}/messages" if base.endswith("/v1") else f"{base}/v1/messages"


def _refuse_unsupported(options: Mapping[str, Any]) -> None:
    n = options.get("n")
    if n is not None and n != 1:
        raise ValidationError(
            f"anthropic returns one answer per call, got n={n!r}; make {n} calls instead"
        )
    response_format = options.get("response_format")
    if isinstance(response_format, Mapping) and response_format.get("type") not in (None, "text"):
        raise ValidationError(
            f"anthropic has no response_format, got {response_format.get('type')!r}; "
            "ask for JSON in the prompt, or pass a tool with tool_choice to get structured output"
        )


def _turns(messages: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    turns: list[dict[str, Any]] = []
    for message in messages:
        role = message.get("role")
        if role in ("system", "developer"):
            continue  # carried by the top-level ``system`` field
        if role == "assistant":
            turn_role, blocks = "assistant", _assistant_blocks(message)
        elif role == "tool":
            turn_role, blocks = "user", [_tool_result(message)]
        else:
            turn_role, blocks = "user", _content_blocks(message.get("content"))
        if turns and turns[-1]["role"] == turn_role:
            turns[-1]["content"].extend(blocks)
        else:
            turns.append({"role": turn_role, "content": blocks})
    return [_simplified(turn) for turn in turns]


def _simplified(turn: dict[str, Any]) -> dict[str, Any]:
    # A lone text block is sent as a plain string, the API's simplest form.
    blocks = turn["content"]
    if len(blocks) == 1 and blocks[0].keys() == {"type", "text"} and blocks[0]["type"] == "text":
        return {"role": turn["role"], "content": blocks[0]["text"]}
    return turn


def _content_blocks(content: Any) -> list[dict[str, Any]]:
    if content is None:
        return []
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    blocks: list[dict[str, Any]] = []
    for part in content:
        kind = part.get("type")
        if kind == "text":
            blocks.append({"type": "text", "text": part.get("text", "")})
        elif kind == "image_url":
            blocks.append(_image_block(image_url_of(part)))
        else:
            blocks.append(dict(part))  # already an Anthropic block (document, image, ...)
    return blocks


def _image_block(url: str) -> dict[str, Any]:
    inline = split_data_url(url)
    if inline is None:
        return {"type": "image", "source": {"type": "url", "url": url}}
    media_type, data = inline
    return {"type": "image", "source": {"type": "base64", "media_type": media_type, "data": data}}


def _assistant_blocks(message: Mapping[str, Any]) -> list[dict[str, Any]]:
    # The API rejects empty text blocks, which an assistant turn that only
    # calls tools would otherwise carry.
    blocks = [
        block
        for block in _content_blocks(message.get("content"))
        if block.get("type") != "text" or block.get("text")
    ]
    for call in message.get("tool_calls") or ():
        function = call.get("function") or {}
        blocks.append(
            {
                "type": "tool_use",
                "id": call.get("id"),
                "name": function.get("name"),
                "input": decode_arguments(function.get("arguments")),
            }
        )
    return blocks


def _tool_result(message: Mapping[str, Any]) -> dict[str, Any]:
    content = message.get("content")
    return {
        "type": "tool_result",
        "tool_use_id": message.get("tool_call_id"),
        "content": content if isinstance(content, str) else _content_blocks(content),
    }


def _tool(tool: Mapping[str, Any]) -> dict[str, Any]:
    if tool.get("type") != "function":
        return dict(tool)  # already an Anthropic tool (or a server tool such as web search)
    function = tool.get("function") or {}
    converted: dict[str, Any] = {"name": function.get("name")}
    if function.get("description"):
        converted["description"] = function["description"]
    converted["input_schema"] = function.get("parameters") or {"type": "object", "properties": {}}
    return converted


def _tool_choice(choice: Any) -> Any:
    if choice == "auto":
        return {"type": "auto"}
    if choice == "required":
        return {"type": "any"}
    if choice == "none":
        return {"type": "none"}
    if isinstance(choice, Mapping) and choice.get("type") == "function":
        return {"type": "tool", "name": (choice.get("function") or {}).get("name")}
    return choice  # already Anthropic-shaped


def _usage(usage: Any) -> Usage:
    if not isinstance(usage, Mapping):
        return Usage()
    # input_tokens leaves out prompt-cache reads and writes; they are input too.
    prompt = sum(
        int(usage.get(field) or 0)
        for field in ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens")
    )
    output = int(usage.get("output_tokens") or 0)
    return Usage(
        input_tokens=prompt,
        output_tokens=output,
        total_tokens=prompt + output,
        cache_read_tokens=int(usage.get("cache_read_input_tokens") or 0),
        cache_write_tokens=int(usage.get("cache_creation_input_tokens") or 0),
    )
