"""Reaching Redis: one async client per event loop, described without the URL's password."""

from __future__ import annotations

import asyncio

import redis.asyncio

from exllm_py.cache.stores.redis_connect import LoopClients
from tests.redis_server import RedisServer


class TestLoopClients:
    """Each event loop gets its own client, kept for that loop, and the repr hides the password."""

    def test_the_repr_hides_the_password_and_counts_the_loops(self) -> None:
        """Before any loop used it: the redacted URL and loops=0; after one loop: loops=1."""
        clients = LoopClients("redis://:hunter2@127.0.0.1:6379/0", 1.0)
        assert repr(clients) == "<LoopClients redis://:***@127.0.0.1:6379/0 loops=0>"

        async def use() -> None:
            clients.current()

        asyncio.run(use())
        assert repr(clients) == "<LoopClients redis://:***@127.0.0.1:6379/0 loops=1>"

    def test_one_loop_keeps_its_client_and_another_loop_gets_its_own(
        self, redis_server: RedisServer
    ) -> None:
        """Within a loop current() is the same client; the next loop gets a new one."""
        clients = LoopClients(redis_server.url, 2.0)

        async def twice() -> redis.asyncio.Redis:
            first, second = clients.current(), clients.current()
            assert first is second
            assert await first.ping() is True
            await first.aclose()  # closed, but still the loop's client until aclose()
            return first

        first = asyncio.run(twice())
        other = asyncio.run(twice())
        assert other is not first
        assert repr(clients).endswith("loops=1>")  # the ended loop's client was dropped
