"""Warming a production store from cassettes (``exllm-cache warm --from-cassettes DIR``).

A test suite's recordings become a pre-filled cache for a staging
environment: :func:`warm_from_cassettes` stores every answer the cassettes
yield (:mod:`~exllm_py.testing.cassette_harvest` says which, and under
which keys: exactly those the live calls derive), except where the store
already holds the key. Each entry is read back once set, and reported as
a ``put`` (as the production strategy reports its own) only if it is
there: a store may decline an entry (too large for it), and a backend may
refuse it (an unreachable Redis) without its ``set`` raising.
:func:`harvest_cassettes` is the same without a store: what the cassettes
would yield.
"""

from __future__ import annotations

import collections
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, Literal, TypeAlias

import attrs

from exllm_py.cache.arguments import check_store
from exllm_py.cache.invalidation import holds_key
from exllm_py.cache.production import report_put
from exllm_py.cache.stores.base import CacheStore
from exllm_py.request import DEFAULT_TTL, UseDefault
from exllm_py.testing.cassette_harvest import (
    Harvest,
    HarvestedEntry,
    HarvestProgress,
    Skip,
    SkipReason,
    harvest_cassettes,
)

__all__ = [
    "CassetteWarmProgress",
    "CassetteWarmReport",
    "Harvest",
    "HarvestProgress",
    "HarvestedEntry",
    "Skip",
    "SkipReason",
    "WarmedOutcome",
    "harvest_cassettes",
    "warm_from_cassettes",
]


#: What became of one harvested entry: ``declined`` when set but not there when read back.
WarmedOutcome: TypeAlias = Literal["stored", "already_cached", "declined"]


@attrs.frozen
class CassetteWarmProgress:
    """Where warming is: ``done`` of ``total`` entries handled; the last one's key and outcome."""

    done: int
    total: int
    key: str
    outcome: WarmedOutcome


@attrs.frozen
class CassetteWarmReport:
    """What warming did: entries stored (or, in a dry run, that would be), those already there.

    ``stored``, ``already_cached`` and ``declined`` (set, but not there when
    read back) count entries (keys); ``skipped`` counts interactions per
    reason; ``harvested`` the interactions that yielded entries.
    ``unreadable`` maps cassette files that could not be read to why.
    """

    stored: int
    already_cached: int
    declined: int
    skipped: Mapping[str, int]
    cassettes: int
    interactions: int
    harvested: int
    unreadable: Mapping[Path, str] = attrs.field(factory=dict)
    dry_run: bool = False

    def to_dict(self) -> dict[str, Any]:
        """The report as JSON-ready values (paths as strings)."""
        return {
            "stored": self.stored,
            "already_cached": self.already_cached,
            "declined": self.declined,
            "skipped": dict(self.skipped),
            "cassettes": self.cassettes,
            "interactions": self.interactions,
            "harvested": self.harvested,
            "unreadable": {str(path): why for path, why in self.unreadable.items()},
            "dry_run": self.dry_run,
        }


def warm_from_cassettes(
    store: CacheStore,
    directory: Path,
    *,
    namespace: str | None = None,
    tags: Iterable[str] = (),
    ttl: float | UseDefault | None = DEFAULT_TTL,
    dry_run: bool = False,
    progress: Callable[[CassetteWarmProgress], object] | None = None,
) -> CassetteWarmReport:
    """Store in ``store`` what the cassettes under ``directory`` yield, in ``namespace``.

    Entries live ``ttl`` seconds (the store's ``default_ttl`` unless given;
    ``None``: never expire), from the store's clock, labelled with ``tags``.
    A key the store already holds is left as it is. ``dry_run`` stores
    nothing and reports what would be stored. ``progress`` is called after
    each entry (the cassettes are all read first). Errors a store or
    ``progress`` raises propagate; what was stored before stays.
    """
    check_store("warm_from_cassettes store", store)
    entry_ttl = store.default_ttl if isinstance(ttl, UseDefault) else ttl
    harvest = harvest_cassettes(
        directory, namespace=namespace, tags=tags, ttl=entry_ttl, now=store.clock()
    )
    outcomes = collections.Counter[WarmedOutcome]()
    total = len(harvest.entries)
    for done, harvested in enumerate(harvest.entries, 1):
        outcome = _warm_one(store, harvested, dry_run=dry_run)
        outcomes[outcome] += 1
        if progress is not None:
            progress(CassetteWarmProgress(done, total, harvested.key, outcome))
    return CassetteWarmReport(
        stored=outcomes["stored"],
        already_cached=outcomes["already_cached"],
        declined=outcomes["declined"],
        skipped=harvest.skipped,
        cassettes=harvest.cassettes,
        interactions=harvest.interactions,
        harvested=harvest.harvested,
        unreadable=harvest.unreadable,
        dry_run=dry_run,
    )


def _warm_one(store: CacheStore, harvested: HarvestedEntry, *, dry_run: bool) -> WarmedOutcome:
    # Presence is asked without reading (holds_key): warming must not count hits
    # and misses in the store's statistics.
    if holds_key(store, harvested.key):
        return "already_cached"
    if dry_run:
        return "stored"
    store.set(harvested.key, harvested.entry)
    if not holds_key(store, harvested.key):
        return "declined"
    report_put(harvested.key, harvested.entry)
    return "stored"
