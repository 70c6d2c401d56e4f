"""Reading a generateContent body back into the call that sends it.

The model is in the URL (``{base}/models/{model}:generateContent``, read
as the bare name, not ``models/...``). The adapter's translation, undone:
``systemInstruction`` is the ``system`` option (or a leading system
message), ``generationConfig`` fields the options they came from (a JSON
``responseMimeType`` is a ``json_object`` response format, with a
``responseSchema`` a ``json_schema`` one), ``functionDeclarations`` function
tools, ``toolConfig`` a ``tool_choice``, ``model`` contents assistant
messages, ``functionCall`` parts ``tool_calls`` and ``functionResponse``
parts tool messages.

Gemini sends no tool-call ids: the calls of an assistant message are read
as ``call_0``, ``call_1``... (the ids a Gemini answer's calls get), and a
function's response is matched back to the latest call of that function.
Schemas lose ``additionalProperties`` on the way out and a JSON schema
format its name, so calls that set them read back under another key.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import unquote

import orjson

from exllm_py.providers.reading.call_reading import (
    CallReading,
    ForeignEndpoint,
    ForeignRequest,
    expect,
    spellings,
    system_as_message,
)
from exllm_py.providers.reading.parts import one_string_stop, simplest_content

__all__ = ["read_generate_content"]

_ENDPOINT = re.compile(r"(?P<base>.+)/models/(?P<model>[^/:?]+):generateContent")
_FIELDS = frozenset({"contents", "systemInstruction", "generationConfig", "tools", "toolConfig"})
# generationConfig field → the option it was (the one-to-one ones).
_GENERATION_OPTIONS = {
    "temperature": "temperature",
    "maxOutputTokens": "max_tokens",
    "topP": "top_p",
    "seed": "seed",
    "candidateCount": "n",
    "frequencyPenalty": "frequency_penalty",
    "presencePenalty": "presence_penalty",
    "stopSequences": "stop",
}
_FORMAT_FIELDS = frozenset({"responseMimeType", "responseSchema"})
_MODES = {"AUTO": "auto", "ANY": "required", "NONE": "none"}


def read_generate_content(url: str, body: Mapping[str, Any]) -> tuple[CallReading, ...]:
    """The calls that POST ``body`` to ``url``; the first gives the system prompt as the option."""
    endpoint = _ENDPOINT.fullmatch(url)
    if endpoint is None:
        raise ForeignEndpoint(f"{url} is not a /models/{{model}}:generateContent endpoint")
    unknown = body.keys() - _FIELDS
    if unknown:
        raise ForeignRequest(f"the body has {sorted(unknown)}, which this client never sends")
    options: dict[str, Any] = {"model": unquote(endpoint["model"]), "base_url": endpoint["base"]}
    if "systemInstruction" in body:
        options["system"] = _system(body["systemInstruction"])
    if "generationConfig" in body:
        options.update(_generation_options(expect(body["generationConfig"], dict, "config")))
    if "tools" in body:
        options["tools"] = _tools(expect(body["tools"], list, "tools"))
    if "toolConfig" in body:
        options["tool_choice"] = _tool_choice(expect(body["toolConfig"], dict, "toolConfig"))
    messages = _Conversation().read(expect(body.get("contents"), list, "contents"))
    first = CallReading(messages, options)
    return spellings(first, [system_as_message, one_string_stop])


def _system(instruction: Any) -> str:
    parts = expect(instruction, dict, "systemInstruction").get("parts")
    if instruction.keys() != {"parts"} or not isinstance(parts, list) or len(parts) != 1:
        raise ForeignRequest("systemInstruction is not one text part")
    part = expect(parts[0], dict, "systemInstruction part")
    if part.keys() != {"text"}:
        raise ForeignRequest("systemInstruction is not one text part")
    text: str = expect(part["text"], str, "systemInstruction text")
    return text


def _generation_options(config: Mapping[str, Any]) -> dict[str, Any]:
    unknown = config.keys() - _GENERATION_OPTIONS.keys() - _FORMAT_FIELDS
    if unknown:
        raise ForeignRequest(
            f"generationConfig has {sorted(unknown)}, which this client never sends"
        )
    options = {
        _GENERATION_OPTIONS[field]: value
        for field, value in config.items()
        if field in _GENERATION_OPTIONS
    }
    mime = config.get("responseMimeType")
    if mime is not None:
        if mime != "application/json":
            raise ForeignRequest(f"responseMimeType {mime!r} is not one this client sends")
        schema = config.get("responseSchema")
        options["response_format"] = (
            {"type": "json_object"}
            if schema is None
            else {"type": "json_schema", "json_schema": {"schema": schema}}
        )
    elif "responseSchema" in config:
        raise ForeignRequest("a responseSchema without a JSON responseMimeType")
    return options


def _tools(tools: Sequence[Any]) -> list[dict[str, Any]]:
    read: list[dict[str, Any]] = []
    for tool in tools:
        tool = expect(tool, dict, "a tool")
        if tool.keys() != {"functionDeclarations"}:
            read.append(dict(tool))  # googleSearch, codeExecution...: passed as given
            continue
        for declaration in expect(tool["functionDeclarations"], list, "functionDeclarations"):
            function = dict(expect(declaration, dict, "a function declaration"))
            read.append({"type": "function", "function": function})
    return read


def _tool_choice(config: Mapping[str, Any]) -> Any:
    calling = config.get("functionCallingConfig")
    if config.keys() != {"functionCallingConfig"} or not isinstance(calling, Mapping):
        raise ForeignRequest("toolConfig holds more than a functionCallingConfig")
    mode = calling.get("mode")
    if calling.keys() == {"mode"} and mode in _MODES:
        return _MODES[mode]
    names = calling.get("allowedFunctionNames")
    if mode == "ANY" and isinstance(names, list) and len(names) == 1 and len(calling) == 2:
        return {"type": "function", "function": {"name": names[0]}}
    return dict(calling)  # passed as given


class _Conversation:
    """Contents back into messages, remembering the ids given to the calls made so far."""

    def __init__(self) -> None:
        self._calls: list[tuple[str, str]] = []  # (function name, call id), latest last

    def read(self, contents: Sequence[Any]) -> list[dict[str, Any]]:
        messages: list[dict[str, Any]] = []
        for index, content in enumerate(contents):
            content = expect(content, dict, f"contents[{index}]")
            parts = expect(content.get("parts"), list, f"contents[{index}].parts")
            if content.keys() != {"role", "parts"}:
                raise ForeignRequest(f"contents[{index}] has fields this client never sends")
            if content["role"] == "user":
                messages += self._user_messages(parts)
            elif content["role"] == "model":
                messages.append(self._assistant_message(parts))
            else:
                raise ForeignRequest(f"contents[{index}] has the role {content['role']!r}")
        return messages

    def _user_messages(self, parts: Sequence[Any]) -> list[dict[str, Any]]:
        messages: list[dict[str, Any]] = []
        pending: list[dict[str, Any]] = []
        for part in parts:
            part = expect(part, dict, "a part")
            if "functionResponse" not in part:
                pending.append(_content_part(part))
                continue
            if pending:
                messages.append({"role": "user", "content": simplest_content(pending)})
                pending = []
            messages.append(self._tool_message(part["functionResponse"]))
        if pending:
            messages.append({"role": "user", "content": simplest_content(pending)})
        return messages

    def _assistant_message(self, parts: Sequence[Any]) -> dict[str, Any]:
        content: list[dict[str, Any]] = []
        calls: list[dict[str, Any]] = []
        for part in parts:
            part = expect(part, dict, "a part")
            call = part.get("functionCall")
            if not isinstance(call, Mapping):
                content.append(_content_part(part))
                continue
            call_id = f"call_{len(calls)}"
            name = call.get("name")
            self._calls.append((str(name), call_id))
            arguments = orjson.dumps(call.get("args", {})).decode()
            calls.append(
                {
                    "id": call_id,
                    "type": "function",
                    "function": {"name": name, "arguments": arguments},
                }
            )
        message: dict[str, Any] = {"role": "assistant", "content": simplest_content(content)}
        if calls:
            message["tool_calls"] = calls
        return message

    def _tool_message(self, response: Any) -> dict[str, Any]:
        response = expect(response, dict, "a functionResponse")
        name = str(response.get("name"))
        # The latest call of this function; a response to no call names it by id instead.
        call_id = next((cid for called, cid in reversed(self._calls) if called == name), name)
        result = response.get("response")
        return {"role": "tool", "tool_call_id": call_id, "content": _result_text(result)}


def _result_text(result: Any) -> str:
    """The tool message text the adapter turns into ``result`` (it parses JSON text)."""
    if isinstance(result, Mapping) and result.keys() == {"result"}:
        value = result["result"]
        if not isinstance(value, dict):
            # A string is sent as itself unless it would parse as JSON of another type.
            if isinstance(value, str) and not _parses(value):
                return value
            return orjson.dumps(value).decode()
    return orjson.dumps(result).decode()


def _parses(text: str) -> bool:
    try:
        orjson.loads(text)
    except orjson.JSONDecodeError:
        return False
    return True


def _content_part(part: Mapping[str, Any]) -> dict[str, Any]:
    if part.keys() == {"text"}:
        return {"type": "text", "text": part["text"]}
    inline = part.get("inlineData")
    if part.keys() == {"inlineData"} and isinstance(inline, Mapping):
        url = f"data:{inline.get('mimeType')};base64,{inline.get('data')}"
        return {"type": "image_url", "image_url": {"url": url}}
    file = part.get("fileData")
    if part.keys() == {"fileData"} and isinstance(file, Mapping):
        return {"type": "image_url", "image_url": {"url": file.get("fileUri")}}
    return dict(part)  # passed as given (it will not pass as a content part: no "type")
