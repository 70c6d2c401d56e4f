"""A Redis password, in the userinfo or in ``?password=``, is never printed nor shown in a repr.

Against a real redis-server of the test's own that requires the password
(``CONFIG SET requirepass``), so the URLs given are the ones that work.
"""

from __future__ import annotations

import io
import sys
from collections.abc import Callable

import pytest

from exllm_py.cache.stores.redis import RedisStore
from exllm_py.cache.stores.redis_connect import connect, redact_url_password
from exllm_py.errors import ConfigurationError
from tests.cli.conftest import Result
from tests.redis_server import RedisServer, private_redis

__all__ = ["private_redis"]

PASSWORD = "S3cret-redis-pw"


def _locked(server: RedisServer) -> RedisServer:
    client = server.client()
    client.config_set("requirepass", PASSWORD)
    client.close()
    return server


def _urls(server: RedisServer) -> list[str]:
    return [
        f"redis://:{PASSWORD}@127.0.0.1:{server.port}/0",
        f"redis://default:{PASSWORD}@127.0.0.1:{server.port}/0",
        f"redis://127.0.0.1:{server.port}/0?password={PASSWORD}",
        f"redis://127.0.0.1:{server.port}/0?db=0&password={PASSWORD}",
    ]


class TestTheCliNeverPrintsIt:
    """stats and clear with a password URL work, and their output shows ``***`` in its place."""

    def test_stats_text_and_json(
        self, cli: Callable[..., Result], private_redis: RedisServer
    ) -> None:
        for url in _urls(_locked(private_redis)):
            for extra in ([], ["--json"]):
                result = cli("stats", "--redis", url, *extra)
                assert result.code == 0, result.err
                assert PASSWORD not in result.out + result.err
                assert "***" in result.out

    def test_clear_and_its_confirmation(
        self,
        cli: Callable[..., Result],
        private_redis: RedisServer,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        url = _urls(_locked(private_redis))[2]
        monkeypatch.setattr(sys, "stdin", io.StringIO("y\n"))
        refused = cli("clear", "--redis", url, "--namespace", "tenant-a")
        assert refused.code == 1
        assert PASSWORD not in refused.out + refused.err
        done = cli("clear", "--redis", url, "--namespace", "tenant-a", "--yes")
        assert done.code == 0, done.err
        assert PASSWORD not in done.out + done.err

    @pytest.mark.parametrize("query", ["?password=", "?db=0&password="])
    def test_an_unreachable_server_in_the_error(
        self, cli: Callable[..., Result], query: str
    ) -> None:
        result = cli("stats", "--redis", f"redis://127.0.0.1:1/0{query}{PASSWORD}")
        assert result.code == 1
        assert "could not use Redis" in result.err
        assert PASSWORD not in result.err


class TestReprsAndMessages:
    """RedisStore's repr and the bad-URL error hide a password wherever the URL holds it."""

    def test_redis_store_repr(self, private_redis: RedisServer) -> None:
        for url in _urls(_locked(private_redis)):
            store = RedisStore(url, namespace="ns")
            try:
                assert PASSWORD not in repr(store)
                assert "***" in repr(store)
            finally:
                store.close()

    def test_a_url_that_is_no_redis_url(self) -> None:
        with pytest.raises(ConfigurationError) as caught:
            connect(f"http://127.0.0.1:1/0?password={PASSWORD}", 1.0)
        assert PASSWORD not in str(caught.value)

    @pytest.mark.parametrize(
        ("url", "shown"),
        [
            ("redis://h/0?password=pw&db=1", "redis://h/0?password=***&db=1"),
            ("redis://u:p@w@h/0", "redis://u:***@h/0"),
            ("unix:///run/redis.sock?password=pw", "unix:///run/redis.sock?password=***"),
            ("redis://user@h/0", "redis://user@h/0"),
            ("redis://a@b:pw@h/0", "redis://a@b:***@h/0"),
            ("redis://h/0?PASS%57ORD=pw", "redis://h/0?PASS%57ORD=***"),
        ],
    )
    def test_redact_url_password(self, url: str, shown: str) -> None:
        assert redact_url_password(url) == shown
