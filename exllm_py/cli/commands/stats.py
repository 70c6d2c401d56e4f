"""``exllm-cache stats``: how much the cache holds, per provider and per test module.

And, given a production store (``--store disk|redis`` with ``--path`` or
``--redis URL --namespace NS``; ``--redis URL`` alone, as before, names a
Redis namespace), how much that store holds and what it counted of its
use: hits, misses, hit rate and money saved, every process's (see
:mod:`exllm_py.cache.stores.usage`).
"""

from __future__ import annotations

import argparse
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

import attrs

from exllm_py.cache.stores.base import CacheStore
from exllm_py.cache.stores.redis_connect import redact_url_password
from exllm_py.cache.stores.usage import StoreUsage
from exllm_py.cli import redis_admin
from exllm_py.cli.args import Age
from exllm_py.cli.context import CommandFailed, Console
from exllm_py.cli.inventory import CassetteInfo, Inventory, scan
from exllm_py.cli.locate import Location
from exllm_py.cli.production_store import opened_store, store_label
from exllm_py.cli.render import Palette, dollars, json_text, size, table, timestamp
from exllm_py.errors import ExLLMError

__all__ = ["LAST_RUN_WINDOW", "Stats", "StoreStats", "Totals", "run", "store_stats", "summarize"]

#: Plays this close to the newest one in the usage file count as the last run's:
#: each pytest process (xdist worker) stamps its own cassettes as it finishes.
LAST_RUN_WINDOW = timedelta(minutes=10)


@attrs.frozen
class Totals:
    """Cassettes, interactions and bytes of a group of cassettes."""

    cassettes: int = 0
    interactions: int = 0
    bytes: int = 0

    def plus(self, info: CassetteInfo) -> Totals:
        """These totals with ``info`` counted too."""
        return Totals(
            self.cassettes + 1, self.interactions + info.interactions, self.bytes + info.size
        )


@attrs.frozen
class Stats:
    """Everything ``stats`` reports about a cassette dir."""

    cassette_dir: str
    total: Totals
    unreadable: tuple[str, ...]
    oldest: datetime | None
    newest: datetime | None
    older_than: Age
    older: int
    last_run: datetime | None
    unused_in_last_run: tuple[str, ...] | None
    providers: Mapping[str, Totals]
    modules: Mapping[str, Totals]

    def to_json(self) -> dict[str, Any]:
        """The stats as a JSON document (``--json``)."""
        return {
            "cassette_dir": self.cassette_dir,
            **attrs.asdict(self.total),
            "unreadable": list(self.unreadable),
            "oldest_recorded_at": timestamp(self.oldest),
            "newest_recorded_at": timestamp(self.newest),
            "older_than": {"age": str(self.older_than), "cassettes": self.older},
            "last_run_at": timestamp(self.last_run),
            "unused_in_last_run": (
                None if self.unused_in_last_run is None else list(self.unused_in_last_run)
            ),
            "providers": {name: attrs.asdict(t) for name, t in self.providers.items()},
            "modules": {name: attrs.asdict(t) for name, t in self.modules.items()},
        }


def summarize(inventory: Inventory, now: datetime, older_than: Age) -> Stats:
    """The :class:`Stats` of ``inventory`` at ``now``."""
    total = Totals()
    providers: dict[str, Totals] = {}
    modules: dict[str, Totals] = {}
    for info in inventory.cassettes:
        total = total.plus(info)
        providers[info.provider] = providers.get(info.provider, Totals()).plus(info)
        module = info.module or "(top level)"
        modules[module] = modules.get(module, Totals()).plus(info)
    recorded = [info for info in inventory.readable if info.newest is not None]
    oldest = min((i.oldest for i in recorded if i.oldest is not None), default=None)
    newest = max((i.newest for i in recorded if i.newest is not None), default=None)
    older = sum(1 for i in recorded if i.newest is not None and now - i.newest > older_than.delta)
    last_run = max(inventory.usage.values(), default=None)
    unused = None
    if last_run is not None:
        unused = tuple(
            info.name
            for info in inventory.cassettes
            if info.last_played is None or info.last_played < last_run - LAST_RUN_WINDOW
        )
    return Stats(
        cassette_dir=str(inventory.cassette_dir),
        total=total,
        unreadable=tuple(info.name for info in inventory.unreadable),
        oldest=oldest,
        newest=newest,
        older_than=older_than,
        older=older,
        last_run=last_run,
        unused_in_last_run=unused,
        providers=dict(sorted(providers.items())),
        modules=dict(sorted(modules.items())),
    )


@attrs.frozen
class StoreStats:
    """What ``stats`` reports of a production store: where it is, its size, its use.

    ``kind`` is ``disk`` or ``redis``; ``place`` is where it is, as the JSON
    names it (``path``; ``url`` without its password, and ``namespace``).
    ``memory_bytes`` is Redis's own accounting (``None`` for a disk store,
    or a server that does not offer it).
    """

    kind: str
    label: str
    place: Mapping[str, str]
    entries: int
    bytes: int
    usage: StoreUsage
    memory_bytes: int | None = None

    def to_json(self) -> dict[str, Any]:
        document: dict[str, Any] = {**self.place, "entries": self.entries, "bytes": self.bytes}
        if self.kind == "redis":
            document["memory_bytes"] = self.memory_bytes
        return {**document, **self.usage.as_dict()}


def run(options: argparse.Namespace, console: Console, where: Location) -> int:
    """Print the stats of the cassette dir, and of a production store when one is named."""
    stats = summarize(scan(where, console.err), console.now, options.older_than)
    store = store_stats(options, console.env)
    if options.json:
        document = stats.to_json()
        if store is not None:
            document[store.kind] = store.to_json()
        console.say(json_text(document))
        return 0
    palette = Palette.for_stream(console.out, console.env)
    console.say(_text(stats, console.shown(where.cassette_dir), palette))
    if store is not None:
        console.say("\n" + _store_text(store))
    return 0


def store_stats(options: argparse.Namespace, env: Mapping[str, str]) -> StoreStats | None:
    """The stats of the store the options name (``None`` if they name none)."""
    if options.store is None and options.redis is None and options.path is None:
        return None
    if options.store is None:
        # --redis URL alone names a namespace, as it always has, whatever the
        # environment's backend; --path alone a disk store.
        kind = "redis" if options.redis is not None else "disk"
        options = argparse.Namespace(**{**vars(options), "store": kind})
    label = store_label(options, env)
    with opened_store(options, env, create=False) as store:
        try:
            return _measured(store, label)
        except ExLLMError:
            raise  # already says what happened, and where
        except Exception as exc:  # the store could not be reached or read
            raise CommandFailed(f"could not read the {label}: {exc}") from exc


def _measured(store: CacheStore, label: str) -> StoreStats:
    # Imported here, as opened_store imports them: only when a store is named.
    from exllm_py.cache.stores.disk import DiskStore
    from exllm_py.cache.stores.redis import RedisStore

    if isinstance(store, RedisStore):
        # The exact size, from a full walk of the namespace (the store's own
        # stats() bounds its walk), at the URL and namespace the store resolved.
        totals = redis_admin.stats(store.url, store.namespace)
        place = {"url": redact_url_password(store.url), "namespace": store.namespace}
        return StoreStats(
            "redis",
            label,
            place,
            totals.entries,
            totals.bytes,
            store.usage(),
            totals.memory_bytes,
        )
    if not isinstance(store, DiskStore):
        raise CommandFailed(f"the {label} keeps no counts of its use")
    now = store.stats()
    place = {"path": str(store.directory)}
    return StoreStats("disk", label, place, now.entries, now.bytes, store.usage())


def _store_text(store: StoreStats) -> str:
    if store.kind == "redis":
        url, namespace = store.place["url"], store.place["namespace"]
        memory = "" if store.memory_bytes is None else f", {size(store.memory_bytes)} in memory"
        head = (
            f"redis {url} namespace {namespace}: {store.entries} entries, "
            f"{size(store.bytes)} stored{memory}"
        )
    else:
        head = f"{store.label}: {store.entries} entries, {size(store.bytes)} stored"
    usage = store.usage
    if usage.hit_rate is None:
        return f"{head}\n  no lookup counted yet"
    misses = f"{usage.misses} miss" + ("" if usage.misses == 1 else "es")
    hits = f"{usage.hits} hit" + ("" if usage.hits == 1 else "s")
    return (
        f"{head}\n  hit rate {usage.hit_rate:.1%} ({hits}, {misses}), "
        f"saved {dollars(usage.saved_cost_usd)} (counted by every process using it)"
    )


def _text(stats: Stats, shown_dir: str, palette: Palette) -> str:
    unreadable = len(stats.unreadable)
    cassettes = str(stats.total.cassettes)
    if unreadable:
        cassettes += f" ({unreadable} unreadable: see `exllm-cache verify`)"
    if stats.last_run is None or stats.unused_in_last_run is None:
        last_run = "unknown: no usage file yet (the pytest plugin writes it when tests run)"
    else:
        last_run = (
            f"{timestamp(stats.last_run)}; {_count(len(stats.unused_in_last_run))} not played by it"
        )
    recorded = "-"
    if stats.oldest is not None:
        recorded = f"{timestamp(stats.oldest)} (oldest) to {timestamp(stats.newest)} (newest)"
    rows = [
        ("cassette dir", shown_dir),
        ("cassettes", cassettes),
        ("interactions", str(stats.total.interactions)),
        ("size", size(stats.total.bytes)),
        ("recorded", recorded),
        (f"older than {stats.older_than}", _count(stats.older)),
        ("last run", last_run),
    ]
    width = max(len(label) for label, _ in rows)
    lines = [f"{palette.bold(label.ljust(width))}  {value}" for label, value in rows]
    if stats.total.cassettes:
        lines += ["", _group_table("provider", stats.providers.items(), palette)]
        lines += ["", _group_table("module", stats.modules.items(), palette)]
    return "\n".join(lines)


def _group_table(title: str, groups: Iterable[tuple[str, Totals]], palette: Palette) -> str:
    rows = [(name, str(t.cassettes), str(t.interactions), size(t.bytes)) for name, t in groups]
    headers = (title, "cassettes", "interactions", "size")
    return table(headers, rows, right={1, 2, 3}, palette=palette)


def _count(cassettes: int) -> str:
    return f"{cassettes} cassette" + ("" if cassettes == 1 else "s")
