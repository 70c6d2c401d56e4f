"""The response cache: the ``CacheStrategy`` protocol, keys, strategies and stores.

What lives here: :mod:`~exllm_py.cache.strategy` (the protocol the pipeline
consults), :mod:`~exllm_py.cache.keys` (``cache_key``),
:mod:`~exllm_py.cache.production` (``ProductionStrategy``: read-through cache
with single-flight; :mod:`~exllm_py.cache.stream_flow` for streams),
:mod:`~exllm_py.cache.nocache`,
:mod:`~exllm_py.cache.distributed_lock` (cross-process single-flight),
:mod:`~exllm_py.cache.stores` (``CacheStore`` protocol, ``MemoryStore``,
``RedisStore``, ``TieredStore``; eviction policies ``LRU``, ``LFU``,
``FIFO``) and :mod:`~exllm_py.cache.warming` (``strategy.warm(calls)``,
``WarmReport``). ``TestStrategy`` works at the HTTP level and lives in
:mod:`exllm_py.testing`; it is reachable from here by name only.

May import: ``exllm_py.types``, ``request``, ``errors``, ``telemetry``,
``forksafe``, ``assembly`` (a stream's chunks to its answer and back);
never the pipeline, the client or testing at import time (``TestStrategy``
is looked up lazily; warming imports the pipeline and the client when it
runs). The
providers' registry is read, lazily, only by ``cache_key`` for a provider's
defaults.
"""

from typing import Any

from exllm_py.cache.keys import cache_key
from exllm_py.cache.nocache import NoCache
from exllm_py.cache.production import ProductionStrategy
from exllm_py.cache.stats import CacheStats
from exllm_py.cache.stores.base import CacheStore
from exllm_py.cache.stores.lfu import LFU
from exllm_py.cache.stores.memory import MemoryStore
from exllm_py.cache.stores.policies import FIFO, LRU
from exllm_py.cache.stores.policy import EvictionPolicy
from exllm_py.cache.stores.redis import RedisStore
from exllm_py.cache.stores.tiered import TieredStore
from exllm_py.cache.strategy import CacheLookup, CacheStrategy
from exllm_py.cache.warming import WarmFailure, WarmProgress, WarmReport

__all__ = [
    "FIFO",
    "LFU",
    "LRU",
    "CacheLookup",
    "CacheStats",
    "CacheStore",
    "CacheStrategy",
    "DiskStore",
    "DiskStoreUnavailable",
    "EvictionPolicy",
    "MemoryStore",
    "NoCache",
    "ProductionStrategy",
    "RedisStore",
    "TestStrategy",
    "TieredStore",
    "WarmFailure",
    "WarmProgress",
    "WarmReport",
    "cache_key",
]


def __getattr__(name: str) -> Any:
    if name == "TestStrategy":
        from exllm_py.testing.strategy import TestStrategy

        return TestStrategy
    if name == "DiskStore":  # imported on first use: it loads sqlite3
        from exllm_py.cache.stores.disk import DiskStore

        return DiskStore
    if name == "DiskStoreUnavailable":
        from exllm_py.cache.stores.disk_faults import DiskStoreUnavailable

        return DiskStoreUnavailable
    raise AttributeError(f"module 'exllm_py.cache' has no attribute {name!r}")
