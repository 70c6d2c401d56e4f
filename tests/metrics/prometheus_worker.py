"""A worker process for the multiprocess tests: one miss and some hits through a shared DiskStore.

Run as ``python -m tests.metrics.prometheus_worker DIRECTORY NAME HITS`` with
``PROMETHEUS_MULTIPROC_DIR`` set: it installs the Prometheus bridge in the
default registry (as a gunicorn worker would), asks its own question once
(a miss, stored in the DiskStore at DIRECTORY, shared by every worker) and
then HITS more times (hits), and exits; its metrics stay in the files.
"""

from __future__ import annotations

import sys

import exllm_py
from exllm_py.cache import DiskStore, ProductionStrategy
from exllm_py.metrics import prometheus

__all__ = ["main"]


def main(directory: str, name: str, hits: int) -> None:
    metrics = prometheus.install()
    store = DiskStore(directory)
    metrics.watch(store, name="shared")
    client = exllm_py.Client(cache_strategy=ProductionStrategy(store))
    question = [{"role": "user", "content": f"a question of worker {name}"}]
    answers = [client.chat("mock", question, model="mock-1") for _ in range(1 + hits)]
    # The worker's own check: the sequence was the one the test counts on.
    assert [answer.metadata["from_cache"] for answer in answers] == [False] + [True] * hits
    client.close()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]))
