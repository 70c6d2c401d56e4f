"""What one call asks for, once validated: the chat request and its cache controls.

These are the values that travel from the pipeline to the providers (which
turn a :class:`ChatRequest` into HTTP) and to the cache (which derives a key
from it). Validation of raw user input lives in :mod:`exllm_py.pipeline.validate`.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import attrs

__all__ = [
    "ANSWER_OPTIONS",
    "CACHE_OPTIONS",
    "DEFAULT_CACHE_CONTROL",
    "DEFAULT_TTL",
    "KNOWN_OPTIONS",
    "TRANSPORT_OPTIONS",
    "CacheControl",
    "CacheMode",
    "ChatRequest",
    "UseDefault",
]

#: Options that change the model's answer: all of them enter the cache key.
ANSWER_OPTIONS = frozenset(
    {
        "model",
        "temperature",
        "max_tokens",
        "top_p",
        "stop",
        "seed",
        "tools",
        "tool_choice",
        "response_format",
        "system",
        "n",
        "frequency_penalty",
        "presence_penalty",
    }
)
#: Options about reaching the provider: base_url enters the cache key, the others never.
TRANSPORT_OPTIONS = frozenset({"api_key", "base_url", "timeout", "max_retries"})
#: Per-call cache controls: only the namespace enters the key (tags label the entry).
CACHE_OPTIONS = frozenset({"cache", "cache_ttl", "cache_key", "cache_namespace", "cache_tags"})
KNOWN_OPTIONS = ANSWER_OPTIONS | TRANSPORT_OPTIONS | CACHE_OPTIONS

CacheMode = bool | Literal["refresh"]


class UseDefault(enum.Enum):
    """The type of :data:`DEFAULT_TTL`: the store's default TTL applies."""

    DEFAULT_TTL = "default"


#: ``cache_ttl`` was not given (``None`` would mean "never expires").
DEFAULT_TTL = UseDefault.DEFAULT_TTL


@attrs.frozen
class CacheControl:
    """A call's cache options: ``cache``, ``cache_ttl``, ``cache_key``, ``cache_namespace``, tags.

    ``cache="semantic"`` is ``mode=True`` with ``semantic=True``.

    ``tags`` label the entry the call stores, for ``invalidate(tag=...)``;
    they do not enter the key: calls that differ only in tags share an
    entry, labelled by the call that stored it.
    """

    mode: CacheMode = True
    ttl: float | UseDefault | None = DEFAULT_TTL
    key: str | None = None
    namespace: str | None = None
    tags: tuple[str, ...] = ()
    #: ``cache="semantic"``: on an exact miss, a strategy with a ``SemanticCache``
    #: may answer from an entry whose question means the same (``mode`` stays True).
    semantic: bool = False

    @property
    def reads(self) -> bool:
        """Whether the call may be answered from the cache."""
        return self.mode is True

    @property
    def writes(self) -> bool:
        """Whether the call's answer may be stored."""
        return self.mode is not False


DEFAULT_CACHE_CONTROL = CacheControl()


@attrs.frozen
class ChatRequest:
    """A validated call: provider, model, messages and the options that change the answer.

    ``messages`` are OpenAI-shaped dicts; ``options`` holds only the answer
    options the caller set (never ``model``, which has its own field).
    """

    provider: str
    model: str
    messages: Sequence[Mapping[str, Any]]
    options: Mapping[str, Any] = attrs.field(factory=dict)
    stream: bool = False
