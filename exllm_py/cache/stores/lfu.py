"""``LFU``: least frequently used first, ties broken by least recently used.

O(1) per operation. Keys with the same use count share a bucket; the
buckets form a chain in increasing count, so the victim is the first key
of the first bucket, and a use moves a key one bucket up, creating that
bucket beside its old one if no key has that count yet. Nothing is ever
searched or sorted: a key's count only grows by one at a time, and a
bucket that empties is unlinked where it stands.

Within a bucket, keys are kept in the order they entered it, which is the
order of their last use (a store or a read): so among equally used keys,
the least recently used goes first.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Final

__all__ = ["LFU"]


class _Bucket:
    """The keys used ``count`` times, least recently used first; a link in the chain."""

    __slots__ = ("count", "higher", "keys", "lower")

    def __init__(self, count: int, lower: _Bucket | None, higher: _Bucket | None) -> None:
        self.count = count
        self.keys: OrderedDict[str, None] = OrderedDict()
        self.lower = lower
        self.higher = higher


class LFU:
    """Least frequently used first; among equals, the least recently used.

    A stored key counts one use and each read one more. A replaced key
    starts over at one: its answer is new. Counts never decay, so an
    answer that was popular long ago keeps its place; for traffic whose
    favourites change, ``LRU`` adapts sooner.
    """

    __slots__ = ("__weakref__", "_bucket_of", "_lowest")

    name: Final = "lfu"

    def __init__(self) -> None:
        self._bucket_of: dict[str, _Bucket] = {}
        self._lowest: _Bucket | None = None

    def on_insert(self, key: str) -> None:
        lowest = self._lowest
        if lowest is None or lowest.count != 1:
            lowest = self._link(1, None, lowest)
        lowest.keys[key] = None
        self._bucket_of[key] = lowest

    def on_hit(self, key: str) -> None:
        bucket = self._bucket_of[key]
        higher = bucket.higher
        if higher is None or higher.count != bucket.count + 1:
            if len(bucket.keys) == 1:
                # Alone in its bucket, with no bucket for its next count: the
                # bucket moves up with it (a hot key's reads allocate nothing).
                bucket.count += 1
                return
            higher = self._link(bucket.count + 1, bucket, higher)
        higher.keys[key] = None
        self._bucket_of[key] = higher
        self._leave(bucket, key)

    def on_remove(self, key: str) -> None:
        self._leave(self._bucket_of.pop(key), key)

    def victim(self) -> str:
        if self._lowest is None:
            raise LookupError("LFU.victim() was asked with no key tracked: store one first")
        return next(iter(self._lowest.keys))

    def __repr__(self) -> str:
        return "LFU()"

    def _link(self, count: int, lower: _Bucket | None, higher: _Bucket | None) -> _Bucket:
        """A new, empty bucket for ``count``, chained between ``lower`` and ``higher``."""
        bucket = _Bucket(count, lower, higher)
        if lower is None:
            self._lowest = bucket
        else:
            lower.higher = bucket
        if higher is not None:
            higher.lower = bucket
        return bucket

    def _leave(self, bucket: _Bucket, key: str) -> None:
        """Take ``key`` out of ``bucket``, and the bucket out of the chain if it empties."""
        del bucket.keys[key]
        if bucket.keys:
            return
        if bucket.lower is None:
            self._lowest = bucket.higher
        else:
            bucket.lower.higher = bucket.higher
        if bucket.higher is not None:
            bucket.higher.lower = bucket.lower
