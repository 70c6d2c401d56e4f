"""What the report shows, computed from its input: totals, points over time, top models.

Snapshot lines hold counters cumulative per recorder. Walking the lines in
time order, each line adds what its recorder counted since that recorder's
previous line (:meth:`~exllm_py.metrics.snapshot_format.Counters.since`);
a recorder's first line adds all it holds, since it counted from zero. So
the lines of a restarted process, or of workers sharing a file, add up
instead of overwriting each other. Each line is then a :class:`Point`: the
hits and lookups of the interval it closes (its hit rate) and the saved
cost so far.

A long recording is drawn from at most :data:`MAX_POINTS` points: lines
close in time are merged (:func:`merged`), their interval counts added,
which keeps each point's hit rate exact for its longer interval.

May import: :mod:`exllm_py.metrics.snapshot_format`,
:mod:`exllm_py.report.reading`, the standard library and attrs.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Final

import attrs

from exllm_py.metrics.snapshot_format import Counters, ModelCounts, Snapshot
from exllm_py.report.reading import ReportInput, SnapshotInput

__all__ = [
    "MAX_POINTS",
    "Figures",
    "Point",
    "figures_of",
    "merged",
    "sorted_counts",
    "top_models",
]

#: The most points a chart over time is drawn from.
MAX_POINTS: Final = 400


@attrs.frozen
class Point:
    """The interval that ends at ``at``: its hits and lookups, and the cost saved up to ``at``."""

    at: float
    hits: int
    lookups: int
    saved_cost_usd: float

    @property
    def hit_rate(self) -> float | None:
        """The interval's hits per lookup; ``None`` when it had no lookup."""
        return self.hits / self.lookups if self.lookups else None


@attrs.frozen
class Figures:
    """Everything the page draws.

    ``points`` is empty for a stats document (``over_time`` is then false);
    ``details`` holds a stats document's entries, bytes and expirations;
    ``under`` where in it the counters were.
    """

    totals: Counters
    points: tuple[Point, ...] = ()
    snapshots: int = 0
    recorders: int = 0
    over_time: bool = True
    details: Mapping[str, int] = attrs.field(factory=dict)
    under: str = ""


def figures_of(given: ReportInput) -> Figures:
    """The figures of a snapshot file or of a stats document."""
    if isinstance(given, SnapshotInput):
        return _over_time(given.snapshots)
    return Figures(given.counters, over_time=False, details=given.details, under=given.under)


def _over_time(snapshots: Sequence[Snapshot]) -> Figures:
    ordered = sorted(snapshots, key=lambda s: s.at)  # stable: a recorder's lines keep their order
    latest: dict[str, Counters] = {}
    totals = Counters()
    points = []
    for snapshot in ordered:
        previous = latest.get(snapshot.recorder)
        added = snapshot.counters if previous is None else snapshot.counters.since(previous)
        latest[snapshot.recorder] = snapshot.counters
        totals = totals.plus(added)
        points.append(Point(snapshot.at, added.hits, added.lookups, totals.saved_cost_usd))
    return Figures(totals, tuple(points), len(ordered), len(latest))


def merged(points: Sequence[Point], limit: int = MAX_POINTS) -> tuple[Point, ...]:
    """At most ``limit`` points: ``points`` in equal slices of time, each slice's added up."""
    if len(points) <= limit:
        return tuple(points)
    start, end = points[0].at, points[-1].at
    width = (end - start) / limit
    slices: dict[int, list[Point]] = {}
    for point in points:
        # The last point would open a slice of its own: it closes the last one.
        index = min(int((point.at - start) / width), limit - 1) if width > 0 else 0
        slices.setdefault(index, []).append(point)
    return tuple(
        Point(
            group[-1].at,
            sum(p.hits for p in group),
            sum(p.lookups for p in group),
            group[-1].saved_cost_usd,
        )
        for _, group in sorted(slices.items())
    )


def top_models(
    models: Mapping[str, ModelCounts], limit: int
) -> tuple[list[tuple[str, ModelCounts]], int]:
    """The ``limit`` models that saved the most (then hit the most), and how many are left out."""
    ranked = sorted(models.items(), key=lambda item: (-item[1].saved_cost_usd, -item[1].hits))
    return ranked[:limit], max(len(ranked) - limit, 0)


def sorted_counts(counts: Iterable[tuple[str, int]]) -> list[tuple[str, int]]:
    """Largest count first; equal counts by name."""
    return sorted(counts, key=lambda item: (-item[1], item[0]))
