"""The metric bridges' cost: a chat() hit with each bridge installed against the same hit without.

A hit with no telemetry handler takes the hit path's fast branch; a bridge
attaches a handler to ``("exllm", "cache", "hit")``, so every hit builds
its event and the bridge counts it. Same process, same request (the one
bench/hit_path.py times), in alternating batches of 500 hits (none, then
each bridge installed, timed and uninstalled), the best of 40 batches each.

Each bridge is an entry of :data:`BRIDGES`: a name and a function that
installs it and returns what uninstalls it. A bridge whose library is
missing is skipped with a note.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable

import structlog

import exllm_py
from bench.hit_path import MESSAGES
from bench.measure import Row, row
from exllm_py.cache.production import ProductionStrategy
from exllm_py.cache.stores.memory import MemoryStore
from exllm_py.demo.server import SimulatedOpenAI

__all__ = ["BRIDGES", "TARGET_RATIO", "main"]

#: A hit with a bridge installed may take at most this many times the hit without.
TARGET_RATIO = 1.5
_ROUNDS = 40
_BATCH = 500

Uninstall = Callable[[], object]


def _prometheus() -> Uninstall:
    from prometheus_client import CollectorRegistry

    from exllm_py.metrics import prometheus

    return prometheus.install(CollectorRegistry()).uninstall


def _otel() -> Uninstall:
    # The real SDK behind the API, read by an in-memory reader (no collection while
    # timed: a periodic reader collects off the hit path, in its own thread).
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader

    from exllm_py.metrics import otel

    provider = MeterProvider(metric_readers=[InMemoryMetricReader()], shutdown_on_exit=False)
    return otel.install(provider).uninstall


#: (name, install): ``install()`` attaches the bridge and returns its uninstall.
BRIDGES: list[tuple[str, Callable[[], Uninstall]]] = [
    ("Prometheus", _prometheus),
    ("OpenTelemetry", _otel),
]


def main() -> list[Row]:
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.INFO))
    exllm_py.telemetry.refresh_logging()
    print("\nMetric bridges (chat() hit from MemoryStore, bridge installed vs not)")
    bridges = _available()
    with SimulatedOpenAI(latency=0.0) as server:
        client = exllm_py.Client(cache_strategy=ProductionStrategy(MemoryStore()))

        def hit() -> object:
            return client.chat(
                "openai",
                MESSAGES,
                model="gpt-4o-mini",
                temperature=0,
                base_url=server.url,
                api_key="bench-key",
            )

        assert not hit().metadata["from_cache"]  # the one miss
        assert hit().metadata["from_cache"]
        baseline, each = _timed(hit, bridges)
    rows = [row("chat() hit, no bridge installed", f"{baseline / 1000:.2f} µs", "-", True)]
    for (name, _), elapsed in zip(bridges, each, strict=True):
        ratio = elapsed / baseline
        rows.append(
            row(
                f"chat() hit, {name} bridge installed",
                f"{elapsed / 1000:.2f} µs = {ratio:.2f}x",
                f"≤ {TARGET_RATIO}x without",
                ratio <= TARGET_RATIO,
            )
        )
    return rows


def _available() -> list[tuple[str, Callable[[], Uninstall]]]:
    """The bridges whose library is installed: each is tried once, then taken out again."""
    found = []
    for name, install in BRIDGES:
        try:
            uninstall = install()
        except ImportError as exc:
            print(f"  {name}: skipped ({exc})")
            continue
        uninstall()
        found.append((name, install))
    return found


def _timed(
    hit: Callable[[], object], bridges: list[tuple[str, Callable[[], Uninstall]]]
) -> tuple[float, list[float]]:
    """Per hit, the best batch: without a bridge, and with each bridge installed.

    Batches alternate (none, each bridge, none, ...): a burst of load on the
    machine slows the batches around it alike, and the best batch of each
    is its cost with the least of it.
    """
    installs: list[Callable[[], Uninstall] | None] = [None, *(pair[1] for pair in bridges)]
    best = [math.inf] * len(installs)
    for _ in range(_BATCH):
        hit()  # warm up
    for _ in range(_ROUNDS):
        for slot, install in enumerate(installs):
            uninstall = None if install is None else install()
            try:
                best[slot] = min(best[slot], _batch_ns(hit))
            finally:
                if uninstall is not None:
                    uninstall()
    return best[0], best[1:]


def _batch_ns(hit: Callable[[], object]) -> float:
    clock = time.perf_counter_ns
    started = clock()
    for _ in range(_BATCH):
        hit()
    return (clock() - started) / _BATCH


if __name__ == "__main__":
    main()
