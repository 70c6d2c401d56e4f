"""The Gemini API wire format: ``POST {base_url}/models/{model}:generateContent``.

Streaming posts to ``:streamGenerateContent?alt=sse``, whose events are each
a complete (partial) response. OpenAI-shaped input is translated: roles
become ``user`` / ``model``, system messages and the ``system`` option
``systemInstruction``, options ``generationConfig``, function tools
``functionDeclarations``, assistant tool calls ``functionCall`` parts and
tool messages ``functionResponse`` parts. The API key travels in the
``x-goog-api-key`` header, never in the URL, so it never reaches a log line
or a recorded cassette's URL.

Gemini returns no tool-call ids; calls are numbered ``call_0``, ``call_1``…
in answer order, and tool results are matched back to their function by
the ``tool_call_id`` of the assistant message that made the call. Finish
reasons are reported in the common vocabulary of
:mod:`~exllm_py.providers.finish`; ``metadata["native_finish_reason"]``
keeps Gemini's own. Thought parts become ``reasoning``, never ``content``.
"""

from __future__ import annotations

import mimetypes
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote

import attrs
import httpx
import orjson

from exllm_py.providers.config import ProviderConfig
from exllm_py.providers.finish import (
    GEMINI_FINISH_REASONS,
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
    text_of,
    unexpected_body,
)
from exllm_py.request import ChatRequest
from exllm_py.types import LLMResponse, StreamChunk, ToolCall, ToolCallDelta, Usage

__all__ = ["GeminiAdapter", "GeminiStreamReader"]

# OpenAI option → generationConfig field, for the options that map one to one.
_GENERATION_FIELDS = {
    "temperature": "temperature",
    "max_tokens": "maxOutputTokens",
    "top_p": "topP",
    "seed": "seed",
    "n": "candidateCount",
    "frequency_penalty": "frequencyPenalty",
    "presence_penalty": "presencePenalty",
}
_TOOL_MODES = {"auto": "AUTO", "required": "ANY", "none": "NONE"}
# JSON Schema keywords Gemini's OpenAPI-style schemas reject; OpenAI strict
# schemas always carry additionalProperties, so porting one would fail.
_UNSUPPORTED_SCHEMA_KEYS = frozenset({"additionalProperties", "$schema"})


class GeminiAdapter:
    """generateContent: ``x-goog-api-key`` auth, contents and parts, one JSON response per event."""

    __slots__ = ()

    #: The wire format's name, used for errors raised while reading a stream.
    name = "gemini"

    def build_request(self, request: ChatRequest, config: ProviderConfig) -> httpx.Request:
        options = request.options
        body: dict[str, Any] = {"contents": _contents(request.messages)}
        system = system_prompt(request)
        if system:
            body["systemInstruction"] = {"parts": [{"text": system}]}
        generation = _generation_config(options)
        if generation:
            body["generationConfig"] = generation
        if options.get("tools"):
            body["tools"] = _tools(options["tools"])
        if options.get("tool_choice") is not None:
            body["toolConfig"] = {"functionCallingConfig": _calling_config(options["tool_choice"])}
        headers = {"x-goog-api-key": config.api_key} if config.api_key else {}
        method = "streamGenerateContent" if request.stream else "generateContent"
        url = f"{config.base_url.rstrip('/')}/{_model_path(request.model)}:{method}"
        params = {"alt": "sse"} if request.stream else None
        return json_request(url, body, headers, stream=request.stream, params=params)

    def parse_response(self, body: Any, config: ProviderConfig) -> LLMResponse:
        if not isinstance(body, Mapping):
            raise unexpected_body(config.name, body, "a JSON object")
        candidates = body.get("candidates")
        if candidates is not None and not isinstance(candidates, list):
            raise unexpected_body(config.name, body, "a 'candidates' list")
        read = _read_candidate(body)
        calls = _function_calls(read.parts)
        return LLMResponse(
            content=read.text,
            model=str(body.get("modelVersion") or ""),
            provider=config.name,
            id=body.get("responseId"),
            finish_reason=_finish_reason(read, called_tools=bool(calls)),
            tool_calls=tuple(
                ToolCall(
                    id=str(call.get("id") or f"call_{index}"),
                    name=str(call.get("name") or ""),
                    arguments=decode_arguments(call.get("args")),
                )
                for index, call in enumerate(calls)
            ),
            usage=_usage(body.get("usageMetadata")) or Usage(),
            reasoning=read.reasoning,
            metadata=response_metadata(read.native),
            raw=body,
        )

    def stream_reader(self, provider: str, model: str) -> GeminiStreamReader:
        return GeminiStreamReader(provider, model)

    def error_message(self, body: Any) -> str:
        return error_detail(body)


def _model_path(model: str) -> str:
    # "gemini-2.0-flash" and "models/gemini-2.0-flash" name the same model;
    # other resource paths (tunedModels/...) are used as given.
    path = model if "/" in model else f"models/{model}"
    return quote(path, safe="-._~/")


def _contents(messages: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    contents: list[dict[str, Any]] = []
    function_names: dict[str, str] = {}  # tool_call_id → function name
    for message in messages:
        role = message.get("role")
        if role in ("system", "developer"):
            continue  # carried by systemInstruction
        if role == "assistant":
            content_role, parts = "model", _model_parts(message, function_names)
        elif role == "tool":
            content_role, parts = "user", [_function_response(message, function_names)]
        else:
            content_role, parts = "user", _parts(message.get("content"))
        if contents and contents[-1]["role"] == content_role:
            contents[-1]["parts"].extend(parts)
        else:
            contents.append({"role": content_role, "parts": parts})
    return contents


def _parts(content: Any) -> list[dict[str, Any]]:
    if content is None:
        return []
    if isinstance(content, str):
        return [{"text": content}]
    parts: list[dict[str, Any]] = []
    for part in content:
        kind = part.get("type")
        if kind == "text":
            parts.append({"text": part.get("text", "")})
        elif kind == "image_url":
            parts.append(_image_part(image_url_of(part)))
        else:
            parts.append(dict(part))  # already a Gemini part (inlineData, fileData, ...)
    return parts


def _image_part(url: str) -> dict[str, Any]:
    inline = split_data_url(url)
    if inline is not None:
        media_type, data = inline
        return {"inlineData": {"mimeType": media_type, "data": data}}
    media_type = mimetypes.guess_type(url)[0] or "image/jpeg"
    return {"fileData": {"mimeType": media_type, "fileUri": url}}


def _model_parts(
    message: Mapping[str, Any], function_names: dict[str, str]
) -> list[dict[str, Any]]:
    parts = [part for part in _parts(message.get("content")) if part.get("text", True)]
    for call in message.get("tool_calls") or ():
        function = call.get("function") or {}
        name = str(function.get("name") or "")
        if call.get("id"):
            function_names[str(call["id"])] = name
        parts.append(
            {"functionCall": {"name": name, "args": decode_arguments(function.get("arguments"))}}
        )
    return parts


def _function_response(
    message: Mapping[str, Any], function_names: Mapping[str, str]
) -> dict[str, Any]:
    call_id = str(message.get("tool_call_id") or "")
    name = message.get("name") or function_names.get(call_id) or call_id
    text = text_of(message.get("content"))
    try:
        result = orjson.loads(text)
    except orjson.JSONDecodeError:
        result = text
    # The response must be an object: other results are wrapped.
    response = result if isinstance(result, dict) else {"result": result}
    return {"functionResponse": {"name": name, "response": response}}


def _generation_config(options: Mapping[str, Any]) -> dict[str, Any]:
    config = {
        field: options[option]
        for option, field in _GENERATION_FIELDS.items()
        if options.get(option) is not None
    }
    stop = options.get("stop")
    if stop:
        config["stopSequences"] = [stop] if isinstance(stop, str) else list(stop)
    response_format = options.get("response_format")
    if isinstance(response_format, Mapping):
        kind = response_format.get("type")
        if kind in ("json_object", "json_schema"):
            config["responseMimeType"] = "application/json"
        if kind == "json_schema":
            schema = (response_format.get("json_schema") or {}).get("schema")
            if schema:
                config["responseSchema"] = _schema(schema)
    return config


def _tools(tools: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    declarations = []
    others = []
    for tool in tools:
        if tool.get("type") != "function":
            others.append(dict(tool))  # already a Gemini tool (googleSearch, codeExecution, ...)
            continue
        function = tool.get("function") or {}
        declaration: dict[str, Any] = {"name": function.get("name")}
        if function.get("description"):
            declaration["description"] = function["description"]
        if function.get("parameters"):
            declaration["parameters"] = _schema(function["parameters"])
        declarations.append(declaration)
    return ([{"functionDeclarations": declarations}] if declarations else []) + others


def _calling_config(choice: Any) -> dict[str, Any]:
    if isinstance(choice, str) and choice in _TOOL_MODES:
        return {"mode": _TOOL_MODES[choice]}
    if isinstance(choice, Mapping) and choice.get("type") == "function":
        name = (choice.get("function") or {}).get("name")
        return {"mode": "ANY", "allowedFunctionNames": [name]}
    return dict(choice) if isinstance(choice, Mapping) else {"mode": str(choice).upper()}


def _schema(node: Any) -> Any:
    if isinstance(node, Mapping):
        return {
            key: _properties(value) if key == "properties" else _schema(value)
            for key, value in node.items()
            if key not in _UNSUPPORTED_SCHEMA_KEYS
        }
    if isinstance(node, list):
        return [_schema(item) for item in node]
    return node


def _properties(properties: Any) -> Any:
    # Keys of "properties" are field names, which may be any word at all.
    if not isinstance(properties, Mapping):
        return properties
    return {name: _schema(schema) for name, schema in properties.items()}


class GeminiStreamReader:
    """One ``streamGenerateContent`` stream: each event is a partial response.

    The finish reason is decided over the whole stream: Gemini may send a
    function call in one event and ``finishReason: STOP`` in a later one, and
    that answer called tools just as if both had come together. Calls are
    numbered across the stream, as in a non-streamed answer.
    """

    __slots__ = ("_calls", "_model", "_provider")

    def __init__(self, provider: str, model: str) -> None:
        self._provider = provider
        self._model = model
        self._calls = 0  # function calls seen so far in this stream

    def read(self, event: ServerSentEvent) -> StreamChunk | None:
        payload = decode_event(event, self._provider)
        if not isinstance(payload, Mapping):
            return None
        if payload.get("error"):
            raise stream_error(self._provider, payload)
        read = _read_candidate(payload)
        deltas = []
        for call in _function_calls(read.parts):
            index = self._calls
            self._calls += 1
            deltas.append(
                ToolCallDelta(
                    index=index,
                    id=str(call.get("id") or f"call_{index}"),
                    name=str(call.get("name") or ""),
                    # A call arrives whole: its arguments are one fragment.
                    arguments=orjson.dumps(decode_arguments(call.get("args"))).decode(),
                )
            )
        chunk = StreamChunk(
            content=read.text,
            finish_reason=_finish_reason(read, called_tools=self._calls > 0),
            raw=payload,
            reasoning=read.reasoning,
            tool_calls=tuple(deltas),
            usage=_usage(payload.get("usageMetadata")),
            id=payload.get("responseId"),
            model=payload.get("modelVersion") or self._model,
            provider=self._provider,
        )
        metadata = chunk_metadata(read.native)
        return chunk if metadata is None else attrs.evolve(chunk, metadata=metadata)


@attrs.frozen
class _Candidate:
    """What the first candidate of a response (or of a stream event) says."""

    text: str = ""
    reasoning: str = ""
    parts: tuple[Mapping[str, Any], ...] = ()
    native: str | None = None  # Gemini's own finish reason, or why the prompt was blocked
    blocked: bool = False  # the prompt was refused: no candidate came back


def _read_candidate(body: Mapping[str, Any]) -> _Candidate:
    candidates = body.get("candidates") or []
    if not candidates:
        feedback = body.get("promptFeedback") or {}
        blocked = feedback.get("blockReason")
        # A blocked prompt has no candidate; its block reason is why nothing came.
        if blocked is None:
            return _Candidate()
        return _Candidate(native=str(blocked), blocked=True)
    candidate = candidates[0]
    parts = tuple(
        part
        for part in (candidate.get("content") or {}).get("parts") or ()
        if isinstance(part, Mapping)
    )
    native = candidate.get("finishReason")
    return _Candidate(
        # Thought summaries (thought: true) are the model's reasoning, not its answer.
        text="".join(str(p["text"]) for p in parts if "text" in p and not p.get("thought")),
        reasoning="".join(str(p["text"]) for p in parts if "text" in p and p.get("thought")),
        parts=parts,
        native=None if native is None else str(native),
    )


def _function_calls(parts: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    return [p["functionCall"] for p in parts if isinstance(p.get("functionCall"), Mapping)]


def _finish_reason(read: _Candidate, *, called_tools: bool) -> str | None:
    if read.blocked:
        return "content_filter"
    finish = finish_reason(GEMINI_FINISH_REASONS, read.native)
    return "tool_calls" if called_tools and finish == "stop" else finish


def _usage(usage: Any) -> Usage | None:
    if not isinstance(usage, Mapping):
        return None
    prompt = int(usage.get("promptTokenCount") or 0)
    thoughts = int(usage.get("thoughtsTokenCount") or 0)
    # Thinking tokens are billed as output.
    output = int(usage.get("candidatesTokenCount") or 0) + thoughts
    return Usage(
        input_tokens=prompt,
        output_tokens=output,
        total_tokens=int(usage.get("totalTokenCount") or prompt + output),
        reasoning_tokens=thoughts,
        cache_read_tokens=int(usage.get("cachedContentTokenCount") or 0),
    )
