"""Tests for ``exllm-cache stats``: counts and sizes, per provider and module, and unused ones.

And a production store's stats (``--store disk|redis``, ``--redis URL``):
entries, bytes, and the hits, misses and saved cost the store counted,
after real calls through a ``Client`` to the loopback provider server
(``gpt-4o-mini``, which is priced, so that hits save money).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from exllm_py import Client
from exllm_py.cache.production import ProductionStrategy
from exllm_py.cache.stores.base import CacheStore
from exllm_py.cache.stores.disk import DiskStore
from exllm_py.cache.stores.disk_schema import DATABASE_NAME
from exllm_py.cache.stores.redis import RedisStore
from exllm_py.cli.render import dollars
from tests.cli.conftest import CassetteDir, Result, days_ago, interaction
from tests.fakes.provider_server import ProviderServer

ANTHROPIC = "https://api.anthropic.com/v1/messages"
GEMINI = "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.0-flash:generateContent"


def _fill(cassettes: CassetteDir) -> dict[str, Any]:
    paths = {
        "hello": cassettes.add(
            "tests/test_chat.py::test_hello",
            interaction(recorded=days_ago(200)),
            interaction(recorded=days_ago(100)),
        ),
        "claude": cassettes.add(
            "tests/test_chat.py::test_claude", interaction(ANTHROPIC, recorded=days_ago(10))
        ),
        "gemini": cassettes.add(
            "tests/live/test_g.py::TestG::test_stream[fast]",
            interaction(GEMINI, recorded=days_ago(5), streamed=True),
        ),
    }
    return paths


class TestStatsJson:
    """--json reports totals, groups, the recording range and what the last run left unplayed."""

    def test_totals_match_the_files(
        self, cli: Callable[..., Result], cassettes: CassetteDir
    ) -> None:
        paths = _fill(cassettes)
        document = cli("stats", "--json").json()
        assert isinstance(document, dict)
        assert document["cassettes"] == 3
        assert document["interactions"] == 4
        assert document["bytes"] == sum(path.stat().st_size for path in paths.values())
        assert document["unreadable"] == []

    def test_groups_by_provider_and_by_module(
        self, cli: Callable[..., Result], cassettes: CassetteDir
    ) -> None:
        _fill(cassettes)
        document = cli("stats", "--json").json()
        assert isinstance(document, dict)
        assert {name: g["cassettes"] for name, g in document["providers"].items()} == {
            "anthropic": 1,
            "gemini": 1,
            "openai": 1,
        }
        assert document["providers"]["openai"]["interactions"] == 2
        assert {name: g["cassettes"] for name, g in document["modules"].items()} == {
            "tests.live.test_g": 1,
            "tests.test_chat": 2,
        }

    def test_oldest_newest_and_older_than(
        self, cli: Callable[..., Result], cassettes: CassetteDir
    ) -> None:
        _fill(cassettes)
        document = cli("stats", "--json", "--older-than", "30d").json()
        assert isinstance(document, dict)
        assert document["oldest_recorded_at"] == days_ago(200).strftime("%Y-%m-%dT%H:%M:%SZ")
        assert document["newest_recorded_at"] == days_ago(5).strftime("%Y-%m-%dT%H:%M:%SZ")
        # Only test_hello's newest recording (100 days) is older than 30 days.
        assert document["older_than"] == {"age": "30d", "cassettes": 1}

    def test_unused_in_the_last_run_comes_from_the_usage_file(
        self, cli: Callable[..., Result], cassettes: CassetteDir
    ) -> None:
        paths = _fill(cassettes)
        cassettes.played(paths.values(), days_ago(3))
        cassettes.played([paths["claude"]], days_ago(1))  # a later run with -k claude
        document = cli("stats", "--json").json()
        assert isinstance(document, dict)
        assert document["last_run_at"] == days_ago(1).strftime("%Y-%m-%dT%H:%M:%SZ")
        assert sorted(document["unused_in_last_run"]) == sorted(
            paths[name].relative_to(cassettes.path).as_posix() for name in ("gemini", "hello")
        )

    def test_without_a_usage_file_unused_is_unknown(
        self, cli: Callable[..., Result], cassettes: CassetteDir
    ) -> None:
        _fill(cassettes)
        document = cli("stats", "--json").json()
        assert isinstance(document, dict)
        assert document["last_run_at"] is None
        assert document["unused_in_last_run"] is None

    def test_an_unreadable_cassette_is_counted_and_named(
        self, cli: Callable[..., Result], cassettes: CassetteDir
    ) -> None:
        _fill(cassettes)
        (cassettes.path / "tests.test_chat" / "broken.json").write_text("{", encoding="utf-8")
        result = cli("stats", "--json")
        assert result.code == 0
        document = result.json()
        assert isinstance(document, dict)
        assert document["cassettes"] == 4
        assert document["unreadable"] == ["tests.test_chat/broken.json"]


class TestStatsText:
    """Without --json, stats prints aligned rows and tables a person reads at a glance."""

    def test_summary_rows_and_tables(
        self, cli: Callable[..., Result], cassettes: CassetteDir
    ) -> None:
        _fill(cassettes)
        result = cli("stats")
        assert result.code == 0
        lines = result.out.splitlines()
        assert lines[1].split() == ["cassettes", "3"]
        assert lines[2].split() == ["interactions", "4"]
        assert "older than 90d  1 cassette" in result.out
        assert "no usage file yet" in result.out
        header = next(line for line in lines if line.startswith("provider"))
        assert header.split() == ["provider", "cassettes", "interactions", "size"]
        anthropic = next(line for line in lines if line.startswith("anthropic"))
        # Numbers are right-aligned under their headers.
        assert anthropic.index("1") + 1 == header.index("cassettes") + len("cassettes")

    def test_an_empty_or_missing_dir_is_zero(self, cli: Callable[..., Result]) -> None:
        result = cli("stats")
        assert result.code == 0
        assert "cassettes       0" in result.out


@pytest.fixture(scope="module")
def provider() -> Iterator[ProviderServer]:
    with ProviderServer() as server:
        yield server


def _calls(store: CacheStore, server: ProviderServer, *questions: str) -> list[float]:
    """Ask each question through a client caching in ``store``; the cost of each answer paid.

    The store is closed afterwards, as a process closes it when it is done.
    """
    paid: list[float] = []
    try:
        with Client(cache_strategy=ProductionStrategy(store)) as client:
            for question in questions:
                answer = client.chat(
                    "openai",
                    [{"role": "user", "content": question}],
                    model="gpt-4o-mini",
                    base_url=server.url,
                    api_key="k",
                )
                if not answer.metadata["from_cache"]:
                    assert answer.cost  # a priced model: hits save money
                    paid.append(answer.cost)
    finally:
        store.close()  # type: ignore[attr-defined]  # both stores here have one
    return paid


def _usage(document: object, kind: str) -> dict[str, Any]:
    assert isinstance(document, dict)
    section = document[kind]
    assert isinstance(section, dict)
    return section


class TestDiskStoreStats:
    """stats --store disk shows a disk store's size, hit rate and saved cost, as the store kept."""

    def test_json_has_size_hits_misses_and_saved_cost(
        self, cli: Callable[..., Result], provider: ProviderServer, tmp_path: Path
    ) -> None:
        directory = tmp_path / "cache"
        # Two answers paid for; the first asked again twice: two hits.
        paid = _calls(DiskStore(directory), provider, "a", "a", "b", "a")
        result = cli("stats", "--json", "--store", "disk", "--path", str(directory))
        assert result.code == 0, result.err
        disk = _usage(result.json(), "disk")
        size = DiskStore(directory).stats()
        assert (disk["path"], disk["entries"], disk["bytes"]) == (
            str(directory),
            2,
            size.bytes,
        )
        assert (disk["hits"], disk["misses"], disk["hit_rate"]) == (2, 2, 0.5)
        assert disk["saved_cost_usd"] == pytest.approx(2 * paid[0])

    def test_the_counts_of_every_store_object_add_up(
        self, cli: Callable[..., Result], provider: ProviderServer, tmp_path: Path
    ) -> None:
        directory = tmp_path / "cache"
        paid = _calls(DiskStore(directory), provider, "a", "a")
        _calls(DiskStore(directory), provider, "a", "a")  # another process, as it were
        disk = _usage(cli("stats", "--json", "--path", str(directory)).json(), "disk")
        assert (disk["hits"], disk["misses"]) == (3, 1)
        assert disk["saved_cost_usd"] == pytest.approx(3 * paid[0])

    def test_the_text_line(
        self, cli: Callable[..., Result], provider: ProviderServer, tmp_path: Path
    ) -> None:
        directory = tmp_path / "cache"
        paid = _calls(DiskStore(directory), provider, "a", "a", "a", "a")
        result = cli("stats", "--store", "disk", "--path", str(directory))
        assert result.code == 0, result.err
        assert f"disk store at {directory}: 1 entries" in result.out
        assert f"hit rate 75.0% (3 hits, 1 miss), saved {dollars(3 * paid[0])}" in result.out

    def test_a_damaged_database_fails_naming_the_file(
        self, cli: Callable[..., Result], tmp_path: Path
    ) -> None:
        directory = tmp_path / "cache"
        directory.mkdir()
        (directory / DATABASE_NAME).write_bytes(b"not a database, a grocery list" * 100)
        result = cli("stats", "--store", "disk", "--path", str(directory))
        assert result.code == 1
        assert f"could not read the disk store at {directory}" in result.err
        assert str(directory / DATABASE_NAME) in result.err

    def test_a_store_nobody_used_says_so(self, cli: Callable[..., Result], tmp_path: Path) -> None:
        DiskStore(tmp_path / "cache").close()
        result = cli("stats", "--store", "disk", "--path", str(tmp_path / "cache"))
        assert result.code == 0, result.err
        assert "no lookup counted yet" in result.out


class TestRedisStoreStats:
    """stats --redis and --store redis show a namespace's size, hit rate and saved cost."""

    def test_json_has_each_namespaces_own_counts(
        self,
        cli: Callable[..., Result],
        provider: ProviderServer,
        redis_url: str,
    ) -> None:
        paid = _calls(RedisStore(redis_url, "tenant-a", timeout=5.0), provider, "a", "a", "a")
        _calls(RedisStore(redis_url, "tenant-b", timeout=5.0), provider, "b", "c")
        result = cli("stats", "--json", "--redis", redis_url, "--namespace", "tenant-a")
        assert result.code == 0, result.err
        tenant = _usage(result.json(), "redis")
        assert (tenant["namespace"], tenant["entries"]) == ("tenant-a", 1)
        assert (tenant["hits"], tenant["misses"], tenant["hit_rate"]) == (2, 1, 2 / 3)
        assert tenant["saved_cost_usd"] == pytest.approx(2 * paid[0])
        other = _usage(
            cli("stats", "--json", "--redis", redis_url, "--namespace", "tenant-b").json(), "redis"
        )
        assert (other["hits"], other["misses"], other["saved_cost_usd"]) == (0, 2, 0.0)

    def test_the_counters_are_no_entry_of_the_namespace(
        self, cli: Callable[..., Result], provider: ProviderServer, redis_url: str
    ) -> None:
        _calls(RedisStore(redis_url, "exllm", timeout=5.0), provider, "a", "a")
        raw = redis.Redis.from_url(redis_url)
        try:
            entries = list(raw.scan_iter(match="exllm:*"))
        finally:
            raw.close()
        redis_section = _usage(cli("stats", "--json", "--redis", redis_url).json(), "redis")
        assert redis_section["entries"] == len(entries) == 1

    def test_store_redis_takes_the_url_from_the_environment(
        self,
        cli: Callable[..., Result],
        provider: ProviderServer,
        redis_url: str,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        paid = _calls(RedisStore(redis_url, "tenant-a", timeout=5.0), provider, "a", "a")
        monkeypatch.setenv("EXLLM_REDIS_URL", redis_url)
        result = cli("stats", "--store", "redis", "--namespace", "tenant-a")
        assert result.code == 0, result.err
        assert f"redis {redis_url} namespace tenant-a: 1 entries" in result.out
        assert f"hit rate 50.0% (1 hit, 1 miss), saved {dollars(paid[0])}" in result.out

    def test_namespace_alone_names_no_store(self, cli: Callable[..., Result]) -> None:
        result = cli("stats", "--namespace", "tenant-a")
        assert result.code == 2
        assert "--namespace goes with --redis URL or --store redis" in result.err
