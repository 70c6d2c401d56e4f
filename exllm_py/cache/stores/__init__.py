"""Cache stores: where the production strategy keeps entries, behind the ``CacheStore`` protocol.

``base`` (the protocol), ``memory`` (``MemoryStore``: TTL + LRU in process),
``redis`` (``RedisStore``: shared across processes; needs the ``redis``
extra, imported only when a store is created) with its parts
``redis_codec`` (value encoding), ``redis_faults`` (every Redis fault turns
into a miss), ``redis_connect`` (clients per process and event loop) and
``redis_admin`` (namespace statistics and clearing, for housekeeping),
``tiered`` (``TieredStore``: memory in front of Redis), ``breaker`` (the
circuit breaker that keeps a failing Redis from slowing calls) and
``sweeper`` (expiry sweeps).

May import: ``exllm_py.cache.entry``, ``cache.stats``, ``cache.arguments``
(constructor checks), ``telemetry``, ``errors``, ``forksafe``; never the pipeline,
providers or testing.
"""

from exllm_py.cache.stores.base import CacheStore
from exllm_py.cache.stores.memory import MemoryStore

__all__ = ["CacheStore", "MemoryStore"]
