"""Metrics: the telemetry bus bridged to Prometheus and OpenTelemetry.

- :mod:`~exllm_py.metrics.prometheus`: ``install(registry=None)``, counters,
  histograms and scrape-time gauges in a ``prometheus_client`` registry
  (the ``exllm_py[prometheus]`` extra);
- :mod:`~exllm_py.metrics.otel`: ``install(meter_provider=None)``, the same
  instruments through an OpenTelemetry ``Meter`` (the ``exllm_py[otel]`` extra);
- :mod:`~exllm_py.metrics.snapshots`: ``SnapshotRecorder``, the cache's counters
  appended to a JSON Lines file over time, which ``exllm-cache report`` draws
  (no extra needed; the line format is :mod:`~exllm_py.metrics.snapshot_format`).

Neither is imported by ``import exllm_py``: a bridge costs nothing until it
is installed, and each imports its library only when it is.

May import: :mod:`exllm_py.telemetry`, :mod:`exllm_py.cache` (stores'
``stats()`` for gauges), ``types`` and ``errors``; never the pipeline or
testing internals.
"""

__all__: list[str] = []  # the bridges are imported by name: exllm_py.metrics.prometheus, .otel
