"""A forked child can use a RedisStore even if a parent thread held one of its locks at the fork.

The same harness as :mod:`tests.cache.test_fork_safety`: one lock is held
in a second thread across a real ``os.fork()``, and the child must finish
its cache work against the real redis-server within a bounded time.
"""

from __future__ import annotations

import asyncio
import os

import pytest

from exllm_py.cache.entry import make_entry
from exllm_py.cache.stores.redis import RedisStore
from exllm_py.types import LLMResponse
from tests.cache.test_fork_safety import run_in_child_while_held

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")


class TestALockHeldAtTheFork:
    """Each lock a RedisStore takes on the async path is renewed in the child."""

    def test_the_per_loop_clients(self, redis_url: str) -> None:
        """The lock guarding the per-loop clients: the child's aset and aget still work."""
        store = RedisStore(redis_url, namespace="app", timeout=2.0)
        entry = make_entry(LLMResponse("a", "m", "mock"), "k", store.clock(), 60)

        async def write_then_read() -> None:
            await store.aset("k", entry)
            got = await store.aget("k")
            assert got is not None
            assert got.response.content == "a"
            await store.aclose()

        run_in_child_while_held(store._aclients, "_lock", lambda: asyncio.run(write_then_read()))
        store.close()
