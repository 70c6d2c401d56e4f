"""``stats --redis`` and ``clear --redis`` against a real redis-server (tests.redis_server).

The entries are written the way production writes them: a client whose
strategy stores in a ``RedisStore`` answers chat calls from the mock provider.
"""

from __future__ import annotations

import io
import sys
from collections.abc import Callable, Iterator

import pytest
import redis

from exllm_py import Client
from exllm_py.cache.production import ProductionStrategy
from exllm_py.cache.stores.redis import RedisStore
from exllm_py.providers.mock import MockProvider
from tests.cli.conftest import Result


def _fill(url: str, namespace: str, count: int) -> None:
    store = RedisStore(url, namespace=namespace, timeout=5.0)
    client = Client(cache_strategy=ProductionStrategy(store), mock=MockProvider("cached answer"))
    try:
        for index in range(count):
            client.chat("mock", [{"role": "user", "content": f"question {index}"}])
    finally:
        client.close()
        store.close()


@pytest.fixture
def raw(redis_url: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url)
    yield client
    client.close()


class TestRedisStats:
    """stats --redis reports the entries and bytes of one namespace only."""

    def test_json_counts_that_namespace(
        self, cli: Callable[..., Result], redis_url: str, raw: redis.Redis
    ) -> None:
        _fill(redis_url, "tenant-a", 3)
        _fill(redis_url, "tenant-b", 2)
        result = cli("stats", "--json", "--redis", redis_url, "--namespace", "tenant-a")
        assert result.code == 0, result.err
        document = result.json()
        assert isinstance(document, dict)
        stored = sum(raw.strlen(name) for name in raw.scan_iter(match="tenant-a:*"))
        assert document["redis"]["url"] == redis_url
        assert document["redis"]["namespace"] == "tenant-a"
        assert document["redis"]["entries"] == 3
        assert document["redis"]["bytes"] == stored

    def test_the_default_namespace_and_the_text_line(
        self, cli: Callable[..., Result], redis_url: str
    ) -> None:
        _fill(redis_url, "exllm", 2)
        result = cli("stats", "--redis", redis_url)
        assert result.code == 0, result.err
        assert f"redis {redis_url} namespace exllm: 2 entries" in result.out

    def test_an_unreachable_server_fails_with_the_url_and_no_password(
        self, cli: Callable[..., Result]
    ) -> None:
        result = cli("stats", "--redis", "redis://user:s3cret@127.0.0.1:1/0")
        assert result.code == 1
        assert "could not use Redis" in result.err
        assert "s3cret" not in result.err


class TestRedisClear:
    """clear --redis removes one namespace's entries, after confirmation, and nothing else."""

    def test_only_that_namespace(
        self, cli: Callable[..., Result], redis_url: str, raw: redis.Redis
    ) -> None:
        _fill(redis_url, "tenant-a", 3)
        _fill(redis_url, "tenant-b", 2)
        raw.set("unrelated", b"keep me")
        result = cli("clear", "--redis", redis_url, "--namespace", "tenant-a", "--yes")
        assert result.code == 0, result.err
        assert result.out.strip() == "removed 3 entries of namespace 'tenant-a'"
        remaining = sorted(name.decode() for name in raw.scan_iter())
        assert len([name for name in remaining if name.startswith("tenant-b:")]) == 2
        assert "unrelated" in remaining
        assert not [name for name in remaining if name.startswith("tenant-a:")]

    def test_without_yes_and_without_a_terminal_nothing_goes(
        self,
        cli: Callable[..., Result],
        redis_url: str,
        raw: redis.Redis,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        _fill(redis_url, "tenant-a", 1)
        monkeypatch.setattr(sys, "stdin", io.StringIO("y\n"))
        result = cli("clear", "--redis", redis_url, "--namespace", "tenant-a")
        assert result.code == 1
        assert "stdin is not a terminal" in result.err
        assert len(list(raw.scan_iter(match="tenant-a:*"))) == 1


class TestWithoutTheRedisPackage:
    """Without the redis package, --redis fails with what to install, not a traceback."""

    @pytest.mark.parametrize(
        "command",
        [
            ("stats", "--redis", "redis://127.0.0.1:1/0"),
            ("clear", "--redis", "redis://127.0.0.1:1/0", "--namespace", "app", "--yes"),
        ],
    )
    def test_it_says_what_to_install(
        self, cli: Callable[..., Result], monkeypatch: pytest.MonkeyPatch, command: tuple[str, ...]
    ) -> None:
        monkeypatch.setitem(sys.modules, "redis", None)  # `import redis` now fails
        result = cli(*command)
        assert result.code == 1
        assert f"exllm-cache {command[0]}: error: " in result.err
        assert "pip install 'exllm_py[redis]'" in result.err
