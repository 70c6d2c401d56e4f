"""Timing helpers shared by the benchmarks: medians of batches, and result rows."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

__all__ = ["Row", "median_ns", "row"]

#: (figure, measured value, target and verdict)
Row = tuple[str, str, str]


def median_ns(fn: Callable[[], object], *, batch: int = 2000, batches: int = 15) -> float:
    """Median per-call time of ``fn`` in nanoseconds, over ``batches`` timed batches."""
    for _ in range(batch // 4):
        fn()  # warm up
    samples = []
    clock = time.perf_counter_ns
    for _ in range(batches):
        started = clock()
        for _ in range(batch):
            fn()
        samples.append((clock() - started) / batch)
    return statistics.median(samples)


def row(figure: str, value: str, target: str, met: bool) -> Row:
    """A result row, printed as it is made."""
    verdict = "ok" if met else "MISSED"
    line = (figure, value, f"{target} [{verdict}]")
    print(f"  {line[0]:<58} {line[1]:>22}   {line[2]}", flush=True)
    return line
