"""``LRU`` and ``FIFO``: eviction by the order keys were last used, or first stored.

Both keep the keys in an ``OrderedDict``, oldest first, so every operation
is O(1): appending, moving a key to the end, deleting one anywhere and
reading the first are all constant time on its linked list. (A plain dict
would not do for the victim: after many deletions from its front,
finding the first live key means stepping over the holes they left.)
``LFU`` has its own module, :mod:`~exllm_py.cache.stores.lfu`.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Final

__all__ = ["FIFO", "LRU"]


class LRU:
    """Least recently used first: a read or a store makes a key the newest.

    The default policy of :class:`~exllm_py.cache.stores.memory.MemoryStore`.
    """

    __slots__ = ("__weakref__", "_order")

    name: Final = "lru"

    def __init__(self) -> None:
        self._order: OrderedDict[str, None] = OrderedDict()

    def on_insert(self, key: str) -> None:
        self._order[key] = None

    def on_hit(self, key: str) -> None:
        self._order.move_to_end(key)

    def on_remove(self, key: str) -> None:
        del self._order[key]

    def victim(self) -> str:
        return next(iter(self._order))

    def __repr__(self) -> str:
        return "LRU()"


class FIFO:
    """First stored, first evicted: reads do not change the order.

    For answers that age rather than cool: the oldest answer goes first
    however often it is read. Replacing a key stores it anew, at the back.
    """

    __slots__ = ("__weakref__", "_order")

    name: Final = "fifo"

    def __init__(self) -> None:
        self._order: OrderedDict[str, None] = OrderedDict()

    def on_insert(self, key: str) -> None:
        self._order[key] = None

    def on_hit(self, key: str) -> None:
        pass  # the order is the order of storing

    def on_remove(self, key: str) -> None:
        del self._order[key]

    def victim(self) -> str:
        return next(iter(self._order))

    def __repr__(self) -> str:
        return "FIFO()"
