"""The snapshot file's format: one JSON object per line, the cache's counters at one moment.

A line, as :class:`~exllm_py.metrics.snapshots.SnapshotRecorder` writes it::

    {"format": 1, "recorder": "5f0c2a9e41d7", "at": 1700000060.0,
     "hits": 10, "misses": 4, "puts": 4, "saved_cost_usd": 0.0021,
     "evictions": {"lru": 1},
     "models": {"openai/gpt-4o-mini": {"hits": 10, "saved_cost_usd": 0.0021}}}

Counters are cumulative since the recorder started: a reader takes the
difference between two lines of one ``recorder`` to learn what happened
between them. ``recorder`` is new for every recorder, so the lines of a
restarted process, or of several workers appending to one file, can be told
apart. ``at`` is epoch seconds. ``format`` and ``recorder`` may be missing
in a file written by other means (format 1, one recorder).

May import: the standard library, attrs and orjson only: the report reads
the format without the recorder, the recorder writes it without the report.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any, Final, TypeVar

import attrs
import orjson

__all__ = [
    "FORMAT",
    "Counters",
    "ModelCounts",
    "Snapshot",
    "SnapshotFormatError",
    "counters_from_json",
]

_V = TypeVar("_V")

#: The version written in every line's ``format``.
FORMAT: Final = 1


class SnapshotFormatError(ValueError):
    """A line is not a snapshot: the message names the field and what it should hold."""


@attrs.frozen
class ModelCounts:
    """One model's hits and the cost they saved (USD)."""

    hits: int = 0
    saved_cost_usd: float = 0.0

    def plus(self, other: ModelCounts) -> ModelCounts:
        """Both counts added up."""
        return ModelCounts(self.hits + other.hits, self.saved_cost_usd + other.saved_cost_usd)

    def minus(self, other: ModelCounts) -> ModelCounts:
        """What was counted after ``other`` (an earlier count of the same recorder)."""
        return ModelCounts(self.hits - other.hits, self.saved_cost_usd - other.saved_cost_usd)


@attrs.frozen
class Counters:
    """Lookups, stores, evictions by reason and the money hits saved, counted from zero.

    ``models`` is keyed ``"<provider>/<model>"``.
    """

    hits: int = 0
    misses: int = 0
    puts: int = 0
    saved_cost_usd: float = 0.0
    evictions: Mapping[str, int] = attrs.field(factory=dict)
    models: Mapping[str, ModelCounts] = attrs.field(factory=dict)

    @property
    def lookups(self) -> int:
        return self.hits + self.misses

    @property
    def hit_rate(self) -> float | None:
        """Hits per lookup; ``None`` when there was no lookup to rate."""
        return self.hits / self.lookups if self.lookups else None

    def plus(self, other: Counters) -> Counters:
        """Both sets of counts added up, reason by reason and model by model."""
        return Counters(
            self.hits + other.hits,
            self.misses + other.misses,
            self.puts + other.puts,
            self.saved_cost_usd + other.saved_cost_usd,
            _merged(self.evictions, other.evictions, int.__add__),
            _merged(self.models, other.models, ModelCounts.plus),
        )

    def since(self, earlier: Counters) -> Counters:
        """What was counted after ``earlier``, a previous line of the same recorder.

        When a count went down the recorder started again from zero under the
        same name (a file written by other means, say), and all of ``self``
        is new.
        """
        if self.hits < earlier.hits or self.misses < earlier.misses or self.puts < earlier.puts:
            return self
        return Counters(
            self.hits - earlier.hits,
            self.misses - earlier.misses,
            self.puts - earlier.puts,
            max(self.saved_cost_usd - earlier.saved_cost_usd, 0.0),
            {
                reason: count - earlier.evictions.get(reason, 0)
                for reason, count in self.evictions.items()
                if count != earlier.evictions.get(reason, 0)
            },
            {
                name: counts.minus(earlier.models.get(name, ModelCounts()))
                for name, counts in self.models.items()
                if counts != earlier.models.get(name)
            },
        )


@attrs.frozen
class Snapshot:
    """One line of the file: a recorder's counters at ``at`` (epoch seconds)."""

    at: float
    counters: Counters
    recorder: str = ""

    def to_line(self) -> bytes:
        """The line as written, newline included."""
        counters = self.counters
        document = {
            "format": FORMAT,
            "recorder": self.recorder,
            "at": self.at,
            "hits": counters.hits,
            "misses": counters.misses,
            "puts": counters.puts,
            "saved_cost_usd": counters.saved_cost_usd,
            "evictions": dict(counters.evictions),
            "models": {name: attrs.asdict(m) for name, m in counters.models.items()},
        }
        return orjson.dumps(document) + b"\n"

    @classmethod
    def from_json(cls, document: Any) -> Snapshot:
        """The snapshot a decoded line holds; :class:`SnapshotFormatError` names what is wrong."""
        if not isinstance(document, Mapping):
            raise SnapshotFormatError(f"expected a JSON object, got {_kind(document)}")
        version = document.get("format", FORMAT)
        if version != FORMAT:
            raise SnapshotFormatError(
                f"format {version!r} is not one this version reads (it reads {FORMAT})"
            )
        recorder = document.get("recorder", "")
        if not isinstance(recorder, str):
            raise SnapshotFormatError(f'"recorder" must be a string, got {_kind(recorder)}')
        return cls(_amount(document, "at", required=True), counters_from_json(document), recorder)


def counters_from_json(document: Mapping[str, Any]) -> Counters:
    """The counters of a line (or of any object with the same fields; missing ones are 0)."""
    return Counters(
        _count(document, "hits"),
        _count(document, "misses"),
        _count(document, "puts"),
        _amount(document, "saved_cost_usd"),
        _evictions(document),
        _models(document),
    )


def _evictions(document: Mapping[str, Any]) -> dict[str, int]:
    table = _object(document, "evictions")
    return {str(reason): _count(table, reason, "evictions") for reason in table}


def _models(document: Mapping[str, Any]) -> dict[str, ModelCounts]:
    table = _object(document, "models")
    models = {}
    for name, counts in table.items():
        where = f"models.{name}"
        if not isinstance(counts, Mapping):
            raise SnapshotFormatError(f'"{where}" must be an object, got {_kind(counts)}')
        models[str(name)] = ModelCounts(
            _count(counts, "hits", where), _amount(counts, "saved_cost_usd", where=where)
        )
    return models


def _object(document: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    value = document.get(name, {})
    if not isinstance(value, Mapping):
        raise SnapshotFormatError(f'"{name}" must be an object, got {_kind(value)}')
    return value


def _count(document: Mapping[str, Any], name: str, where: str = "") -> int:
    value = document.get(name, 0)
    # bool is an int to Python, never a count in a file.
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        field = f"{where}.{name}" if where else name
        raise SnapshotFormatError(f'"{field}" must be a count (an integer >= 0), got {value!r}')
    return value


def _amount(
    document: Mapping[str, Any], name: str, *, where: str = "", required: bool = False
) -> float:
    field = f"{where}.{name}" if where else name
    if required and name not in document:
        raise SnapshotFormatError(f'"{field}" is missing')
    value = document.get(name, 0.0)
    if value is None and not required:
        return 0.0
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise SnapshotFormatError(f'"{field}" must be a finite number, got {value!r}')
    return float(value)


def _merged(
    left: Mapping[str, _V], right: Mapping[str, _V], add: Callable[[_V, _V], _V]
) -> dict[str, _V]:
    merged = dict(left)
    for name, value in right.items():
        merged[name] = add(merged[name], value) if name in merged else value
    return merged


def _kind(value: object) -> str:
    return "null" if value is None else type(value).__name__
