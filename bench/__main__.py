"""``python -m bench``: run every benchmark and print a summary table."""

from __future__ import annotations

import importlib
import sys

from bench.measure import Row

MODULES = [
    "bench.hit_path",
    "bench.import_memory",
    "bench.stream_cache",
    "bench.replay",
    "bench.whole_run",
    "bench.sdk_replay",
    "bench.redis_bench",
    "bench.disk_bench",
    "bench.metrics_bench",
    "bench.semantic_bench",
]


def run() -> int:
    rows: list[Row] = []
    for name in MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            print(f"\n{name}: skipped ({exc})")
            continue
        rows += module.main()
    missed = [figure for figure, _, target in rows if "MISSED" in target]
    print(f"\n{len(rows)} figures, {len(missed)} missed target(s)")
    for figure in missed:
        print(f"  missed: {figure}")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(run())
