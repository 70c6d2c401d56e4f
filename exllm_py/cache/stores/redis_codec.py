"""How :class:`~exllm_py.cache.stores.redis.RedisStore` turns an entry into a Redis value and back.

A value is the compact JSON of :func:`~exllm_py.cache.entry.dump_entry`, or,
above the compression threshold, the flag byte ``b"z"`` followed by the
zlib stream (level 1). A JSON entry always starts with ``{``, so the first
byte tells the two forms apart and small values stay readable in
``redis-cli``.

Compression is worth it: an entry holds the answer's text twice (the
response and the provider's raw JSON), and zlib level 1 stores a 3 kB entry
in under 30% of its size and a 17 kB one in under 25%. Inflating adds
7-30 µs to a hit's 100-200 µs round trip (a read 1.1-1.3x as long), and
writes, which follow a provider call, pay 20-150 µs; level 6 saves a few
percent more for twice the compression time. ``bench/redis_bench.py``
prints the figures.

Invalidation needs only an entry's labels and timestamps:
:func:`decode_summary` reads them from the decoded JSON document without
rebuilding the response (the labels sit at the end of the document, so the
whole value is still inflated and parsed, but no ``LLMResponse``, usage or
tool calls are built).

Everything here is pure (no I/O, no ``redis`` import). Whatever is not a
value, :func:`decode_value`, :func:`decode_entry` and :func:`decode_summary`
refuse with ``ValueError`` and nothing else, so a caller that treats ``ValueError`` as
"corrupt" lets any other exception (a bug) propagate.
"""

from __future__ import annotations

import zlib
from typing import Final

import attrs
import orjson

from exllm_py.cache.entry import (
    ENTRY_FORMAT_VERSION,
    CacheEntry,
    EntryLabels,
    labels_of,
    load_entry,
)

__all__ = [
    "COMPRESSED",
    "DEFAULT_COMPRESS_THRESHOLD",
    "MAX_EXPANSION",
    "PLAIN",
    "EntrySummary",
    "decode_entry",
    "decode_summary",
    "decode_value",
    "encode_value",
]

#: The first byte of a compressed value (the zlib stream follows).
COMPRESSED: Final = b"z"
#: The first byte of a plain value: the entry's JSON object itself.
PLAIN: Final = b"{"
#: Entries whose JSON is longer than this many bytes are compressed (by default).
DEFAULT_COMPRESS_THRESHOLD: Final = 1024
#: A value never inflates to more than this many times the store's ``max_value_bytes``:
#: a bound against a hostile or garbled value, far above real compression ratios.
MAX_EXPANSION: Final = 64


def encode_value(payload: bytes, compress_threshold: int | None) -> bytes:
    """The stored form of an entry's JSON: itself, or ``b"z"`` + zlib when above the threshold.

    ``None`` turns compression off. A payload that zlib cannot shrink stays plain.
    """
    if compress_threshold is not None and len(payload) > compress_threshold:
        compressed = COMPRESSED + zlib.compress(payload, 1)
        if len(compressed) < len(payload):
            return compressed
    return payload


def decode_value(value: bytes, max_bytes: int) -> bytes:
    """The entry JSON inside a stored value; ``ValueError`` if it is neither form.

    A compressed value that would inflate beyond ``max_bytes`` is refused
    before it is inflated any further.
    """
    flag = value[:1]
    if flag == PLAIN:
        return value
    if flag != COMPRESSED:
        raise ValueError(f"stored value starts with {flag!r}, not b'{{' or b'z'")
    inflater = zlib.decompressobj()
    try:
        payload = inflater.decompress(memoryview(value)[1:], max_bytes)
    except zlib.error as exc:
        raise ValueError(f"stored value is not a zlib stream: {exc}") from exc
    if not inflater.eof:
        raise ValueError(f"stored value is truncated or inflates beyond {max_bytes} bytes")
    return payload


def decode_entry(value: object, max_value_bytes: int) -> CacheEntry:
    """The entry a Redis reply holds; ``ValueError`` if the reply is not a stored entry.

    ``max_value_bytes`` is the store's bound on stored values; the inflated
    JSON may be :data:`MAX_EXPANSION` times as large.
    """
    if not isinstance(value, bytes):
        raise ValueError(f"Redis returned {type(value).__name__}, not bytes")
    return load_entry(decode_value(value, MAX_EXPANSION * max_value_bytes))


@attrs.frozen
class EntrySummary:
    """What invalidation asks of a stored entry: when it was stored and expires, its labels."""

    stored_at: float
    expires_at: float | None
    labels: EntryLabels

    def live(self, now: float) -> bool:
        """Whether the entry has not expired at ``now`` (the store's clock)."""
        return self.expires_at is None or self.expires_at > now


def decode_summary(value: object, max_value_bytes: int) -> EntrySummary:
    """The timestamps and labels of the entry a Redis reply holds; ``ValueError`` if it holds none.

    Checks what :func:`decode_entry` checks of the document's top level
    (the format version, ``stored_at``, ``ttl``, ``labels``), not the response.
    """
    if not isinstance(value, bytes):
        raise ValueError(f"Redis returned {type(value).__name__}, not bytes")
    payload = decode_value(value, MAX_EXPANSION * max_value_bytes)
    try:
        document = orjson.loads(payload)
        if document.get("v") != ENTRY_FORMAT_VERSION:
            raise ValueError(
                f"cache entry format {document.get('v')!r} is not {ENTRY_FORMAT_VERSION}"
            )
        stored_at = float(document["stored_at"])
        ttl = document["ttl"]
        expires_at = None if ttl is None else stored_at + float(ttl)
        labels = labels_of(document)
    except (orjson.JSONDecodeError, KeyError, TypeError, AttributeError) as exc:
        raise ValueError(f"not a cache entry: {exc}") from exc
    return EntrySummary(stored_at, expires_at, labels)
