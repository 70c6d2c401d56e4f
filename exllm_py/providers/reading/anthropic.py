"""Reading a Messages API body back into the call that sends it.

The adapter's translation, undone: the top-level ``system`` field is the
``system`` option (or a leading system message), ``stop_sequences`` is
``stop``, tools and ``tool_choice`` go back to OpenAI's shapes, content
blocks to content parts, ``tool_use`` blocks to an assistant's
``tool_calls`` (arguments as compact JSON text) and ``tool_result`` blocks
to tool messages. A user turn whose blocks came from several messages reads
as one message with several parts: both send the same turn.

``max_tokens`` is always sent; at :data:`~exllm_py.providers.anthropic.DEFAULT_MAX_TOKENS`
it may also have been left out, and one stop sequence may have been given
as a string. Options the adapter leaves out (``seed``, the penalties,
``n=1``) cannot be read back: a call that set them has another key.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import orjson

from exllm_py.providers.anthropic import DEFAULT_MAX_TOKENS
from exllm_py.providers.reading.call_reading import (
    CallReading,
    ForeignEndpoint,
    ForeignRequest,
    expect,
    spellings,
    system_as_message,
)
from exllm_py.providers.reading.parts import one_string_stop, simplest_content

__all__ = ["read_messages"]

_ENDPOINT = "/v1/messages"
_FIELDS = frozenset(
    {"model", "max_tokens", "messages", "system", "temperature", "top_p"}
    | {"stop_sequences", "tools", "tool_choice"}
)
_CHOICES = {"auto": "auto", "any": "required", "none": "none"}


def read_messages(url: str, body: Mapping[str, Any]) -> tuple[CallReading, ...]:
    """The calls that POST ``body`` to ``url``; the first gives the system prompt as the option.

    The base URL read is the one without ``/v1`` (the default's spelling);
    a base URL ending in ``/v1`` sends to the same place under another key.
    """
    if not url.endswith(_ENDPOINT):
        raise ForeignEndpoint(f"{url} is not a {_ENDPOINT} endpoint")
    unknown = body.keys() - _FIELDS
    if unknown:
        raise ForeignRequest(f"the body has {sorted(unknown)}, which this client never sends")
    options: dict[str, Any] = {
        "model": expect(body.get("model"), str, "model"),
        "base_url": url.removesuffix(_ENDPOINT),
        "max_tokens": body.get("max_tokens"),
    }
    if "system" in body:
        options["system"] = expect(body["system"], str, "system")
    for option in ("temperature", "top_p"):
        if option in body:
            options[option] = body[option]
    if "stop_sequences" in body:
        options["stop"] = expect(body["stop_sequences"], list, "stop_sequences")
    if "tools" in body:
        options["tools"] = [_tool(tool) for tool in expect(body["tools"], list, "tools")]
    if "tool_choice" in body:
        options["tool_choice"] = _tool_choice(body["tool_choice"])
    messages = _messages(expect(body.get("messages"), list, "messages"))
    first = CallReading(messages, options)
    return spellings(first, [system_as_message, _default_max_tokens, one_string_stop])


def _default_max_tokens(reading: CallReading) -> CallReading | None:
    if reading.options.get("max_tokens") != DEFAULT_MAX_TOKENS:
        return None
    return reading.with_options(max_tokens=None)


def _messages(turns: Sequence[Any]) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = []
    for index, turn in enumerate(turns):
        turn = expect(turn, dict, f"messages[{index}]")
        role, content = turn.get("role"), turn.get("content")
        if turn.keys() != {"role", "content"}:
            raise ForeignRequest(f"messages[{index}] has fields this client never sends")
        if role == "user":
            messages += _user_messages(content)
        elif role == "assistant":
            messages.append(_assistant_message(content))
        else:
            raise ForeignRequest(f"messages[{index}] has the role {role!r}")
    return messages


def _user_messages(content: Any) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"role": "user", "content": content}]
    messages: list[dict[str, Any]] = []
    parts: list[dict[str, Any]] = []
    for block in expect(content, list, "a user turn's content"):
        block = expect(block, dict, "a content block")
        if block.get("type") != "tool_result":
            parts.append(_part(block))
            continue
        if parts:
            messages.append({"role": "user", "content": simplest_content(parts)})
            parts = []
        messages.append(
            {
                "role": "tool",
                "tool_call_id": block.get("tool_use_id"),
                "content": expect(block.get("content"), str, "a tool result"),
            }
        )
    if parts:
        messages.append({"role": "user", "content": simplest_content(parts)})
    return messages


def _assistant_message(content: Any) -> dict[str, Any]:
    if isinstance(content, str):
        return {"role": "assistant", "content": content}
    blocks = [expect(block, dict, "a content block") for block in expect(content, list, "content")]
    calls = [_tool_call(block) for block in blocks if block.get("type") == "tool_use"]
    parts = [_part(block) for block in blocks if block.get("type") != "tool_use"]
    message: dict[str, Any] = {"role": "assistant", "content": simplest_content(parts)}
    if calls:
        message["tool_calls"] = calls
    return message


def _tool_call(block: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "id": block.get("id"),
        "type": "function",
        "function": {
            "name": block.get("name"),
            "arguments": orjson.dumps(block.get("input")).decode(),
        },
    }


def _part(block: Mapping[str, Any]) -> dict[str, Any]:
    kind = block.get("type")
    if kind == "text":
        return {"type": "text", "text": block.get("text")}
    source = block.get("source")
    if kind == "image" and isinstance(source, Mapping):
        if source.get("type") == "url":
            return {"type": "image_url", "image_url": {"url": source.get("url")}}
        if source.get("type") == "base64":
            url = f"data:{source.get('media_type')};base64,{source.get('data')}"
            return {"type": "image_url", "image_url": {"url": url}}
    return dict(block)  # passed as given: a document, a block already in Anthropic's shape


def _tool(tool: Any) -> dict[str, Any]:
    tool = expect(tool, dict, "a tool")
    if "input_schema" not in tool:
        return dict(tool)  # a server tool (web search...), passed as given
    function: dict[str, Any] = {"name": tool.get("name")}
    if "description" in tool:
        function["description"] = tool["description"]
    function["parameters"] = tool["input_schema"]
    return {"type": "function", "function": function}


def _tool_choice(choice: Any) -> Any:
    kind = choice.get("type") if isinstance(choice, Mapping) else None
    if kind in _CHOICES and choice.keys() == {"type"}:
        return _CHOICES[kind]
    if kind == "tool" and choice.keys() == {"type", "name"}:
        return {"type": "function", "function": {"name": choice["name"]}}
    return choice  # passed as given
