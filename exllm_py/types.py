"""The value objects users see: messages in, responses and stream chunks out.

All are frozen attrs classes. Messages may also be given as plain dicts in
the OpenAI shape (``{"role": "user", "content": "Hi"}``); the pipeline
validates them either way.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

__all__ = ["LLMResponse", "Message", "StreamChunk", "ToolCall", "Usage"]


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
class Usage:
    """Token counts as the provider reported them."""

    input_tokens: int = 0
    output_tokens: int = 0
    total_tokens: int = 0


@attrs.frozen
class LLMResponse:
    """A complete answer from a model.

    ``metadata`` describes how the answer was delivered (it always has
    ``from_cache``; a cache hit adds ``cache_key``, ``cached_at`` and
    ``saved_cost``). ``cost`` is what this call cost in USD (``None`` for
    models missing from the pricing table), so a cache hit costs ``0.0``.
    Neither takes part in equality: a hit equals the response that was
    stored. ``raw`` is the provider's JSON body. A response served from the
    cache is shared by every hit, so it is read-only all the way down: its
    metadata, and the dicts and lists of ``raw`` and of
    ``tool_calls[i].arguments``, are ``FrozenDict`` / ``FrozenList``
    (:mod:`exllm_py.cache.freeze`: plain dicts and lists for reading, for
    ``json.dumps``, ``pickle`` and ``==``; ``copy.deepcopy`` gives an editable
    copy).
    A live answer's are plain, the caller's own to edit: the cache keeps a
    frozen copy.
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


@attrs.frozen
class StreamChunk:
    """One piece of a streamed answer: ``content`` is the text delta (may be empty)."""

    content: str = ""
    finish_reason: str | None = None
    raw: Any = attrs.field(default=None, repr=False)
