"""A forked child can use the cache even if a parent thread held one of its locks at the fork.

The child inherits such a lock held, but not the thread that would release
it (the sweeper holds a ``MemoryStore``'s lock during every sweep). Each
test holds one lock in a second thread across a real ``os.fork()``; the
child must finish its cache work within a bounded time, or it is killed and
the test fails.
"""

from __future__ import annotations

import gc
import os
import signal
import threading
import time
import weakref
from collections.abc import Callable
from typing import Any

import pytest

from exllm_py import Client, telemetry
from exllm_py.cache.health import HitRateWindow
from exllm_py.cache.production import ProductionStrategy
from exllm_py.cache.stores.breaker import CircuitBreaker
from exllm_py.cache.stores.memory import MemoryStore
from exllm_py.cache.stores.tiered import TieredStore
from exllm_py.forksafe import _OWNERS, renew_after_fork
from tests.cache.forked import fork_running

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")

USER = [{"role": "user", "content": "Summarise the news"}]
CHILD_LIMIT_S = 10.0


def run_in_child_while_held(owner: object, name: str, action: Callable[[], None]) -> None:
    """Fork while another thread holds ``owner.<name>``; ``action`` must complete in the child."""
    lock = getattr(owner, name)
    inside, go = threading.Event(), threading.Event()

    def hold() -> None:
        with lock:
            inside.set()
            go.wait(CHILD_LIMIT_S)

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert inside.wait(5), "the holder thread never took the lock"
        pid = fork_running(action)
    finally:
        go.set()
        holder.join(CHILD_LIMIT_S)
    status = wait_bounded(pid, CHILD_LIMIT_S)
    assert os.WIFEXITED(status), f"child ended by signal {os.WTERMSIG(status)}"
    assert os.WEXITSTATUS(status) == 0, "the child's cache work failed (traceback above)"


def wait_bounded(pid: int, limit: float) -> int:
    """The child's exit status; kill it and fail if it runs longer than ``limit`` seconds."""
    deadline = time.monotonic() + limit
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return status
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            pytest.fail(f"the forked child hung for {limit} s (a lock inherited held?)")
        time.sleep(0.01)


def cached_twice(client: Client, strategy: ProductionStrategy) -> None:
    """A miss that stores, then a hit: a cache get and set in the child."""
    first = client.chat("mock", USER)
    second = client.chat("mock", USER)
    assert not first.metadata.get("from_cache")
    assert second.metadata.get("from_cache")
    assert strategy.stats().misses == 1


def strategy_on(store: Any) -> tuple[Client, ProductionStrategy]:
    strategy = ProductionStrategy(store)
    return Client(cache_strategy=strategy), strategy


class TestALockHeldAtTheFork:
    def test_memory_store(self) -> None:
        store = MemoryStore(cleanup_interval=None)
        client, strategy = strategy_on(store)
        run_in_child_while_held(store, "_lock", lambda: cached_twice(client, strategy))

    def test_the_strategy_counters(self) -> None:
        client, strategy = strategy_on(MemoryStore(cleanup_interval=None))
        run_in_child_while_held(strategy, "_counts_lock", lambda: cached_twice(client, strategy))

    def test_tiered_store(self) -> None:
        l1, l2 = MemoryStore(cleanup_interval=None), MemoryStore(cleanup_interval=None)
        store = TieredStore(l1, l2)
        client, strategy = strategy_on(store)

        def action() -> None:
            cached_twice(client, strategy)
            assert store.stats().puts == 1

        for owner in (store, l1, l2):
            run_in_child_while_held(owner, "_lock", action)

    def test_telemetry(self) -> None:
        client, strategy = strategy_on(MemoryStore(cleanup_interval=None))
        hits: list[object] = []

        def action() -> None:
            telemetry.attach("fork-test", [telemetry.CACHE_HIT], lambda *event: hits.append(event))
            try:
                cached_twice(client, strategy)
            finally:
                assert telemetry.detach("fork-test")
            assert len(hits) == 1

        run_in_child_while_held(telemetry, "_lock", action)

    def test_circuit_breaker(self) -> None:
        breaker = CircuitBreaker(failure_threshold=1, cooldown=60.0)

        def action() -> None:
            assert breaker.allow()
            breaker.failure("timeout")
            assert not breaker.allow()

        run_in_child_while_held(breaker, "_lock", action)

    def test_health_window(self) -> None:
        window = HitRateWindow(60)
        window.observe(0.0, 0, 1)

        def action() -> None:
            rate = window.observe(30.0, 3, 1)
            assert (rate.hits, rate.lookups) == (3, 3)

        run_in_child_while_held(window, "_lock", action)

    def test_fault_guard(self) -> None:
        redis = pytest.importorskip("redis")
        from exllm_py.cache.stores.redis_faults import FAULT, FaultGuard

        guard = FaultGuard(CircuitBreaker(failure_threshold=5, cooldown=60.0))

        def refused() -> None:
            raise redis.exceptions.ConnectionError("refused")

        def action() -> None:
            assert guard.run("k", refused) is FAULT  # remembers "k" under its lock
            assert guard.run("k", lambda: 1) is FAULT  # spared for the rest of its cycle
            assert guard.run("other", lambda: 1) == 1  # forgets "k" under its lock

        run_in_child_while_held(guard, "_lock", action)


class TestRenewAfterFork:
    def test_the_child_gets_new_locks_the_parent_keeps_its_own(self) -> None:
        class Owner:
            def __init__(self) -> None:
                self.a = threading.Lock()
                self.b = threading.Lock()

        owner = Owner()
        renew_after_fork(owner, "a")
        renew_after_fork(owner, "b")
        a, b = owner.a, owner.b

        def action() -> None:
            assert owner.a is not a
            assert owner.b is not b
            assert owner.a.acquire(timeout=1)

        with b:
            run_in_child_while_held(owner, "a", action)
        assert owner.a is a
        assert owner.b is b

    def test_owners_are_held_weakly(self) -> None:
        class Owner:
            def __init__(self) -> None:
                self.lock = threading.Lock()

        owner = Owner()
        renew_after_fork(owner, "lock")
        ref = weakref.ref(owner)
        assert owner in _OWNERS
        del owner
        gc.collect()
        assert ref() is None
