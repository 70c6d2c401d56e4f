"""The test cache: HTTP-level record/replay of provider calls, and its pytest plugin.

A test marked ``live_api`` calls the real provider once; the exchange is
recorded as JSON under ``cassettes/`` and replayed on every later run,
offline, with no secrets on disk. What lives here, from the bottom up:

- :mod:`~exllm_py.testing.files`: atomic writes and the timestamp format;
- :mod:`~exllm_py.testing.redact`: credential redaction and the leak check;
- :mod:`~exllm_py.testing.matching`: match keys, their digests, and the diff for misses;
- :mod:`~exllm_py.testing.cassette_file`: the file format, frozen values,
  atomic reads and writes;
- :mod:`~exllm_py.testing.cassette`: a test's cassette while it runs (index,
  record modes, what was played);
- :mod:`~exllm_py.testing.core`: the sans-I/O recording core (replay,
  record or pass through), with the body pumps every shell shares;
- :mod:`~exllm_py.testing.transport` and :mod:`~exllm_py.testing.httpx2_transport`:
  the httpx and httpx2 shells, sync and async (httpx2 only when installed);
- :mod:`~exllm_py.testing.interception`: sealing a ``live_api`` test, by routing
  the network transports of httpx and httpx2 through the core;
- :mod:`~exllm_py.testing.passthrough`: the hosts a ``live_api`` test leaves unrecorded;
- :mod:`~exllm_py.testing.clients`: :func:`http_client` and
  :func:`async_http_client`, clients wired to the active cassette for SDKs
  (``OpenAI(http_client=http_client())``);
- :mod:`~exllm_py.testing.strategy`: ``TestStrategy`` and the cassette in use;
- :mod:`~exllm_py.testing.isolation`: a fresh cache for each test and the
  recorder for ``live_api`` tests, keeping the strategy the user chose;
- :mod:`~exllm_py.testing.paths`, :mod:`~exllm_py.testing.settings` and
  :mod:`~exllm_py.testing.usage`: where cassettes live, the run's settings,
  and the usage file the housekeeping CLI reads;
- :mod:`~exllm_py.testing.vcr_import` and :mod:`~exllm_py.testing.vcr_interop`:
  importing vcrpy cassettes, and keeping vcrpy off the calls recorded here;
- :mod:`~exllm_py.testing.cassette_harvest` and :mod:`~exllm_py.testing.cassette_warming`:
  recorded answers turned into production cache entries, under the keys
  live calls derive, and stored (``exllm-cache warm --from-cassettes``);
- :mod:`~exllm_py.testing.plugin`: the pytest hooks and fixtures.

May import: ``exllm_py.types``, ``errors``, ``extensions``, ``telemetry``,
``providers.sse`` (and ``providers.registry`` lazily, for the key variables),
``cache.strategy``, ``cache.stats`` and the production strategy, and
``client`` lazily (the plugin's isolation reaches the default client), and
``pipeline.credentials`` lazily (interception routes its guard through the
recorder); for warming only, ``pipeline.rehearsal``, ``providers.reading``,
``providers.registry`` and the cache's entries, stores and argument checks
(nothing the plugin imports reaches them). httpx2 is imported only when
installed and asked for. The pipeline never imports this package: it
reaches it only through the ``CacheStrategy`` protocol.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from exllm_py.testing.clients import async_http_client, http_client

__all__ = ["async_http_client", "http_client"]


def __getattr__(name: str) -> Any:
    # Imported on first use: the pytest plugin imports this package in every
    # run, and most runs never build a client here.
    if name in __all__:
        from exllm_py.testing import clients

        return getattr(clients, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
