"""DiskStore invalidation: indexed filters in one transaction, events, the v1 upgrade, processes."""

from __future__ import annotations

import multiprocessing
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from exllm_py import telemetry
from exllm_py.cache.entry import CacheEntry, EntryLabels, dump_entry, entry_labels, make_entry
from exllm_py.cache.invalidation import Invalidation
from exllm_py.cache.stores.breaker import CircuitBreaker
from exllm_py.cache.stores.disk import DiskStore
from exllm_py.cache.stores.disk_faults import DiskStoreUnavailable
from exllm_py.cache.stores.disk_labels import count_statement, invalidation_statement
from exllm_py.cache.stores.disk_schema import DATABASE_NAME, SCHEMA_VERSION
from exllm_py.types import LLMResponse
from tests.clocks import FakeClock

SPAWN = multiprocessing.get_context("spawn")
JOIN_TIMEOUT = 60
EVERY = frozenset({"docs-a", "docs-b", "claude", "mini", "embed", "plain"})

Evictions = list[tuple[dict[str, Any], dict[str, Any]]]


def labelled(
    clock: FakeClock,
    provider: str = "openai",
    model: str = "gpt-4o",
    namespace: str | None = None,
    tags: tuple[str, ...] = (),
    ttl: float | None = 900.0,
    key: str = "k",
) -> CacheEntry:
    """An entry as a call with these labels stores it."""
    response = LLMResponse(f"answer for {key}", model, provider, raw={"key": key})
    return make_entry(response, key, clock(), ttl, entry_labels(provider, model, namespace, tags))


def unlabelled(clock: FakeClock, key: str, ttl: float | None = 900.0) -> CacheEntry:
    """An entry as the previous release stored it: no labels."""
    return make_entry(LLMResponse(f"answer for {key}", "m", "mock"), key, clock(), ttl)


def fill(store: DiskStore, clock: FakeClock) -> None:
    """Six entries, told apart by their labels; ``embed`` as ``@cached`` labels its entries."""
    store.set("docs-a", labelled(clock, tags=("docs-v3", "tenant-a"), key="docs-a"))
    store.set("docs-b", labelled(clock, namespace="b", tags=("docs-v3", "tenant-b"), key="docs-b"))
    store.set("claude", labelled(clock, "anthropic", "claude-x", key="claude"))
    store.set("mini", labelled(clock, model="gpt-4o-mini", namespace="b", key="mini"))
    store.set("embed", labelled(clock, "function", "tools.embed", "vectors", key="embed"))
    store.set("plain", unlabelled(clock, "plain"))


def rows(directory: Path, sql: str, parameters: tuple[object, ...] = ()) -> list[tuple[Any, ...]]:
    """Rows straight from the database file, behind the store's back."""
    connection = sqlite3.connect(directory / DATABASE_NAME)
    try:
        return connection.execute(sql, parameters).fetchall()
    finally:
        connection.close()


def described(value: object) -> str | None:
    """Test ids: a selector as its filters read (others get pytest's own ids)."""
    return value.describe() if isinstance(value, Invalidation) else None


def stored_keys(directory: Path) -> set[str]:
    return {key for (key,) in rows(directory, "SELECT key FROM entries")}


def tagged(directory: Path) -> set[tuple[str, str]]:
    return {(tag, key) for tag, key in rows(directory, "SELECT tag, key FROM tags")}


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def store(clock: FakeClock, tmp_path: Path) -> Iterator[DiskStore]:
    store = DiskStore(tmp_path, clock=clock)
    yield store
    store.close()


class TestEachFilter:
    """Each filter alone removes exactly the live entries stored with that label."""

    @pytest.mark.parametrize(
        ("selector", "gone"),
        [
            (Invalidation(tag="docs-v3"), {"docs-a", "docs-b"}),
            (Invalidation(tag="tenant-b"), {"docs-b"}),
            (Invalidation(provider="openai"), {"docs-a", "docs-b", "mini"}),
            (Invalidation(provider="function"), {"embed"}),
            (Invalidation(model="gpt-4o"), {"docs-a", "docs-b"}),
            (Invalidation(model="tools.embed"), {"embed"}),
            (Invalidation(namespace="b"), {"docs-b", "mini"}),
            (Invalidation(key="plain"), {"plain"}),
            (Invalidation(key="claude"), {"claude"}),
            (Invalidation(tag="no-such-tag"), set()),
            # "plain" is unlabelled: the provider its response names is no label.
            (Invalidation(provider="mock"), set()),
        ],
        ids=described,
    )
    def test_one_filter(
        self,
        store: DiskStore,
        clock: FakeClock,
        tmp_path: Path,
        selector: Invalidation,
        gone: set[str],
    ) -> None:
        """The count is how many went; those rows and their tags leave the file, the rest stay."""
        fill(store, clock)
        assert store.invalidate(selector) == len(gone)
        assert stored_keys(tmp_path) == EVERY - gone
        assert all(store.get(key) is None for key in gone)
        assert all(store.get(key) is not None for key in EVERY - gone)
        assert not {key for _, key in tagged(tmp_path)} & gone

    def test_older_than_goes_by_when_entries_were_stored(
        self, store: DiskStore, clock: FakeClock, tmp_path: Path
    ) -> None:
        """Stored more than older_than seconds ago: gone; labelled or not, newer ones stay."""
        store.set("old", labelled(clock, key="old"))
        store.set("old-plain", unlabelled(clock, "old-plain"))
        clock.tick(60)
        store.set("new", labelled(clock, key="new"))
        clock.tick(1)
        assert store.invalidate(Invalidation(older_than=30)) == 2
        assert stored_keys(tmp_path) == {"new"}

    def test_a_replaced_entry_is_as_old_as_its_last_write(
        self, store: DiskStore, clock: FakeClock
    ) -> None:
        """Writing a key again renews its stored_at: older_than judges the entry now stored."""
        store.set("k", labelled(clock))
        clock.tick(60)
        store.set("k", labelled(clock))
        assert store.invalidate(Invalidation(older_than=30)) == 0
        clock.tick(31)
        assert store.invalidate(Invalidation(older_than=30)) == 1


class TestCombinedFilters:
    """Filters given together must all match (AND)."""

    @pytest.mark.parametrize(
        ("selector", "gone"),
        [
            (Invalidation(tag="docs-v3", namespace="b"), {"docs-b"}),
            (Invalidation(provider="openai", model="gpt-4o"), {"docs-a", "docs-b"}),
            (Invalidation(provider="openai", namespace="b"), {"docs-b", "mini"}),
            (Invalidation(provider="anthropic", model="gpt-4o"), set()),
            (Invalidation(key="docs-a", tag="docs-v3"), {"docs-a"}),
            (Invalidation(key="docs-a", tag="tenant-b"), set()),
            (Invalidation(key="plain", provider="openai"), set()),
            (
                Invalidation(tag="docs-v3", provider="openai", model="gpt-4o", namespace="b"),
                {"docs-b"},
            ),
        ],
        ids=described,
    )
    def test_every_filter_must_match(
        self,
        store: DiskStore,
        clock: FakeClock,
        tmp_path: Path,
        selector: Invalidation,
        gone: set[str],
    ) -> None:
        """Only entries that every given filter matches go."""
        fill(store, clock)
        assert store.invalidate(selector) == len(gone)
        assert stored_keys(tmp_path) == EVERY - gone

    def test_a_label_filter_with_older_than(
        self, store: DiskStore, clock: FakeClock, tmp_path: Path
    ) -> None:
        """model= and older_than= together: an old entry of another model and a new one stay."""
        store.set("old-4o", labelled(clock, key="old-4o"))
        store.set("old-mini", labelled(clock, model="gpt-4o-mini", key="old-mini"))
        clock.tick(100)
        store.set("new-4o", labelled(clock, key="new-4o"))
        assert store.invalidate(Invalidation(model="gpt-4o", older_than=50)) == 1
        assert stored_keys(tmp_path) == {"old-mini", "new-4o"}


class TestCountsAndEvents:
    """Each entry removed is an explicit evict event and an eviction in stats(); expired are not."""

    def test_each_removed_entry_is_an_explicit_eviction(
        self, store: DiskStore, clock: FakeClock, evictions: Evictions
    ) -> None:
        """One event per entry, with its stored size; stats() counts them and shrinks."""
        fill(store, clock)
        sizes = dict(rows(store.directory, "SELECT key, size FROM entries"))
        before = store.stats()
        assert store.invalidate(Invalidation(tag="docs-v3")) == 2
        assert sorted(evictions, key=lambda event: event[1]["key"]) == [
            ({"size_bytes": sizes[key]}, {"key": key, "reason": "explicit", "store": "disk"})
            for key in ("docs-a", "docs-b")
        ]
        after = store.stats()
        assert after.evictions - before.evictions == 2
        assert (after.entries, after.bytes) == (
            before.entries - 2,
            before.bytes - sizes["docs-a"] - sizes["docs-b"],
        )

    def test_expired_entries_are_dropped_but_not_counted(
        self, store: DiskStore, clock: FakeClock, tmp_path: Path, evictions: Evictions
    ) -> None:
        """A matched entry past its TTL leaves the file as an expiration, not an invalidation."""
        store.set("short", labelled(clock, tags=("t",), ttl=5, key="short"))
        store.set("long", labelled(clock, tags=("t",), ttl=500, key="long"))
        clock.tick(10)
        assert store.invalidate(Invalidation(tag="t")) == 1
        assert stored_keys(tmp_path) == set()
        assert {meta["key"]: meta["reason"] for _, meta in evictions} == {
            "short": "ttl",
            "long": "explicit",
        }
        stats = store.stats()
        assert (stats.evictions, stats.expirations) == (1, 1)

    def test_a_dry_run_counts_and_removes_nothing(
        self, store: DiskStore, clock: FakeClock, tmp_path: Path, evictions: Evictions
    ) -> None:
        """dry_run counts the live matches only, and leaves every row, event and counter alone."""
        fill(store, clock)
        store.set("dead", labelled(clock, tags=("docs-v3",), ttl=5, key="dead"))
        clock.tick(10)
        assert store.invalidate(Invalidation(tag="docs-v3"), dry_run=True) == 2
        assert store.invalidate(Invalidation(namespace="b", provider="openai"), dry_run=True) == 2
        assert stored_keys(tmp_path) == EVERY | {"dead"}
        assert evictions == []
        assert store.stats().evictions == 0


class TestIndexes:
    """Every filter's statement reaches its rows through an index, never a scan of a table."""

    @pytest.mark.parametrize(
        ("selector", "index"),
        [
            (Invalidation(tag="docs-v3"), "tags USING PRIMARY KEY (tag=?)"),
            (
                Invalidation(provider="openai"),
                "entries_by_provider (provider=?)",
            ),
            (
                Invalidation(provider="openai", model="gpt-4o"),
                "entries_by_provider (provider=? AND model=?)",
            ),
            (Invalidation(model="gpt-4o"), "entries_by_model (model=?)"),
            (Invalidation(namespace="b"), "entries_by_namespace (namespace=?)"),
            (Invalidation(older_than=60), "entries_by_age (stored_at<?)"),
            (Invalidation(key="docs-a"), "sqlite_autoindex_entries_1 (key=?)"),
            (
                Invalidation(key="docs-a", provider="openai", tag="docs-v3"),
                "sqlite_autoindex_entries_1 (key=?)",
            ),
        ],
        ids=described,
    )
    @pytest.mark.parametrize("build", [invalidation_statement, count_statement])
    def test_the_plan_searches_an_index(
        self,
        store: DiskStore,
        clock: FakeClock,
        tmp_path: Path,
        selector: Invalidation,
        index: str,
        build: Any,
    ) -> None:
        """EXPLAIN QUERY PLAN of the delete and of the dry run's count names the filter's index."""
        fill(store, clock)
        statement, parameters = build(selector, clock())
        plan = [row[3] for row in rows(tmp_path, f"EXPLAIN QUERY PLAN {statement}", parameters)]
        assert not [step for step in plan if step.startswith("SCAN")], plan
        assert any(step.startswith("SEARCH") and step.endswith(index) for step in plan), plan


class TestTagsFollowEntries:
    """The tags table holds each stored entry's current tags, whatever wrote or removed it."""

    def test_a_rewrite_with_other_tags_replaces_them(
        self, store: DiskStore, clock: FakeClock, tmp_path: Path
    ) -> None:
        """A key written again without a tag no longer matches that tag."""
        store.set("k", labelled(clock, tags=("a", "b")))
        store.set("k", labelled(clock, tags=("b", "c")))
        assert tagged(tmp_path) == {("b", "k"), ("c", "k")}
        assert store.invalidate(Invalidation(tag="a")) == 0
        store.set("k", labelled(clock))
        assert tagged(tmp_path) == set()
        assert store.invalidate(Invalidation(tag="b")) == 0
        assert store.get("k") is not None

    def test_a_rewrite_with_other_labels_replaces_them(
        self, store: DiskStore, clock: FakeClock
    ) -> None:
        """A key written again by another provider and model matches the new ones only."""
        store.set("k", labelled(clock, "openai", "gpt-4o", "ns"))
        store.set("k", labelled(clock, "anthropic", "claude-x"))
        assert store.invalidate(Invalidation(provider="openai")) == 0
        assert store.invalidate(Invalidation(namespace="ns")) == 0
        assert store.invalidate(Invalidation(provider="anthropic", model="claude-x")) == 1

    def test_delete_eviction_and_expiry_take_the_tags_along(
        self, clock: FakeClock, tmp_path: Path
    ) -> None:
        """Rows removed by delete, by the entry bound and by a sweep leave no tag behind."""
        store = DiskStore(tmp_path, max_entries=2, clock=clock)
        store.set("deleted", labelled(clock, tags=("t",), key="deleted"))
        store.set("evicted", labelled(clock, tags=("t",), key="evicted"))
        store.set("expires", labelled(clock, tags=("t",), ttl=5, key="expires"))
        store.delete("deleted")
        store.set("kept", labelled(clock, tags=("t",), key="kept"))
        assert stored_keys(tmp_path) == {"expires", "kept"}
        clock.tick(10)
        store.sweep()
        assert tagged(tmp_path) == {("t", "kept")}
        store.close()


class TestDecodeMemo:
    """A decode kept for unchanged bytes is never served once its entry is invalidated."""

    def test_the_same_store(self, store: DiskStore, clock: FakeClock) -> None:
        """A hit served from the kept decode, then invalidated: the next read misses."""
        store.set("k", labelled(clock, tags=("t",)))
        first, again = store.get("k"), store.get("k")
        assert first is not None
        assert again is not None
        assert again.response is first.response  # served from the kept decode
        assert store.invalidate(Invalidation(tag="t")) == 1
        assert store.get("k") is None

    def test_another_store_on_the_directory(self, clock: FakeClock, tmp_path: Path) -> None:
        """One store object keeps a decode, another invalidates the entry: the first misses."""
        reader, other = DiskStore(tmp_path, clock=clock), DiskStore(tmp_path, clock=clock)
        other.set("k", labelled(clock, model="gpt-4o-mini"))
        assert reader.get("k") is not None
        assert reader.get("k") is not None
        assert other.invalidate(Invalidation(model="gpt-4o-mini")) == 1
        assert reader.get("k") is None
        reader.close()
        other.close()

    async def test_ainvalidate_runs_in_a_worker_thread(
        self, store: DiskStore, clock: FakeClock
    ) -> None:
        """The async twin removes the same entries, its events raised off the loop's thread."""
        fill(store, clock)
        threads: list[threading.Thread] = []
        telemetry.attach(
            "test-disk-ainvalidate",
            [telemetry.CACHE_EVICT],
            lambda *_: threads.append(threading.current_thread()),
        )
        try:
            assert await store.ainvalidate(Invalidation(namespace="b")) == 2
            assert await store.ainvalidate(Invalidation(tag="docs-v3"), dry_run=True) == 1
        finally:
            telemetry.detach("test-disk-ainvalidate")
        assert len(threads) == 2
        assert threading.current_thread() not in threads
        assert store.get("docs-b") is None
        assert store.get("docs-a") is not None


class TestFaults:
    """invalidate raises DiskStoreUnavailable, naming the file, when the database cannot be used."""

    def test_a_locked_database_raises_and_removes_nothing(
        self, clock: FakeClock, tmp_path: Path
    ) -> None:
        """Another holder of the write lock past timeout: raised as locked, every entry kept."""
        store = DiskStore(tmp_path, clock=clock, timeout=0.05)
        fill(store, clock)
        holder = sqlite3.connect(tmp_path / DATABASE_NAME, isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
        try:
            with pytest.raises(DiskStoreUnavailable) as raised:
                store.invalidate(Invalidation(tag="docs-v3"))
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        assert raised.value.reason == "locked"
        assert raised.value.database == str(tmp_path / DATABASE_NAME)
        assert str(tmp_path / DATABASE_NAME) in str(raised.value)
        assert "timeout=" in str(raised.value)
        assert isinstance(raised.value, sqlite3.Error)
        assert isinstance(raised.value.__cause__, sqlite3.OperationalError)
        assert stored_keys(tmp_path) == EVERY
        assert store.stats().evictions == 0

    @pytest.mark.parametrize("dry_run", [False, True])
    def test_a_corrupt_file_raises_as_corrupt(
        self, clock: FakeClock, tmp_path: Path, dry_run: bool
    ) -> None:
        """A file that is not a database: the real run and the dry run both raise."""
        (tmp_path / DATABASE_NAME).write_bytes(b"this is not a database at all" * 100)
        store = DiskStore(tmp_path, clock=clock)
        with pytest.raises(DiskStoreUnavailable, match="corrupt") as raised:
            store.invalidate(Invalidation(provider="openai"), dry_run=dry_run)
        assert raised.value.reason == "corrupt"

    def test_an_open_breaker_refuses_without_trying(self, clock: FakeClock, tmp_path: Path) -> None:
        """After a failure opens the breaker, invalidate raises at once, even with the lock free."""
        breaker = CircuitBreaker(
            failure_threshold=1, cooldown=60, name="disk-test", clock=FakeClock()
        )
        store = DiskStore(tmp_path, clock=clock, timeout=0.05, breaker=breaker)
        fill(store, clock)
        holder = sqlite3.connect(tmp_path / DATABASE_NAME, isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
        try:
            with pytest.raises(DiskStoreUnavailable, match="locked"):
                store.invalidate(Invalidation(tag="docs-v3"))
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        with pytest.raises(DiskStoreUnavailable, match="breaker") as raised:
            store.invalidate(Invalidation(tag="docs-v3"))
        assert raised.value.reason == "breaker_open"
        assert stored_keys(tmp_path) == EVERY


class TestPersistence:
    """Labels outlive the store object: a new DiskStore on the directory invalidates by them."""

    def test_labels_survive_a_restart(self, clock: FakeClock, tmp_path: Path) -> None:
        """Written and closed by one store; the next reads the labels and selects by them."""
        first = DiskStore(tmp_path, clock=clock)
        fill(first, clock)
        first.close()
        second = DiskStore(tmp_path, clock=clock)
        got = second.get("docs-b")
        assert got is not None
        assert got.labels == EntryLabels("openai", "gpt-4o", "b", ("docs-v3", "tenant-b"))
        assert second.invalidate(Invalidation(tag="docs-v3")) == 2
        assert second.invalidate(Invalidation(provider="function", model="tools.embed")) == 1
        assert second.invalidate(Invalidation(namespace="b")) == 1
        assert stored_keys(tmp_path) == {"claude", "plain"}
        second.close()


# The schema of version 1, as the previous release created it (kept here as written then).
_VERSION_1_DDL = (
    """CREATE TABLE entries (
        key TEXT PRIMARY KEY NOT NULL,
        value BLOB NOT NULL,
        size INTEGER NOT NULL,
        expires_at REAL,
        last_used INTEGER NOT NULL
    )""",
    "CREATE INDEX entries_by_use ON entries (last_used)",
    "CREATE INDEX entries_by_deadline ON entries (expires_at) WHERE expires_at IS NOT NULL",
    """CREATE TABLE totals (
        id INTEGER PRIMARY KEY CHECK (id = 0),
        entries INTEGER NOT NULL,
        bytes INTEGER NOT NULL
    )""",
    "INSERT INTO totals (id, entries, bytes) VALUES (0, 0, 0)",
    """CREATE TRIGGER entry_added AFTER INSERT ON entries BEGIN
        UPDATE totals SET entries = entries + 1, bytes = bytes + new.size WHERE id = 0;
    END""",
    """CREATE TRIGGER entry_removed AFTER DELETE ON entries BEGIN
        UPDATE totals SET entries = entries - 1, bytes = bytes - old.size WHERE id = 0;
    END""",
    """CREATE TRIGGER entry_resized AFTER UPDATE OF size ON entries BEGIN
        UPDATE totals SET bytes = bytes - old.size + new.size WHERE id = 0;
    END""",
    "PRAGMA user_version = 1",
)


def version_1_database(directory: Path, entries: dict[str, bytes]) -> None:
    """A store file as the previous release left it, holding ``entries`` (key -> stored value)."""
    directory.mkdir(parents=True, exist_ok=True)
    connection = sqlite3.connect(directory / DATABASE_NAME, isolation_level=None)
    try:
        connection.execute("PRAGMA journal_mode = WAL")
        for statement in _VERSION_1_DDL:
            connection.execute(statement)
        connection.executemany(
            "INSERT INTO entries (key, value, size, expires_at, last_used) "
            "VALUES (?, ?, ?, NULL, ?)",
            [(key, value, len(value), n) for n, (key, value) in enumerate(entries.items())],
        )
    finally:
        connection.close()


def _open_and_read(directory: str, keys: list[str], start: Any, out: Any) -> None:
    """Open the store when every party is ready; report how many of ``keys`` it served."""
    start.wait(JOIN_TIMEOUT)
    store = DiskStore(directory, timeout=10.0)
    out.put(sum(store.get(key) is not None for key in keys))
    store.close()


class TestUpgradeFromVersion1:
    """A version 1 file is upgraded in place on open: its entries stay, served and unlabelled."""

    def test_old_entries_stay_readable_and_unlabelled(
        self, clock: FakeClock, tmp_path: Path
    ) -> None:
        """After the upgrade: served as before; selected by key and age only; new ones labelled."""
        old = unlabelled(clock, "old", ttl=None)
        clock.tick(100)
        recent = unlabelled(clock, "recent", ttl=None)
        version_1_database(tmp_path, {"old": dump_entry(old), "recent": dump_entry(recent)})
        store = DiskStore(tmp_path, clock=clock)
        got = store.get("old")
        assert got is not None
        assert got.response == old.response
        assert got.labels == EntryLabels()
        assert rows(tmp_path, "PRAGMA user_version") == [(SCHEMA_VERSION,)]
        assert rows(tmp_path, "SELECT key, stored_at FROM entries ORDER BY key") == [
            ("old", old.stored_at),
            ("recent", recent.stored_at),
        ]
        assert store.invalidate(Invalidation(provider="mock")) == 0
        store.set("new", labelled(clock, tags=("t",), key="new"))
        assert store.invalidate(Invalidation(tag="t")) == 1
        assert store.invalidate(Invalidation(older_than=50)) == 1
        assert store.get("old") is None
        assert store.invalidate(Invalidation(key="recent")) == 1
        assert rows(tmp_path, "SELECT entries, bytes FROM totals") == [(0, 0)]
        store.close()

    def test_a_damaged_value_does_not_stop_the_upgrade(
        self, clock: FakeClock, tmp_path: Path
    ) -> None:
        """A row that is not JSON keeps no stored_at; the others are upgraded and served."""
        good = unlabelled(clock, "good")
        version_1_database(tmp_path, {"good": dump_entry(good), "bad": b"\x00\xff not json"})
        store = DiskStore(tmp_path, clock=clock)
        assert store.get("good") is not None
        assert rows(tmp_path, "SELECT key, stored_at FROM entries ORDER BY key") == [
            ("bad", None),
            ("good", good.stored_at),
        ]
        store.close()

    def test_an_upgraded_file_has_the_shape_of_a_new_one(
        self, clock: FakeClock, tmp_path: Path
    ) -> None:
        """Same tables, indexes, triggers and columns, whether upgraded or created at version 2."""
        version_1_database(tmp_path / "old", {"k": dump_entry(unlabelled(clock, "k"))})
        for directory in (tmp_path / "old", tmp_path / "new"):
            opened = DiskStore(directory, clock=clock)
            opened.stats()  # the first use opens (and upgrades) the file
            opened.close()
        shapes = [
            (
                rows(directory, "SELECT type, name FROM sqlite_master ORDER BY name"),
                rows(directory, "PRAGMA table_info(entries)"),
                rows(directory, "PRAGMA table_info(tags)"),
            )
            for directory in (tmp_path / "old", tmp_path / "new")
        ]
        assert shapes[0] == shapes[1]

    def test_a_file_from_a_later_version_is_refused(self, clock: FakeClock, tmp_path: Path) -> None:
        """A later schema version: reads miss, invalidate raises naming the file and its version."""
        version_1_database(tmp_path, {"k": dump_entry(unlabelled(clock, "k"))})
        connection = sqlite3.connect(tmp_path / DATABASE_NAME)
        connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
        connection.close()
        store = DiskStore(tmp_path, clock=clock)
        assert store.get("k") is None
        with pytest.raises(DiskStoreUnavailable) as raised:
            store.invalidate(Invalidation(key="k"))
        database = tmp_path / DATABASE_NAME
        assert str(raised.value) == (
            f"DiskStore database {database} could not be used (sqlite_error: {database} has "
            f"schema version {SCHEMA_VERSION + 1}, newer than {SCHEMA_VERSION}: it was written "
            "by a later version of exllm_py; upgrade this one or give it another directory); "
            "see the error it was raised from"
        )
        assert rows(tmp_path, "SELECT key FROM entries") == [("k",)]

    def test_processes_opening_it_at_once_upgrade_it_once(
        self, clock: FakeClock, tmp_path: Path
    ) -> None:
        """Four processes open the old file together: each serves every entry; the file checks."""
        keys = [f"k{n}" for n in range(40)]
        version_1_database(
            tmp_path, {key: dump_entry(unlabelled(clock, key, None)) for key in keys}
        )
        parties = 4
        start, out = SPAWN.Barrier(parties), SPAWN.Queue()
        children = [
            SPAWN.Process(target=_open_and_read, args=(str(tmp_path), keys, start, out))
            for _ in range(parties)
        ]
        for child in children:
            child.start()
        try:
            served = [out.get(timeout=JOIN_TIMEOUT) for _ in children]
        finally:
            for child in children:
                child.join(JOIN_TIMEOUT)
        assert served == [len(keys)] * parties
        assert [child.exitcode for child in children] == [0] * parties
        assert rows(tmp_path, "PRAGMA integrity_check") == [("ok",)]
        assert rows(tmp_path, "PRAGMA user_version") == [(SCHEMA_VERSION,)]
        columns = [row[1] for row in rows(tmp_path, "PRAGMA table_info(entries)")]
        assert columns[5:] == ["stored_at", "provider", "model", "namespace", "tags"]
        assert rows(tmp_path, "SELECT count(*) FROM entries WHERE stored_at IS NULL") == [(0,)]


def _read_until_invalidated(
    directory: str, keys: list[str], reading: Any, invalidated: Any, out: Any
) -> None:
    """Read ``keys`` over and over; once told the invalidation returned, report one more round."""
    store = DiskStore(directory)
    # Twice each: every decode is kept, and the second read is served from it.
    hits = sum(store.get(key) is not None and store.get(key) is not None for key in keys)
    reading.set()
    for _ in range(1_000_000):  # bounded, should the parent never say so
        after = invalidated.is_set()  # read before the round: every get below starts after it
        seen = [key for key in keys if store.get(key) is not None]
        if after:
            out.put((hits, seen, store.get("kept") is not None))
            break
    store.close()


def _tagged_answer(key: str, tags: tuple[str, ...]) -> CacheEntry:
    response = LLMResponse(f"answer for {key}", "gpt-4o", "openai")
    return make_entry(
        response, key, time.time(), None, entry_labels("openai", "gpt-4o", None, tags)
    )


class TestAcrossProcesses:
    """A process that invalidates and one that reads share the file."""

    def test_the_reader_never_sees_an_invalidated_entry_after_invalidate_returns(
        self, tmp_path: Path
    ) -> None:
        """Reads that start after invalidate returned all miss; an entry it did not match hits."""
        store = DiskStore(tmp_path, default_ttl=None)
        keys = [f"doc{n}" for n in range(50)]
        for key in keys:
            store.set(key, _tagged_answer(key, ("docs-v3",)))
        store.set("kept", _tagged_answer("kept", ("other",)))
        reading, invalidated, out = SPAWN.Event(), SPAWN.Event(), SPAWN.Queue()
        reader = SPAWN.Process(
            target=_read_until_invalidated, args=(str(tmp_path), keys, reading, invalidated, out)
        )
        reader.start()
        try:
            assert reading.wait(JOIN_TIMEOUT), "the reader never started reading"
            assert store.invalidate(Invalidation(tag="docs-v3")) == len(keys)
            invalidated.set()
            hits, seen, kept = out.get(timeout=JOIN_TIMEOUT)
        finally:
            invalidated.set()
            reader.join(JOIN_TIMEOUT)
        assert reader.exitcode == 0
        assert hits == len(keys)  # it had read (and kept the decode of) every entry before
        assert seen == []
        assert kept is True
        store.close()
