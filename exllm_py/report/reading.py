"""The report's input: a snapshot file or a stats document, told apart by what it holds.

- **Snapshots**: JSON Lines, one object per line with ``at`` and the
  counters (:mod:`exllm_py.metrics.snapshot_format`), as a
  :class:`~exllm_py.metrics.snapshots.SnapshotRecorder` writes them. They
  give the report its charts over time.
- **A stats document**: one JSON object (indented or not) with ``hits`` and
  ``misses``, such as ``attrs.asdict(strategy.stats())`` or
  ``strategy.stats().as_dict()``, or a document holding one such object
  under a key (as ``exllm-cache stats --json`` reports a store's). It has
  totals only, no history.

Anything else is a :class:`ReportInputError` naming the file, the line when
there is one, and what was expected.

May import: :mod:`exllm_py.metrics.snapshot_format`, :mod:`exllm_py.errors`,
the standard library, attrs and orjson.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeAlias

import attrs
import orjson

from exllm_py.errors import ExLLMError
from exllm_py.metrics.snapshot_format import (
    Counters,
    Snapshot,
    SnapshotFormatError,
    counters_from_json,
)

__all__ = [
    "NOT_TTL",
    "ReportInput",
    "ReportInputError",
    "SnapshotInput",
    "StatsInput",
    "read_input",
]

#: The reason a stats document's ``evictions`` count stands for: stores count
#: expired entries (reason ``ttl``) apart, as ``expirations``.
NOT_TTL = "lru, bytes or explicit"

_EXPECTED = (
    'expected snapshot lines (JSON objects with "at", "hits", "misses", ..., as '
    "exllm_py.metrics.snapshots.SnapshotRecorder writes them) or a stats document "
    '(a JSON object with "hits" and "misses", as strategy.stats() gives)'
)
_DETAILS = ("entries", "bytes", "expirations")


class ReportInputError(ExLLMError, ValueError):
    """The report's input cannot be read: the message names the file and what is wrong."""


@attrs.frozen
class SnapshotInput:
    """The lines of a snapshot file, in file order."""

    snapshots: tuple[Snapshot, ...]


@attrs.frozen
class StatsInput:
    """A stats document's counters; ``details``: its entries, bytes and expirations, if given.

    ``under``: the key the counters were found under, ``""`` at the top.
    """

    counters: Counters
    details: Mapping[str, int]
    under: str = ""


ReportInput: TypeAlias = SnapshotInput | StatsInput


def read_input(path: Path) -> ReportInput:
    """What ``path`` holds; :class:`ReportInputError` if it is neither kind."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ReportInputError(f"cannot read {path}: {exc.strerror or exc}") from exc
    if not data.strip():
        raise ReportInputError(f"{path} is empty; {_EXPECTED}")
    try:
        document = orjson.loads(data)
    except orjson.JSONDecodeError:
        return SnapshotInput(_lines(path, data))  # more than one line of JSON, or not JSON
    if isinstance(document, Mapping) and "at" in document:
        return SnapshotInput((_snapshot(path, 1, document),))  # a file of one snapshot
    return _stats(path, document)


def _lines(path: Path, data: bytes) -> tuple[Snapshot, ...]:
    snapshots = []
    for number, line in enumerate(data.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            document = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            raise ReportInputError(
                f"{path}, line {number}: not JSON ({exc}); {_EXPECTED}"
            ) from None
        snapshots.append(_snapshot(path, number, document))
    return tuple(snapshots)


def _snapshot(path: Path, number: int, document: Any) -> Snapshot:
    try:
        return Snapshot.from_json(document)
    except SnapshotFormatError as exc:
        raise ReportInputError(f"{path}, line {number}: not a snapshot: {exc}") from None


def _stats(path: Path, document: Any) -> StatsInput:
    found = _find_counters(document)
    if found is None:
        keys = ", ".join(sorted(map(str, document))[:8]) if isinstance(document, Mapping) else ""
        held = f"a JSON object with keys {keys}" if keys else f"JSON {type(document).__name__}"
        raise ReportInputError(
            f"{path} holds {held}, with no cache counters; {_EXPECTED}. (The cassette "
            "statistics of `exllm-cache stats --json` have no hits or misses to report.)"
        )
    under, counters = found
    fields = dict(counters)
    evictions = fields.get("evictions")
    if isinstance(evictions, int) and not isinstance(evictions, bool):
        fields["evictions"] = {NOT_TTL: evictions} if evictions else {}
        expirations = fields.get("expirations")
        if isinstance(expirations, int) and expirations:
            fields["evictions"]["ttl"] = expirations
    where = f"{path}" + (f', under "{under}"' if under else "")
    try:
        parsed = counters_from_json(fields)
    except SnapshotFormatError as exc:
        raise ReportInputError(f"{where}: not a stats document: {exc}") from None
    details = {
        name: value
        for name in _DETAILS
        if isinstance(value := fields.get(name), int) and not isinstance(value, bool)
    }
    return StatsInput(parsed, details, under)


def _find_counters(document: Any) -> tuple[str, Mapping[str, Any]] | None:
    """The object with ``hits`` and ``misses``: the document, or one of its values."""
    if not isinstance(document, Mapping):
        return None
    if "hits" in document and "misses" in document:
        return "", document
    for key, value in document.items():
        if isinstance(value, Mapping) and "hits" in value and "misses" in value:
            return str(key), value
    return None
