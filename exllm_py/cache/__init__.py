"""The response cache: the ``CacheStrategy`` protocol, keys, strategies and stores.

What lives here: :mod:`~exllm_py.cache.strategy` (the protocol the pipeline
consults), :mod:`~exllm_py.cache.keys` (``cache_key``),
:mod:`~exllm_py.cache.production` (``ProductionStrategy``: read-through cache
with single-flight), :mod:`~exllm_py.cache.nocache` and
:mod:`~exllm_py.cache.stores` (``CacheStore`` protocol, ``MemoryStore``,
``RedisStore``, ``TieredStore``). The test strategy lives in
:mod:`exllm_py.testing`, since it works at the HTTP level.

May import: ``exllm_py.types``, ``request``, ``errors``, ``telemetry``; never
the pipeline, providers or testing.
"""

from exllm_py.cache.keys import cache_key
from exllm_py.cache.nocache import NoCache
from exllm_py.cache.stats import CacheStats
from exllm_py.cache.strategy import CacheLookup, CacheStrategy

__all__ = [
    "CacheLookup",
    "CacheStats",
    "CacheStrategy",
    "NoCache",
    "cache_key",
]
