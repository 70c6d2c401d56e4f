"""``CacheEntry``: a stored response, ready to be served, and its wire form.

The entry keeps the response exactly as a hit returns it (``from_cache``,
``cache_key``, ``cached_at`` already in its metadata, cost zero), so a hit
from memory allocates nothing. Every hit shares that one object, so it is
made read-only all the way down when it is stored (:func:`frozen_response`):
what a caller does with the answer it holds, live or from a hit, never
changes what later hits serve. An entry decoded from its wire form
(:func:`load_entry`, a Redis hit) is a fresh object per hit: only its
metadata is read-only (as every hit's is), and it is frozen all the way down
only if it is kept to be served again. ``size`` is the length of the serialized
response (:func:`dump_entry`), which is what stores bound by bytes count and
what :class:`~exllm_py.cache.stores.redis.RedisStore` stores.

Each entry also carries its :class:`EntryLabels`: the provider and model the
call asked for, its namespace and its ``cache_tags``, which is what
invalidation selects entries by. Entries stored by calls alike share one
labels object, so the labels cost an entry one reference.
"""

from __future__ import annotations

import functools
from typing import Any

import attrs
import orjson

from exllm_py.cache.freeze import FrozenDict, deep_freeze
from exllm_py.types import LLMResponse, ToolCall, Usage

__all__ = [
    "ENTRY_FORMAT_VERSION",
    "NO_LABELS",
    "CacheEntry",
    "EntryLabels",
    "dump_entry",
    "entry_labels",
    "frozen_response",
    "labels_of",
    "load_entry",
    "make_entry",
    "served_from_cache",
    "worth_storing",
]

ENTRY_FORMAT_VERSION = 1


@attrs.frozen
class EntryLabels:
    """What an entry was stored for: the call's provider, model, namespace and tags.

    ``model`` is the model the call asked for (a response may name a dated
    variant of it). Empty strings and ``()`` mean "not known": an entry
    stored before labels existed, or by ``@cached`` (no provider or model).
    """

    provider: str = ""
    model: str = ""
    namespace: str | None = None
    tags: tuple[str, ...] = ()


NO_LABELS = EntryLabels()


@functools.lru_cache(maxsize=1024)
def entry_labels(
    provider: str, model: str, namespace: str | None, tags: tuple[str, ...]
) -> EntryLabels:
    """The labels for these values, one shared object for each combination in use."""
    return EntryLabels(provider, model, namespace, tags)


@attrs.frozen
class CacheEntry:
    """A response as a hit serves it, with its serialized size and timestamps (epoch seconds)."""

    response: LLMResponse
    size: int
    stored_at: float
    #: When the entry expires (epoch seconds), ``None`` for never.
    expires_at: float | None = None
    labels: EntryLabels = NO_LABELS


def worth_storing(response: LLMResponse) -> bool:
    """Whether an answer may be stored: one with neither text nor tool calls is not.

    An empty answer is more likely a glitch than worth repeating to every
    later caller; the production strategy, warming and the cassette harvest
    all go by this one rule.
    """
    return bool(response.content or response.tool_calls)


def make_entry(
    response: LLMResponse,
    key: str,
    now: float,
    ttl: float | None,
    labels: EntryLabels = NO_LABELS,
    match: str | None = None,
) -> CacheEntry:
    """The entry that stores ``response`` under ``key`` at time ``now`` for ``ttl`` seconds.

    ``match``: the ``cache_match`` its hits report (see :func:`served_from_cache`).
    """
    served = served_from_cache(response, key, now, match)
    return CacheEntry(
        response=served,
        size=len(dump_entry_fields(served, now, ttl, labels)),
        stored_at=now,
        expires_at=None if ttl is None else now + ttl,
        labels=labels,
    )


def served_from_cache(
    response: LLMResponse, key: str, cached_at: float, match: str | None = None
) -> LLMResponse:
    """``response`` as a hit returns it: frozen, marked, and costing nothing (the saved cost noted).

    The provider's metadata (``native_finish_reason``) is kept: a hit says
    why the answer stopped as the live answer did. ``response`` itself is
    left as it was: its caller may go on editing it. ``match`` (``"exact"``
    where a strategy also matches by meaning) is stored as ``cache_match``.
    """
    # Read-only: every hit returns this same object, so a caller writing to its
    # metadata would change what later hits see.
    fields = {
        **response.metadata,
        "from_cache": True,
        "cache_key": key,
        "cached_at": cached_at,
        "saved_cost": response.cost,
    }
    if match is not None:
        # Stored with the entry, so an exact hit pays nothing to say how it matched;
        # only where it tells something: a sixth key doubles a small dict's table,
        # which every entry of an exact-only cache would pay for.
        fields["cache_match"] = match
    metadata = deep_freeze(fields)
    return attrs.evolve(
        frozen_response(response),
        cost=0.0 if response.cost is not None else None,
        metadata=metadata,
    )


def frozen_response(response: LLMResponse) -> LLMResponse:
    """A copy of ``response`` whose tool call arguments, ``raw`` and metadata are read-only.

    The copy shares nothing mutable with ``response``; a response frozen
    already comes back as cheaply as its fields allow (no walk).
    """
    calls = response.tool_calls
    if calls:
        calls = tuple(
            call
            if type(call.arguments) is FrozenDict
            else attrs.evolve(call, arguments=deep_freeze(call.arguments))
            for call in calls
        )
    metadata = response.metadata
    if type(metadata) is not FrozenDict:
        metadata = deep_freeze(dict(metadata))
    return attrs.evolve(
        response, tool_calls=calls, raw=deep_freeze(response.raw), metadata=metadata
    )


def dump_entry(entry: CacheEntry) -> bytes:
    """The compact JSON form of ``entry`` (what goes to Redis)."""
    ttl = None if entry.expires_at is None else entry.expires_at - entry.stored_at
    return dump_entry_fields(entry.response, entry.stored_at, ttl, entry.labels)


def dump_entry_fields(
    response: LLMResponse,
    stored_at: float,
    ttl: float | None,
    labels: EntryLabels = NO_LABELS,
) -> bytes:
    document: dict[str, Any] = {
        "v": ENTRY_FORMAT_VERSION,
        "stored_at": stored_at,
        "ttl": ttl,
        "response": attrs.asdict(response, recurse=True),
    }
    if labels is not NO_LABELS:
        # Optional, so entries written before labels existed still load (unlabelled).
        document["labels"] = [labels.provider, labels.model, labels.namespace, labels.tags]
    return orjson.dumps(document, default=dict)  # dict(): read-only metadata mappings


def labels_of(document: dict[str, Any]) -> EntryLabels:
    """The labels of a decoded entry document (:data:`NO_LABELS` if it has none)."""
    labels = document.get("labels")
    if labels is None:
        return NO_LABELS
    if type(labels) is not list or len(labels) != 4:
        raise TypeError(f"labels must be [provider, model, namespace, tags], got {labels!r}")
    provider, model, namespace, tags = labels
    return entry_labels(str(provider), str(model), namespace, tuple(tags))


def _read_only(metadata: dict[str, Any]) -> FrozenDict:
    """Decoded metadata, read-only; it holds only scalars but for a nested value now and then."""
    for value in metadata.values():
        if type(value) is dict or type(value) is list:
            return deep_freeze(metadata)  # type: ignore[no-any-return]  # a dict freezes to one
    return FrozenDict(metadata)


def load_entry(payload: bytes) -> CacheEntry:
    """Rebuild an entry from :func:`dump_entry`'s bytes; ``ValueError`` if they are not one."""
    try:
        document = orjson.loads(payload)
        if document.get("v") != ENTRY_FORMAT_VERSION:
            raise ValueError(
                f"cache entry format {document.get('v')!r} is not {ENTRY_FORMAT_VERSION}"
            )
        fields = dict(document["response"])
        fields["usage"] = Usage(**fields["usage"])
        # Every decode is a fresh object that no other hit shares, so ``raw`` and
        # the tool call arguments stay as decoded: freezing them would cost a hit
        # several times the decode. Whoever keeps the decoded response to serve
        # again freezes it then (TieredStore, promoting it into L1). The metadata
        # is read-only on every hit, from whichever store.
        fields["tool_calls"] = tuple(ToolCall(**call) for call in fields["tool_calls"])
        fields["metadata"] = _read_only(fields["metadata"])
        response = LLMResponse(**fields)
        stored_at = float(document["stored_at"])
        ttl = document["ttl"]
        labels = labels_of(document)
    except (orjson.JSONDecodeError, KeyError, TypeError, AttributeError) as exc:
        raise ValueError(f"not a cache entry: {exc}") from exc
    return CacheEntry(
        response=response,
        size=len(payload),
        stored_at=stored_at,
        expires_at=None if ttl is None else stored_at + float(ttl),
        labels=labels,
    )
