"""``exllm-cache invalidate`` on a real DiskStore directory and a real Redis namespace.

The entries are written as production writes them: a client whose strategy
stores in the store answers chat calls, labelled by their ``cache_tags``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from exllm_py import Client
from exllm_py.cache.production import ProductionStrategy
from exllm_py.cache.stores.base import CacheStore
from exllm_py.cache.stores.disk import DiskStore
from exllm_py.cache.stores.redis import RedisStore
from exllm_py.providers.mock import MockProvider
from tests.cli.conftest import Result


def fill(store: CacheStore, calls: dict[str, list[str]]) -> dict[str, str]:
    """Store one answer per question, tagged as given; returns each question's cache key."""
    keys = {}
    with Client(
        cache_strategy=ProductionStrategy(store), mock=MockProvider("An answer.")
    ) as client:
        for question, tags in calls.items():
            messages = [{"role": "user", "content": question}]
            client.chat("mock", messages, cache_tags=tags)
            keys[question] = client.chat("mock", messages).metadata["cache_key"]
    return keys


def cached(store: CacheStore, keys: dict[str, str]) -> set[str]:
    """The questions whose answers the store still holds."""
    return {question for question, key in keys.items() if store.get(key) is not None}


CALLS = {"docs one": ["docs-v3"], "docs two": ["docs-v3", "tenant-a"], "other": ["tenant-a"]}


@pytest.fixture
def disk(tmp_path: Path) -> Path:
    return tmp_path / "store"


class TestOnDisk:
    """``--store disk --path DIR`` works on that DiskStore, as a later process sees it."""

    def test_it_removes_the_tagged_entries_and_says_how_many(
        self, cli: Callable[..., Result], disk: Path
    ) -> None:
        keys = fill(DiskStore(disk), CALLS)
        result = cli("invalidate", "--store", "disk", "--path", str(disk), "--tag", "docs-v3")
        assert result.code == 0, result.err
        assert result.out == f"removed 2 entries (tag='docs-v3') from the disk store at {disk}\n"
        assert cached(DiskStore(disk), keys) == {"other"}

    def test_a_dry_run_says_how_many_and_removes_none(
        self, cli: Callable[..., Result], disk: Path
    ) -> None:
        keys = fill(DiskStore(disk), CALLS)
        args = ("--store", "disk", "--path", str(disk), "--tag", "tenant-a", "--dry-run")
        result = cli("invalidate", *args, "--json")
        assert result.code == 0, result.err
        assert result.json() == {
            "store": f"disk store at {disk}",
            "filters": "tag='tenant-a'",
            "dry_run": True,
            "matched": 2,
        }
        assert cached(DiskStore(disk), keys) == set(CALLS)

    def test_filters_combine_and_older_than_takes_an_age(
        self, cli: Callable[..., Result], disk: Path
    ) -> None:
        keys = fill(DiskStore(disk), CALLS)
        args = ("--store", "disk", "--path", str(disk), "--provider", "mock", "--older-than", "1h")
        assert cli("invalidate", *args, "--json").json()["removed"] == 0  # type: ignore[index]
        args = ("--store", "disk", "--path", str(disk), "--provider", "mock", "--tag", "tenant-a")
        assert cli("invalidate", *args, "--json").json()["removed"] == 2  # type: ignore[index]
        assert cached(DiskStore(disk), keys) == {"docs one"}

    def test_the_environment_names_the_store_when_the_options_do_not(
        self, cli: Callable[..., Result], disk: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """``$EXLLM_CACHE_BACKEND`` and ``$EXLLM_CACHE_DIR``, as the production cache reads them."""
        keys = fill(DiskStore(disk), CALLS)
        monkeypatch.setenv("EXLLM_CACHE_BACKEND", "disk")
        monkeypatch.setenv("EXLLM_CACHE_DIR", str(disk))
        result = cli("invalidate", "--key", keys["other"])
        assert result.code == 0, result.err
        assert result.out.startswith("removed 1 entry (key=")
        assert cached(DiskStore(disk), keys) == {"docs one", "docs two"}


class TestInRedis:
    """``--store redis --redis URL --namespace NS`` works on that namespace only."""

    def test_it_removes_one_namespaces_matching_entries(
        self, cli: Callable[..., Result], redis_url: str
    ) -> None:
        mine, theirs = RedisStore(redis_url, "mine"), RedisStore(redis_url, "theirs")
        try:
            my_keys, their_keys = fill(mine, CALLS), fill(theirs, CALLS)
            args = ("--store", "redis", "--redis", redis_url, "--namespace", "mine")
            result = cli("invalidate", *args, "--tag", "tenant-a")
            assert result.code == 0, result.err
            assert result.out.startswith("removed 2 entries (tag='tenant-a') from the Redis")
            assert cached(mine, my_keys) == {"docs one"}
            assert cached(theirs, their_keys) == set(CALLS)
        finally:
            mine.close()
            theirs.close()


class TestMistakes:
    """What cannot work fails before any store is touched, naming the option to fix."""

    def test_no_filter_is_a_usage_error(self, cli: Callable[..., Result], disk: Path) -> None:
        result = cli("invalidate", "--store", "disk", "--path", str(disk))
        assert result.code == 2
        assert "invalidate needs at least one filter: --tag" in result.err
        assert not disk.exists()

    def test_no_store_named_anywhere_says_how_to_name_one(
        self, cli: Callable[..., Result], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.delenv("EXLLM_CACHE_BACKEND", raising=False)
        result = cli("invalidate", "--tag", "t")
        assert result.code == 1
        assert "which store? give --store disk (with --path DIR) or --store redis" in result.err

    def test_an_empty_filter_is_a_usage_error(self, cli: Callable[..., Result]) -> None:
        result = cli("invalidate", "--store", "disk", "--tag", " ")
        assert result.code == 2
        assert "--tag: must not be empty" in result.err

    def test_options_of_the_other_store_are_refused(
        self, cli: Callable[..., Result], disk: Path
    ) -> None:
        result = cli("invalidate", "--store", "redis", "--path", str(disk), "--tag", "t")
        assert result.code == 1
        assert "--path goes with --store disk, not redis" in result.err


class TestNoStoreThere:
    """A directory holding no store is named, and nothing is created there."""

    def test_a_mistyped_path_is_an_error_not_an_empty_store(
        self, cli: Callable[..., Result], tmp_path: Path
    ) -> None:
        typo = tmp_path / "stroe"
        result = cli("invalidate", "--store", "disk", "--path", str(typo), "--tag", "t")
        assert result.code == 1
        assert f"no disk store at {typo} (no such directory): check --path" in result.err
        assert not typo.exists()
