"""The OpenAI chat-completions wire format: ``POST {base_url}/chat/completions``.

Spoken by OpenAI itself and by the OpenAI-compatible presets (Groq, Mistral,
OpenRouter, xAI, Ollama, LM Studio) and the offline mock. Messages and
options are already OpenAI-shaped, so building a request is mostly passing
them through; the ``system`` option becomes a leading system message.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from exllm_py.providers.config import ProviderConfig
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
from exllm_py.types import LLMResponse, StreamChunk, ToolCall, Usage

__all__ = ["OpenAIAdapter"]

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
        return LLMResponse(
            content=text_of(message.get("content")),
            model=str(body.get("model") or ""),
            provider=config.name,
            id=body.get("id"),
            finish_reason=choice.get("finish_reason"),
            tool_calls=tuple(_tool_call(call) for call in message.get("tool_calls") or ()),
            usage=_usage(body.get("usage")),
            raw=body,
        )

    def parse_event(self, event: ServerSentEvent) -> StreamChunk | None:
        if event.data.strip() == "[DONE]":
            return None
        payload = decode_event(event, self.name)
        if not isinstance(payload, Mapping):
            return None
        if payload.get("error"):
            raise stream_error(self.name, payload)
        choices = payload.get("choices") or []
        if not choices:
            # The last chunk of a stream asked with include_usage: usage only.
            return StreamChunk(raw=payload)
        choice = choices[0]
        delta = choice.get("delta") or {}
        return StreamChunk(
            content=text_of(delta.get("content")),
            finish_reason=choice.get("finish_reason"),
            raw=payload,
        )

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


def _tool_call(call: Mapping[str, Any]) -> ToolCall:
    function = call.get("function") or {}
    return ToolCall(
        id=str(call.get("id") or ""),
        name=str(function.get("name") or ""),
        arguments=decode_arguments(function.get("arguments")),
    )


def _usage(usage: Any) -> Usage:
    if not isinstance(usage, Mapping):
        return Usage()
    prompt = int(usage.get("prompt_tokens") or 0)
    completion = int(usage.get("completion_tokens") or 0)
    return Usage(
        input_tokens=prompt,
        output_tokens=completion,
        total_tokens=int(usage.get("total_tokens") or prompt + completion),
    )
