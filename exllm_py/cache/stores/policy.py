"""The ``EvictionPolicy`` protocol: which entry a bounded store gives up when it is full.

A policy is bookkeeping over keys, nothing else: it never sees entries,
sizes or deadlines, and never removes anything itself. The store tells it
what happened to each key and asks it for a victim when a bound is crossed:

- ``on_insert(key)``: ``key`` was stored, and the policy does not track it.
- ``on_hit(key)``: a tracked ``key`` was read and found live.
- ``on_remove(key)``: a tracked ``key`` left the store, whatever the cause:
  deleted, expired, evicted, cleared, or replaced. A replaced entry is
  removed, then inserted: its answer is new, so it starts over.
- ``victim() -> str``: the tracked key to evict next. Asked only while at
  least one key is tracked; it names the key and keeps tracking it (the
  store evicts it and then calls ``on_remove``).
- ``name``: what the evict telemetry calls the policy (``"lru"``).

The store calls these under its own lock, so a policy needs none. Each
policy instance keeps one store's bookkeeping: a store refuses an instance
another store already uses. Expired entries go before any victim is asked
for, and the entry being stored is inserted only after room is made for
it, so a policy never picks the entry that is coming in.

The policies that ship are in :mod:`~exllm_py.cache.stores.policies`
(``LRU``, ``FIFO``) and :mod:`~exllm_py.cache.stores.lfu` (``LFU``).
"""

from __future__ import annotations

from typing import Final, Protocol

__all__ = ["POLICY_ATTRIBUTES", "EvictionPolicy"]


class EvictionPolicy(Protocol):
    """Orders a store's keys for eviction; see the module docstring for the contract."""

    @property
    def name(self) -> str:
        """The policy's name in evict telemetry: ``"lru"``, ``"lfu"``, ``"fifo"``."""
        ...

    def on_insert(self, key: str) -> None:
        """Start tracking ``key``, just stored."""
        ...

    def on_hit(self, key: str) -> None:
        """Note a read of the tracked ``key``."""
        ...

    def on_remove(self, key: str) -> None:
        """Stop tracking ``key``, gone from the store."""
        ...

    def victim(self) -> str:
        """The tracked key to evict next (there is at least one), still tracked."""
        ...


#: What a store checks an ``EvictionPolicy`` for, at construction.
POLICY_ATTRIBUTES: Final = ("name", "on_insert", "on_hit", "on_remove", "victim")
