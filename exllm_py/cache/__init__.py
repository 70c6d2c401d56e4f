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
runs). Every public name here is imported on first use, so that
importing the client loads only the small modules a call needs. The
providers' registry is read, lazily, only by ``cache_key`` for a provider's
defaults.
"""

from typing import TYPE_CHECKING, Any

from exllm_py.lazy_exports import LazyExports

if TYPE_CHECKING:
    from exllm_py.cache.keys import cache_key
    from exllm_py.cache.nocache import NoCache
    from exllm_py.cache.production import ProductionStrategy
    from exllm_py.cache.semantic.cache import SemanticCache
    from exllm_py.cache.stats import CacheStats
    from exllm_py.cache.stores.base import CacheStore
    from exllm_py.cache.stores.disk import DiskStore
    from exllm_py.cache.stores.disk_faults import DiskStoreUnavailable
    from exllm_py.cache.stores.lfu import LFU
    from exllm_py.cache.stores.memory import MemoryStore
    from exllm_py.cache.stores.policies import FIFO, LRU
    from exllm_py.cache.stores.policy import EvictionPolicy
    from exllm_py.cache.stores.redis import RedisStore
    from exllm_py.cache.stores.tiered import TieredStore
    from exllm_py.cache.strategy import CacheLookup, CacheStrategy
    from exllm_py.cache.warming import WarmFailure, WarmProgress, WarmReport
    from exllm_py.testing.strategy import TestStrategy

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
    "SemanticCache",
    "TestStrategy",
    "TieredStore",
    "WarmFailure",
    "WarmProgress",
    "WarmReport",
    "cache_key",
]

# Public name -> the module that defines it, imported on first use (PEP 562).
# The client imports this package's small modules (arguments, strategy) on
# every ``import exllm_py``-and-call; it must not pay for the stores, the
# production strategy, warming or health that a call may never use.
_ORIGINS: dict[str, str] = {
    "FIFO": "exllm_py.cache.stores.policies",
    "LFU": "exllm_py.cache.stores.lfu",
    "LRU": "exllm_py.cache.stores.policies",
    "CacheLookup": "exllm_py.cache.strategy",
    "CacheStats": "exllm_py.cache.stats",
    "CacheStore": "exllm_py.cache.stores.base",
    "CacheStrategy": "exllm_py.cache.strategy",
    "DiskStore": "exllm_py.cache.stores.disk",
    "DiskStoreUnavailable": "exllm_py.cache.stores.disk_faults",
    "EvictionPolicy": "exllm_py.cache.stores.policy",
    "MemoryStore": "exllm_py.cache.stores.memory",
    "NoCache": "exllm_py.cache.nocache",
    "ProductionStrategy": "exllm_py.cache.production",
    "RedisStore": "exllm_py.cache.stores.redis",
    "SemanticCache": "exllm_py.cache.semantic.cache",  # numpy loads when one is built
    "TestStrategy": "exllm_py.testing.strategy",
    "TieredStore": "exllm_py.cache.stores.tiered",
    "WarmFailure": "exllm_py.cache.warming",
    "WarmProgress": "exllm_py.cache.warming",
    "WarmReport": "exllm_py.cache.warming",
    "cache_key": "exllm_py.cache.keys",
}


_EXPORTS = LazyExports(__name__, _ORIGINS, globals())


def __getattr__(name: str) -> Any:
    return _EXPORTS.attribute(name)


def __dir__() -> list[str]:
    return _EXPORTS.names()
