"""The OpenAI chat-completions wire format: ``POST {base_url}/chat/completions``.

Spoken by OpenAI itself and by the OpenAI-compatible presets (Groq, Mistral,
OpenRouter, xAI, Ollama, LM Studio) and the offline mock. Messages and
options are already OpenAI-shaped, so building a request is mostly passing
them through; the ``system`` option becomes a leading system message.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs
import httpx

from exllm_py.providers.config import ProviderConfig
from exllm_py.providers.finish import (
    OPENAI_FINISH_REASONS,
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
    json_request,
    text_of,
    unexpected_body,
)
from exllm_py.request import ChatRequest
from exllm_py.types import LLMResponse, StreamChunk, ToolCall, ToolCallDelta, Usage

__all__ = ["OpenAIAdapter", "OpenAIStreamReader"]

# OpenAI's reasoning models refuse ``max_tokens`` and want ``max_completion_tokens``.
_REASONING_MODELS = ("o1", "o3", "o4", "gpt-5")


class OpenAIAdapter:
    """Chat completions: bearer auth, messages passed through, ``data: [DONE]`` ends a stream."""

    __slots__ = ()

    #: The wire format's name, used for errors raised while reading a stream.
    name = "openai"

    def build_request(self, request: ChatRequest, config: ProviderConfig) -> httpx.Request:
        body: dict[str, Any] = {"model": request.model, "messages": _messages(request)}
        for option, value in request.options.items():
            if option == "system" or value is None:
                continue
            if option == "max_tokens" and _is_reasoning_model(config, request.model):
                option = "max_completion_tokens"
            body[option] = value
        if request.stream:
            body["stream"] = True
            body["stream_options"] = {"include_usage": True}
        headers = {"authorization": f"Bearer {config.api_key}"} if config.api_key else {}
        url = f"{config.base_url.rstrip('/')}/chat/completions"
        return json_request(url, body, headers, stream=request.stream)

    def parse_response(self, body: Any, config: ProviderConfig) -> LLMResponse:
        choices = body.get("choices") if isinstance(body, Mapping) else None
        if not isinstance(choices, list) or not choices or not isinstance(choices[0], Mapping):
            raise unexpected_body(config.name, body, "a non-empty 'choices' list")
        choice = choices[0]
        message = choice.get("message") or {}
        native = choice.get("finish_reason")
        return LLMResponse(
            content=text_of(message.get("content")),
            model=str(body.get("model") or ""),
            provider=config.name,
            id=body.get("id"),
            finish_reason=finish_reason(OPENAI_FINISH_REASONS, native),
            tool_calls=tuple(_tool_call(call) for call in message.get("tool_calls") or ()),
            usage=_usage(body.get("usage")) or Usage(),
            reasoning=_reasoning(message),
            metadata=response_metadata(native),
            raw=body,
        )

    def stream_reader(self, provider: str, model: str) -> OpenAIStreamReader:
        return OpenAIStreamReader(provider, model)

    def error_message(self, body: Any) -> str:
        return error_detail(body)


def _messages(request: ChatRequest) -> list[dict[str, Any]]:
    messages = [dict(message) for message in request.messages]
    system = request.options.get("system")
    if system:
        messages.insert(0, {"role": "system", "content": system})
    return messages


def _is_reasoning_model(config: ProviderConfig, model: str) -> bool:
    # Only OpenAI itself: the compatible servers all take max_tokens.
    if config.name != "openai":
        return False
    return any(model == name or model.startswith(f"{name}-") for name in _REASONING_MODELS)


class OpenAIStreamReader:
    """One chat-completions stream: ``data: [DONE]`` ends it, deltas carry text and tool calls."""

    __slots__ = ("_model", "_provider")

    def __init__(self, provider: str, model: str) -> None:
        self._provider = provider
        self._model = model

    def read(self, event: ServerSentEvent) -> StreamChunk | None:
        if event.data.strip() == "[DONE]":
            return None
        payload = decode_event(event, self._provider)
        if not isinstance(payload, Mapping):
            return None
        if payload.get("error"):
            raise stream_error(self._provider, payload)
        choices = payload.get("choices") or ()
        choice = choices[0] if choices and isinstance(choices[0], Mapping) else {}
        delta = choice.get("delta") or {}
        native = choice.get("finish_reason")
        metadata = chunk_metadata(native)
        chunk = StreamChunk(
            content=text_of(delta.get("content")),
            finish_reason=finish_reason(OPENAI_FINISH_REASONS, native),
            raw=payload,
            reasoning=_reasoning(delta),
            tool_calls=tuple(_tool_call_delta(call) for call in delta.get("tool_calls") or ()),
            usage=_usage(payload.get("usage") or (payload.get("x_groq") or {}).get("usage")),
            id=payload.get("id"),
            model=payload.get("model") or self._model,
            provider=self._provider,
        )
        return chunk if metadata is None else attrs.evolve(chunk, metadata=metadata)


def _reasoning(message: Mapping[str, Any]) -> str:
    """Thinking text the server returned beside the answer.

    ``reasoning_content`` (DeepSeek, xAI, vLLM), ``reasoning`` (OpenRouter,
    Ollama, Groq's parsed format), or Mistral's ``thinking`` content parts.
    Text inside ``content`` itself (Groq's raw ``<think>`` format) stays there.
    """
    for field in ("reasoning_content", "reasoning"):
        text = message.get(field)
        if isinstance(text, str) and text:
            return text
    content = message.get("content")
    if not isinstance(content, list):
        return ""
    return "".join(
        text_of(part.get("thinking"))
        for part in content
        if isinstance(part, Mapping) and part.get("type") == "thinking"
    )


def _tool_call_delta(call: Mapping[str, Any]) -> ToolCallDelta:
    function = call.get("function") or {}
    return ToolCallDelta(
        index=int(call.get("index") or 0),
        id=call.get("id"),
        name=function.get("name"),
        arguments=function.get("arguments"),
    )


def _tool_call(call: Mapping[str, Any]) -> ToolCall:
    function = call.get("function") or {}
    return ToolCall(
        id=str(call.get("id") or ""),
        name=str(function.get("name") or ""),
        arguments=decode_arguments(function.get("arguments")),
    )


def _usage(usage: Any) -> Usage | None:
    if not isinstance(usage, Mapping):
        return None
    prompt = int(usage.get("prompt_tokens") or 0)
    completion = int(usage.get("completion_tokens") or 0)
    prompt_details = usage.get("prompt_tokens_details") or {}
    completion_details = usage.get("completion_tokens_details") or {}
    return Usage(
        input_tokens=prompt,
        output_tokens=completion,
        total_tokens=int(usage.get("total_tokens") or prompt + completion),
        reasoning_tokens=int(completion_details.get("reasoning_tokens") or 0),
        # DeepSeek names its cache hits apart from the OpenAI field.
        cache_read_tokens=int(
            prompt_details.get("cached_tokens") or usage.get("prompt_cache_hit_tokens") or 0
        ),
    )
