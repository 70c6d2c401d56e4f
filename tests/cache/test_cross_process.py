"""Cross-process single-flight: the Redis flight lock alone, in the strategy, across processes."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

import exllm_py
from exllm_py.cache.arguments import MAX_TIMEOUT
from exllm_py.cache.distributed_lock import RedisFlightLock, lock_name
from exllm_py.cache.entry import make_entry
from exllm_py.cache.production import ProductionStrategy
from exllm_py.cache.stores.base import CacheStore
from exllm_py.cache.stores.memory import MemoryStore
from exllm_py.cache.stores.redis import RedisStore
from exllm_py.errors import ValidationError
from exllm_py.types import LLMResponse
from tests.clocks import FakeClock
from tests.fakes import DEFAULT_TEXT, ProviderServer, json_reply, openai_completion
from tests.fakes.held_reply import HeldReply
from tests.redis_server import RedisServer

ROOT = Path(__file__).resolve().parents[2]
LOCK = lock_name("app", "k")


def answer(text: str = "computed") -> LLMResponse:
    return LLMResponse(content=text, model="m", provider="mock")


class Producer:
    """A ``produce`` callable that counts its calls and may check something while it runs."""

    def __init__(self, during: Callable[[], None] = lambda: None) -> None:
        self.calls = 0
        self.during = during

    def __call__(self) -> LLMResponse:
        self.calls += 1
        self.during()
        return answer()

    async def acall(self) -> LLMResponse:
        return self()


class PollingTime:
    """A fake monotonic clock whose ``sleep`` advances it and runs a hook at each poll."""

    def __init__(self, on_poll: Callable[[int], None] = lambda poll: None) -> None:
        self.clock = FakeClock(0.0)
        self.polls = 0
        self.on_poll = on_poll

    def sleep(self, seconds: float) -> None:
        self.polls += 1
        self.clock.tick(seconds)
        self.on_poll(self.polls)

    async def asleep(self, seconds: float) -> None:
        self.sleep(seconds)


@pytest.fixture
def raw(redis_server: RedisServer) -> Iterator[redis.Redis]:
    with redis_server.client() as client:
        yield client


@pytest.fixture
def store(redis_url: str) -> Iterator[RedisStore]:
    store = RedisStore(redis_url, namespace="app", timeout=2.0)
    yield store
    store.close()


def flight_lock(store: RedisStore, timing: PollingTime, **options: Any) -> RedisFlightLock:
    return RedisFlightLock(
        store, clock=timing.clock, sleep=timing.sleep, asleep=timing.asleep, **options
    )


class TestHoldingTheLock:
    """The first caller takes the lock, computes under it, and releases only its own lock."""

    def test_the_lock_is_held_while_computing_and_released_after(
        self, store: RedisStore, raw: redis.Redis
    ) -> None:
        """SET NX PX before produce(), gone after; no waiting at all."""
        seen: list[int] = []
        produce = Producer(during=lambda: seen.append(raw.pttl(LOCK)))
        timing = PollingTime()
        result = flight_lock(store, timing, lock_ttl=7).run("k", store, produce, None)
        assert result.content == "computed"
        assert produce.calls == 1
        assert 6000 < seen[0] <= 7000
        assert raw.exists(LOCK) == 0
        assert timing.polls == 0

    def test_a_successors_lock_is_not_released(self, store: RedisStore, raw: redis.Redis) -> None:
        """If our lock expired and another process took it, releasing leaves theirs alone."""
        produce = Producer(during=lambda: raw.set(LOCK, b"successor"))
        flight_lock(store, PollingTime()).run("k", store, produce, None)
        assert raw.get(LOCK) == b"successor"

    def test_errors_propagate_and_still_release(self, store: RedisStore, raw: redis.Redis) -> None:
        """A failing produce() raises to the caller and frees the lock for the others."""

        def fail() -> LLMResponse:
            raise RuntimeError("provider down")

        with pytest.raises(RuntimeError, match="provider down"):
            flight_lock(store, PollingTime()).run("k", store, fail, None)
        assert raw.exists(LOCK) == 0

    async def test_the_async_twin_holds_and_releases(
        self, store: RedisStore, raw: redis.Redis
    ) -> None:
        """arun takes the lock, computes once and releases."""
        seen: list[int] = []
        produce = Producer(during=lambda: seen.append(raw.exists(LOCK)))
        result = await flight_lock(store, PollingTime()).arun("k", store, produce.acall, None)
        assert result.content == "computed"
        assert seen == [1]
        assert raw.exists(LOCK) == 0
        await store.aclose()


class TestWaiting:
    """While another process holds the lock, wait for its entry, boundedly."""

    def hold(self, raw: redis.Redis, ttl_ms: int = 60_000) -> None:
        raw.set(LOCK, b"other-process", px=ttl_ms)

    def test_the_holders_entry_is_served(self, store: RedisStore, raw: redis.Redis) -> None:
        """When the holder stores its answer, the waiter returns it without computing."""
        self.hold(raw)

        def holder_finishes(poll: int) -> None:
            if poll == 3:
                store.set("k", make_entry(answer("from the holder"), "k", store.clock(), 60))
                raw.delete(LOCK)

        timing = PollingTime(holder_finishes)
        produce = Producer()
        result = flight_lock(store, timing).run("k", store, produce, None)
        assert result.content == "from the holder"
        assert result.metadata["from_cache"] is True
        assert produce.calls == 0
        assert timing.polls == 3

    def test_a_dead_holder_is_taken_over(self, store: RedisStore, raw: redis.Redis) -> None:
        """Once the holder's lock expires with no entry, the waiter takes the lock and computes."""
        self.hold(raw)
        timing = PollingTime(lambda poll: raw.delete(LOCK) if poll == 2 else None)
        seen: list[bytes | None] = []
        produce = Producer(during=lambda: seen.append(raw.get(LOCK)))
        result = flight_lock(store, timing).run("k", store, produce, None)
        assert result.content == "computed"
        assert produce.calls == 1
        assert seen[0] not in (None, b"other-process")  # computed under its own lock
        assert raw.exists(LOCK) == 0

    def test_the_wait_is_bounded_by_max_wait(self, store: RedisStore, raw: redis.Redis) -> None:
        """A holder that never finishes: after max_wait the waiter computes anyway."""
        self.hold(raw)
        timing = PollingTime()
        produce = Producer()
        lock = flight_lock(store, timing, max_wait=1.0, poll_interval=0.125)
        started = time.perf_counter()
        lock.run("k", store, produce, None)
        assert produce.calls == 1
        assert timing.clock() == pytest.approx(1.0)
        assert timing.polls == 8
        assert time.perf_counter() - started < 1.0  # no real sleeping
        assert raw.get(LOCK) == b"other-process"  # not ours to release

    def test_the_calls_own_timeout_bounds_the_wait_too(
        self, store: RedisStore, raw: redis.Redis
    ) -> None:
        """A call willing to wait 0.3 s does not wait max_wait."""
        self.hold(raw)
        timing = PollingTime()
        produce = Producer()
        flight_lock(store, timing, max_wait=20.0, poll_interval=0.1).run("k", store, produce, 0.3)
        assert produce.calls == 1
        assert timing.clock() == pytest.approx(0.3)

    async def test_the_async_twin_waits_and_serves(
        self, store: RedisStore, raw: redis.Redis
    ) -> None:
        """arun polls with the async sleep and returns the holder's entry."""
        self.hold(raw)

        def holder_finishes(poll: int) -> None:
            if poll == 2:
                store.set("k", make_entry(answer("from the holder"), "k", store.clock(), 60))

        timing = PollingTime(holder_finishes)
        produce = Producer()
        result = await flight_lock(store, timing).arun("k", store, produce.acall, None)
        assert result.content == "from the holder"
        assert produce.calls == 0
        await store.aclose()


class TestWithoutRedis:
    """When Redis cannot be used, the lock gets out of the way."""

    def test_an_unreachable_redis_means_computing_at_once(self) -> None:
        """No lock can be taken: produce() runs immediately, no waiting."""
        store = RedisStore("redis://127.0.0.1:1/0", namespace="app", timeout=0.2)
        timing = PollingTime()
        produce = Producer()
        result = flight_lock(store, timing).run("k", store, produce, None)
        assert result.content == "computed"
        assert produce.calls == 1
        assert timing.polls == 0
        store.close()

    def test_bad_settings_are_refused(self, store: RedisStore) -> None:
        """Non-positive durations are ValueErrors."""
        with pytest.raises(ValueError, match="positive"):
            RedisFlightLock(store, poll_interval=0)


class TestHolderOnTheSameThread:
    """A sync waiter never polls for a lock held on its own thread: it would block the holder."""

    async def test_a_sync_call_inside_a_coroutine_computes_at_once(self, redis_url: str) -> None:
        """Two strategies share a namespace; the async holder's loop runs the sync call."""
        held, timing = HeldReply(), PollingTime()
        stores = [RedisStore(redis_url, namespace="app", timeout=2.0) for _ in range(2)]
        holder = ProductionStrategy(stores[0], lock=RedisFlightLock(stores[0]))
        waiter = ProductionStrategy(stores[1], lock=flight_lock(stores[1], timing, max_wait=5))
        user = [{"role": "user", "content": "Hi"}]
        with ProviderServer() as server:
            server.enqueue(held)
            options = {"base_url": server.url, "api_key": "sk-test"}
            async with (
                exllm_py.Client(cache_strategy=holder) as first,
                exllm_py.Client(cache_strategy=waiter) as second,
            ):
                holding = asyncio.create_task(first.achat("openai", user, **options))
                assert await asyncio.to_thread(held.arrived.wait, 5)
                held.release.set()  # answered, but only this loop can read the answer
                answer = second.chat("openai", user, **options)
                assert (await holding).content == DEFAULT_TEXT
            assert answer.content == DEFAULT_TEXT
            assert len(server.requests) == 2
        assert timing.polls == 0
        for store in stores:
            await store.aclose()
            store.close()


class RecordingLock:
    """A FlightLock that records the keys it was asked about, and always computes."""

    def __init__(self) -> None:
        self.keys: list[str] = []

    def run(
        self, key: str, store: CacheStore, produce: Callable[[], LLMResponse], wait: float | None
    ) -> LLMResponse:
        self.keys.append(key)
        return produce()

    async def arun(
        self,
        key: str,
        store: CacheStore,
        produce: Callable[[], Awaitable[LLMResponse]],
        wait: float | None,
    ) -> LLMResponse:
        self.keys.append(key)
        return await produce()


class TestInTheStrategy:
    """ProductionStrategy consults the lock only when a flight's leader must compute."""

    def test_only_misses_go_through_the_lock(self) -> None:
        """A miss computes under the lock; a hit and cache=False do not touch it."""
        lock = RecordingLock()
        with exllm_py.Client(cache_strategy=ProductionStrategy(lock=lock)) as client:
            client.chat("mock", [{"role": "user", "content": "Hi"}])
            hit = client.chat("mock", [{"role": "user", "content": "Hi"}])
            client.chat("mock", [{"role": "user", "content": "Hi"}], cache=False)
            assert client.mock.calls == 2
        assert lock.keys == [hit.metadata["cache_key"]]

    async def test_async_misses_go_through_the_lock(self) -> None:
        """achat's leader computes under arun, and the answer is stored."""
        lock = RecordingLock()
        async with exllm_py.Client(cache_strategy=ProductionStrategy(lock=lock)) as client:
            await client.achat("mock", [{"role": "user", "content": "Hi"}])
            again = await client.achat("mock", [{"role": "user", "content": "Hi"}])
        assert len(lock.keys) == 1
        assert again.metadata["from_cache"] is True


# -- real processes ----------------------------------------------------------------------

_CHILD = """
import json, logging, os, sys, time
import redis
import structlog
structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.ERROR))
import exllm_py
from exllm_py.cache.distributed_lock import RedisFlightLock
from exllm_py.cache.production import ProductionStrategy
from exllm_py.cache.stores.redis import RedisStore

url, namespace, base_url, lock_ttl = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
store = RedisStore(url, namespace=namespace, timeout=2.0)
marker = redis.Redis.from_url(url)
def pause(seconds):
    marker.sadd("xproc-test:waiting", os.getpid())  # it found the lock held: it waits
    time.sleep(seconds)
lock = RedisFlightLock(
    store, lock_ttl=lock_ttl, max_wait=30.0, poll_interval=0.01, sleep=pause
)
client = exllm_py.Client(cache_strategy=ProductionStrategy(store, lock=lock), env={})
print("READY", flush=True)
sys.stdin.readline()
started = time.monotonic()
reply = client.chat(
    "openai", [{"role": "user", "content": "Hi"}],
    model="gpt-4o-mini", base_url=base_url, api_key="test-key",
)
outcome = {"content": reply.content, "from_cache": reply.metadata["from_cache"]}
outcome["seconds"] = time.monotonic() - started
print("RESULT " + json.dumps(outcome), flush=True)
"""


class Child:
    """One real Python process making one chat call through Redis, on a signal."""

    def __init__(self, url: str, base_url: str, lock_ttl: float) -> None:
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), *sys.path])}
        self.process = subprocess.Popen(
            [sys.executable, "-c", _CHILD, url, "xproc", base_url, str(lock_ttl)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=ROOT,
            env=env,
        )

    def ready(self) -> Child:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            if line.startswith("READY"):
                return self
        raise AssertionError(f"child died before it was ready:\n{self._stderr()}")

    def go(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write("go\n")
        self.process.stdin.flush()

    def result(self) -> dict[str, Any]:
        out, err = self.process.communicate(timeout=60)
        for line in out.splitlines():
            if line.startswith("RESULT "):
                outcome: dict[str, Any] = json.loads(line.removeprefix("RESULT "))
                return outcome
        raise AssertionError(f"child gave no result (exit {self.process.returncode}):\n{err}")

    def kill(self) -> None:
        self.process.kill()
        self.process.communicate(timeout=30)

    def _stderr(self) -> str:
        self.process.wait(timeout=30)
        assert self.process.stderr is not None
        return self.process.stderr.read()


#: The set each child adds its pid to when it finds the lock held and starts waiting.
WAITING = "xproc-test:waiting"


def wait_for(condition: Callable[[], bool], seconds: float = 30.0) -> None:
    """Poll a condition that another process makes true (real time is all there is)."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting for another process"
        time.sleep(0.01)


@pytest.fixture
def upstream() -> Iterator[ProviderServer]:
    with ProviderServer() as server:
        yield server


class TestAcrossProcesses:
    """Identical calls in separate processes make one provider call."""

    def test_four_processes_make_one_upstream_call(
        self, redis_url: str, raw: redis.Redis, upstream: ProviderServer
    ) -> None:
        """Four processes ask at once; one calls the provider, three get its stored answer."""
        held = HeldReply(json_reply(openai_completion("the shared answer")))
        upstream.enqueue(held)
        children = [Child(redis_url, upstream.url + "/v1", lock_ttl=20.0) for _ in range(4)]
        for child in children:
            child.ready()
        try:
            for child in children:
                child.go()
            assert held.arrived.wait(30), "no process called the provider"
            # The provider answers only once the other three wait for the lock's holder.
            wait_for(lambda: raw.scard(WAITING) == 3)
        finally:
            held.release.set()
        results = [child.result() for child in children]
        assert len(upstream.requests) == 1
        assert [r["content"] for r in results] == ["the shared answer"] * 4
        assert sorted(r["from_cache"] for r in results) == [False, True, True, True]

    def test_a_holder_that_dies_is_taken_over(
        self, redis_url: str, raw: redis.Redis, upstream: ProviderServer
    ) -> None:
        """The lock holder is killed mid-call; the waiter computes once its lock expires."""
        held = HeldReply(json_reply(openai_completion("never delivered")))
        upstream.enqueue(held)
        holder = Child(redis_url, upstream.url + "/v1", lock_ttl=2.0)
        waiter = Child(redis_url, upstream.url + "/v1", lock_ttl=2.0)
        holder.ready()
        waiter.ready()
        try:
            holder.go()
            assert held.arrived.wait(30)  # the holder has the lock and is calling
            (lock,) = raw.keys("xproc@lock:*")
            assert 0 < raw.pttl(lock) <= 2000  # taken for lock_ttl
            raw.persist(lock)  # kept until the waiter waits, however slow the machine
            waiter.go()
            wait_for(lambda: raw.scard(WAITING) == 1)  # the waiter found the lock held
            holder.kill()
            raw.pexpire(lock, 2000)  # the dead holder's lock_ttl runs out from here
            result = waiter.result()
        finally:
            held.release.set()
        assert result["content"] == DEFAULT_TEXT
        assert result["from_cache"] is False
        assert len(upstream.requests) == 2
        # It waited for the lock to expire, not for max_wait (30 s).
        assert 1.9 <= result["seconds"] < 20


@pytest.fixture
def idle_store() -> Iterator[RedisStore]:
    """A RedisStore that never connects (connecting is lazy): checks need no server."""
    store = RedisStore("redis://127.0.0.1:1/0", namespace="app")
    yield store
    store.close()


class TestArguments:
    """Every RedisFlightLock argument is checked when it is made; the error names the argument."""

    @pytest.mark.parametrize("argument", ["lock_ttl", "max_wait", "poll_interval"])
    @pytest.mark.parametrize(
        "value", [float("nan"), float("inf"), -1.0, 0, True, "5", None, MAX_TIMEOUT + 1]
    )
    def test_a_bad_duration_is_refused(
        self, idle_store: RedisStore, argument: str, value: object
    ) -> None:
        with pytest.raises(ValidationError, match=f"RedisFlightLock {argument} "):
            RedisFlightLock(idle_store, **{argument: value})  # type: ignore[arg-type]

    @pytest.mark.parametrize("argument", ["clock", "sleep", "asleep"])
    @pytest.mark.parametrize("value", [None, 0.025])
    def test_a_bad_function_is_refused(
        self, idle_store: RedisStore, argument: str, value: object
    ) -> None:
        with pytest.raises(ValidationError, match=f"RedisFlightLock {argument} "):
            RedisFlightLock(idle_store, **{argument: value})  # type: ignore[arg-type]

    @pytest.mark.parametrize("value", [None, "redis://localhost", MemoryStore(), RedisStore])
    def test_a_store_that_is_no_redis_store_is_refused(self, value: object) -> None:
        with pytest.raises(ValidationError, match="RedisFlightLock store must be a RedisStore"):
            RedisFlightLock(value)  # type: ignore[arg-type]

    def test_good_values_are_kept(self, idle_store: RedisStore) -> None:
        timing = PollingTime()
        lock = RedisFlightLock(
            idle_store,
            lock_ttl=MAX_TIMEOUT,
            max_wait=30,
            poll_interval=0.001,
            clock=timing.clock,
            sleep=timing.sleep,
            asleep=timing.asleep,
        )
        assert (lock.lock_ttl, lock.max_wait, lock.poll_interval) == (MAX_TIMEOUT, 30, 0.001)
        assert (lock.clock, lock.sleep, lock.asleep) == (timing.clock, timing.sleep, timing.asleep)
