"""Cache stores: where the production strategy keeps entries, behind the ``CacheStore`` protocol.

``base`` (the protocol), ``memory`` (``MemoryStore``: TTL + LRU in process,
or another eviction policy: ``policy`` states their protocol, ``policies``
holds ``LRU`` and ``FIFO``, ``lfu`` holds ``LFU``),
``redis`` (``RedisStore``: shared across processes; needs the ``redis``
extra, imported only when a store is created) with its parts
``redis_codec`` (value encoding), ``redis_faults`` (every Redis fault turns
into a miss), ``redis_connect`` (clients per process and event loop),
``redis_admin`` (namespace statistics and clearing, for housekeeping),
``redis_tags`` (the tag index), ``redis_invalidation`` (``invalidate``'s
walk) and ``redis_usage`` (hits, misses and saved cost kept in Redis),
``tiered`` (``TieredStore``: memory in front of Redis), ``disk``
(``DiskStore``: SQLite, kept across restarts; imported on first use, so that
``import exllm_py`` never loads ``sqlite3``) with ``disk_schema``, ``disk_faults`` and
``disk_labels``, ``usage`` (the hit/miss/saved-cost counts disk and Redis
stores keep), ``env`` (the store the environment names), ``breaker`` (the
circuit breaker that keeps a failing store from slowing calls, and its
last error), ``sweeper`` (expiry sweeps) and ``deadlines`` (the queue of
deadlines a ``MemoryStore`` expires entries by). Every public name is
imported on first use.

May import: ``exllm_py.cache.entry``, ``cache.stats``, ``cache.arguments``
(constructor checks), ``cache.invalidation`` (the selector), ``telemetry``,
``errors``, ``forksafe``, ``secret_patterns``; never the pipeline,
providers or testing.
"""

from typing import TYPE_CHECKING, Any

from exllm_py.lazy_exports import LazyExports

if TYPE_CHECKING:
    from exllm_py.cache.stores.base import CacheStore
    from exllm_py.cache.stores.disk import DiskStore
    from exllm_py.cache.stores.lfu import LFU
    from exllm_py.cache.stores.memory import MemoryStore
    from exllm_py.cache.stores.policies import FIFO, LRU
    from exllm_py.cache.stores.policy import EvictionPolicy

__all__ = ["FIFO", "LFU", "LRU", "CacheStore", "DiskStore", "EvictionPolicy", "MemoryStore"]

# Public name -> its module, imported on first use (PEP 562): whoever needs
# one store, or only ``base``, does not load the others.
_ORIGINS: dict[str, str] = {
    "FIFO": "exllm_py.cache.stores.policies",
    "LFU": "exllm_py.cache.stores.lfu",
    "LRU": "exllm_py.cache.stores.policies",
    "CacheStore": "exllm_py.cache.stores.base",
    "DiskStore": "exllm_py.cache.stores.disk",
    "EvictionPolicy": "exllm_py.cache.stores.policy",
    "MemoryStore": "exllm_py.cache.stores.memory",
}


_EXPORTS = LazyExports(__name__, _ORIGINS, globals())


def __getattr__(name: str) -> Any:
    return _EXPORTS.attribute(name)


def __dir__() -> list[str]:
    return _EXPORTS.names()
