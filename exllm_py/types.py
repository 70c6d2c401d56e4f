"""The value objects users see: messages in, responses and stream chunks out.

All are frozen attrs classes. Messages may also be given as plain dicts in
the OpenAI shape (``{"role": "user", "content": "Hi"}``); the pipeline
validates them either way.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

import attrs

__all__ = ["LLMResponse", "Message", "StreamChunk", "ToolCall", "ToolCallDelta", "Usage"]

# The metadata of every live chunk: one shared read-only mapping, so a stream
# allocates nothing per chunk for it.
_LIVE_CHUNK: Mapping[str, Any] = MappingProxyType({"from_cache": False})


@attrs.frozen
class Message:
    """One chat message. ``content`` is text, or a list of content parts (text, images)."""

    role: str
    content: str | list[dict[str, Any]] | None = None
    name: str | None = None
    tool_calls: list[dict[str, Any]] | None = None
    tool_call_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The OpenAI-shaped dict of this message, without the fields left unset."""
        return {k: v for k, v in attrs.asdict(self, recurse=False).items() if v is not None}


@attrs.frozen
class ToolCall:
    """A tool (function) call the model asked for; ``arguments`` is the decoded JSON object."""

    id: str
    name: str
    arguments: Mapping[str, Any]


@attrs.frozen
class ToolCallDelta:
    """The piece of a tool call one stream chunk carries.

    ``index`` tells the calls of one answer apart (chunks of the same call
    share it); ``id`` and ``name`` arrive once, usually on the first piece;
    ``arguments`` is this chunk's fragment of the JSON argument text. Fields a
    chunk does not carry are ``None``; joining the fragments of one index in
    order gives the call's whole argument text.
    """

    index: int
    id: str | None = None
    name: str | None = None
    arguments: str | None = None


@attrs.frozen
class Usage:
    """Token counts as the provider reported them.

    ``input_tokens`` counts the whole prompt, cached parts included:
    ``cache_read_tokens`` (read from the provider's prompt cache) and
    ``cache_write_tokens`` (written to it) are the parts of it that are priced
    differently. ``reasoning_tokens`` is the part of ``output_tokens`` spent
    thinking. Each is 0 when the provider reports none.
    """

    input_tokens: int = 0
    output_tokens: int = 0
    total_tokens: int = 0
    reasoning_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0


@attrs.frozen
class LLMResponse:
    """A complete answer from a model.

    ``metadata`` describes how the answer was delivered (it always has
    ``from_cache``; a cache hit adds ``cache_key``, ``cached_at`` and
    ``saved_cost``; a live answer has ``native_finish_reason``, the
    provider's own word for why it stopped). ``cost`` is what this call cost
    in USD (``None`` for models missing from the pricing table), so a cache
    hit costs ``0.0``. Neither takes part in equality: a hit equals the
    response that was stored. ``reasoning`` is the thinking the provider
    returned apart from the answer (never mixed into ``content``). ``raw`` is
    the provider's JSON body (for an answer assembled from a stream, the list
    of its events' payloads). A response served from the cache is shared by
    every hit, so it is read-only all the way down: its metadata, and the
    dicts and lists of ``raw`` and of ``tool_calls[i].arguments``, are
    ``FrozenDict`` / ``FrozenList`` (:mod:`exllm_py.cache.freeze`: plain dicts
    and lists for reading, for ``json.dumps``, ``pickle`` and ``==``;
    ``copy.deepcopy`` gives an editable copy). A live answer's are plain, the
    caller's own to edit: the cache keeps a frozen copy.
    """

    content: str
    model: str
    provider: str
    id: str | None = None
    finish_reason: str | None = None
    tool_calls: tuple[ToolCall, ...] = ()
    usage: Usage = Usage()
    cost: float | None = attrs.field(default=None, eq=False)
    metadata: Mapping[str, Any] = attrs.field(factory=lambda: {"from_cache": False}, eq=False)
    raw: Any = attrs.field(default=None, repr=False)
    # Last: a field added later goes after the others, so positional use keeps working.
    reasoning: str = ""


@attrs.frozen
class StreamChunk:
    """One piece of a streamed answer.

    ``content`` and ``reasoning`` are text deltas (either may be empty),
    ``tool_calls`` the tool-call pieces this chunk carries, ``usage`` the
    token counts so far when this chunk reports them (else ``None``: the last
    chunk that has it holds the whole answer's), ``finish_reason`` is set on
    the chunk that ends the answer. ``id``, ``model`` and ``provider`` name
    the answer, for :func:`exllm_py.assemble`. ``metadata`` always has
    ``from_cache``; the finishing chunk adds ``native_finish_reason``.
    ``raw`` is the event's JSON payload.
    """

    content: str = ""
    finish_reason: str | None = None
    raw: Any = attrs.field(default=None, repr=False)
    reasoning: str = ""
    tool_calls: tuple[ToolCallDelta, ...] = ()
    usage: Usage | None = None
    id: str | None = None
    model: str | None = None
    provider: str | None = None
    metadata: Mapping[str, Any] = attrs.field(default=_LIVE_CHUNK, eq=False)
