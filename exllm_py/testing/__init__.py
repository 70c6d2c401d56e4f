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
- :mod:`~exllm_py.testing.transport`: the recording transport (a sans-I/O
  core with sync and async shells);
- :mod:`~exllm_py.testing.strategy`: ``TestStrategy`` and the cassette in use;
- :mod:`~exllm_py.testing.isolation`: a fresh cache for each test and the
  recorder for ``live_api`` tests, keeping the strategy the user chose;
- :mod:`~exllm_py.testing.paths`, :mod:`~exllm_py.testing.settings` and
  :mod:`~exllm_py.testing.usage`: where cassettes live, the run's settings,
  and the usage file the housekeeping CLI reads;
- :mod:`~exllm_py.testing.vcr_import` and :mod:`~exllm_py.testing.vcr_interop`:
  importing vcrpy cassettes, and keeping vcrpy off the calls recorded here;
- :mod:`~exllm_py.testing.plugin`: the pytest hooks and fixtures.

May import: ``exllm_py.types``, ``errors``, ``extensions``, ``telemetry``,
``providers.sse`` (and ``providers.registry`` lazily, for the key variables),
``cache.strategy``, ``cache.stats`` and the production strategy, and
``client`` lazily (the plugin's isolation reaches the default client). The
pipeline never imports this package: it reaches it only through the
``CacheStrategy`` protocol.
"""

__all__: list[str] = []
