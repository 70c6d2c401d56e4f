"""Redis faults never break a call: down, slow, refusing or garbled, with a breaker in front."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import redis

import exllm_py
from exllm_py import telemetry
from exllm_py.cache.arguments import MAX_TIMEOUT
from exllm_py.cache.entry import make_entry
from exllm_py.cache.keys import explicit_key
from exllm_py.cache.production import ProductionStrategy
from exllm_py.cache.stores.breaker import CircuitBreaker
from exllm_py.cache.stores.redis import RedisStore
from exllm_py.cache.stores.redis_faults import FAULT, FaultGuard
from exllm_py.errors import ValidationError
from exllm_py.types import LLMResponse
from tests.clocks import FakeClock
from tests.redis_server import RedisServer


def ask(text: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": text}]


def closed_port() -> int:
    """A loopback port nobody listens on (connections are refused)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class SilentServer:
    """A loopback port that takes connections and never answers a byte: a hung Redis.

    Nobody accepts: the connections wait in the listen queue, where
    :meth:`connections` counts them (a client that retries connects again).
    """

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0), backlog=16)
        self.url = f"redis://127.0.0.1:{self.listener.getsockname()[1]}/0"

    def connections(self) -> int:
        """How many connections were made since the last call."""
        self.listener.setblocking(False)
        count = 0
        while True:
            try:
                connection, _ = self.listener.accept()
            except BlockingIOError:
                return count
            connection.close()
            count += 1


@pytest.fixture
def silent_server() -> Iterator[SilentServer]:
    server = SilentServer()
    yield server
    server.listener.close()


@pytest.fixture
def errors() -> Iterator[list[dict[str, Any]]]:
    seen: list[dict[str, Any]] = []
    telemetry.attach(
        "test-cache-errors",
        [telemetry.CACHE_ERROR],
        lambda _event, measurements, metadata: seen.append({**measurements, **metadata}),
    )
    yield seen
    telemetry.detach("test-cache-errors")


def reasons(errors: list[dict[str, Any]]) -> list[str]:
    return [error["reason"] for error in errors]


class TestCircuitBreaker:
    """Opens after consecutive failures, refuses during the cooldown, probes once, then closes."""

    def test_it_opens_after_the_threshold_of_consecutive_failures(
        self, errors: list[dict[str, Any]]
    ) -> None:
        """Two failures leave it closed; the third opens it and says so."""
        breaker = CircuitBreaker(failure_threshold=3, cooldown=10, clock=FakeClock())
        breaker.failure("timeout")
        breaker.failure("connection")
        assert breaker.state == "closed"
        assert breaker.allow()
        breaker.failure("timeout")
        assert breaker.state == "open"
        assert not breaker.allow()
        assert reasons(errors) == ["timeout", "connection", "timeout", "breaker_open"]
        assert errors[-1]["cooldown_s"] == 10
        assert errors[-1]["store"] == "redis"

    def test_a_success_resets_the_count(self) -> None:
        """Failures must be consecutive to open it."""
        breaker = CircuitBreaker(failure_threshold=2, clock=FakeClock())
        breaker.failure("timeout")
        breaker.success()
        breaker.failure("timeout")
        assert breaker.state == "closed"
        assert breaker.consecutive_failures == 1

    def test_after_the_cooldown_one_probe_goes_through(self) -> None:
        """Half-open lets exactly one caller try; its success closes the breaker."""
        clock = FakeClock()
        breaker = CircuitBreaker(failure_threshold=1, cooldown=10, clock=clock)
        breaker.failure("timeout")
        clock.tick(9.9)
        assert not breaker.allow()
        clock.tick(0.1)
        assert breaker.allow()
        assert breaker.state == "half_open"
        assert not breaker.allow()
        breaker.success()
        assert breaker.state == "closed"
        assert breaker.allow()

    def test_a_failed_probe_opens_it_for_another_cooldown(self) -> None:
        """The probe's failure restarts the cooldown."""
        clock = FakeClock()
        breaker = CircuitBreaker(failure_threshold=1, cooldown=10, clock=clock)
        breaker.failure("timeout")
        clock.tick(10)
        assert breaker.allow()
        breaker.failure("timeout")
        assert breaker.state == "open"
        clock.tick(9)
        assert not breaker.allow()
        clock.tick(1)
        assert breaker.allow()

    def test_a_probe_that_never_reports_is_replaced(self) -> None:
        """If the probe's caller vanished, another probe goes through a cooldown later."""
        clock = FakeClock()
        breaker = CircuitBreaker(failure_threshold=1, cooldown=10, clock=clock)
        breaker.failure("timeout")
        clock.tick(10)
        assert breaker.allow()
        clock.tick(10)
        assert breaker.allow()

    def test_concurrent_failures_open_it_once(self, errors: list[dict[str, Any]]) -> None:
        """Eight threads failing at once: every failure counted, one opening reported."""
        breaker = CircuitBreaker(failure_threshold=3, clock=FakeClock())

        def fail() -> None:
            for _ in range(100):
                breaker.failure("timeout")

        threads = [threading.Thread(target=fail) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert breaker.consecutive_failures == 800
        assert reasons(errors).count("breaker_open") == 1

    @pytest.mark.parametrize("options", [{"failure_threshold": 0}, {"cooldown": 0}])
    def test_bad_settings_are_refused(self, options: dict[str, float]) -> None:
        """A threshold below 1 or a cooldown of zero is a ValueError."""
        with pytest.raises(ValueError, match=next(iter(options))):
            CircuitBreaker(**options)  # type: ignore[arg-type]


def bug(*_args: object) -> object:
    """A command with a programming error in it."""
    raise TypeError("unsupported operand type(s) for +: 'int' and 'str'")


def refused(*_args: object) -> object:
    raise redis.ConnectionError("Error 111 connecting to 127.0.0.1:1. Connection refused.")


def timed_out(*_args: object) -> object:
    raise redis.TimeoutError("Timeout reading from socket")


def error_reply(*_args: object) -> object:
    raise redis.ResponseError("WRONGTYPE Operation against a key holding the wrong kind of value")


async def abug(*_args: object) -> object:
    return bug()


async def arefused(*_args: object) -> object:
    return refused()


class TestFaultGuard:
    """Redis faults become FAULT and count for the breaker; programming errors propagate."""

    @pytest.fixture
    def guard(self) -> FaultGuard:
        return FaultGuard(CircuitBreaker(failure_threshold=2, cooldown=10, clock=FakeClock()))

    def test_a_success_returns_the_result(self, guard: FaultGuard) -> None:
        """The command's own answer comes back untouched."""
        assert guard.run("k", lambda: b"value") == b"value"

    @pytest.mark.parametrize(
        ("command", "reason"), [(refused, "connection"), (timed_out, "timeout")]
    )
    def test_a_redis_fault_is_a_fault_and_a_breaker_failure(
        self, guard: FaultGuard, errors: list[dict[str, Any]], command: Any, reason: str
    ) -> None:
        """Refused or timed out: FAULT, one failure counted, the reason reported."""
        assert guard.run("k", command) is FAULT
        assert guard.breaker.consecutive_failures == 1
        assert reasons(errors) == [reason]

    def test_an_os_error_is_a_connection_fault(
        self, guard: FaultGuard, errors: list[dict[str, Any]]
    ) -> None:
        """An OSError from the socket layer counts as a connection failure."""

        def reset() -> object:
            raise ConnectionResetError(104, "Connection reset by peer")

        assert guard.run("k", reset) is FAULT
        assert reasons(errors) == ["connection"]

    def test_a_garbled_reply_is_a_fault_and_a_breaker_failure(
        self, guard: FaultGuard, errors: list[dict[str, Any]]
    ) -> None:
        """A reply redis-py cannot parse is neither timeout nor connection: ``redis_error``."""

        def garbled() -> object:
            raise redis.InvalidResponse("Protocol Error: b'!'")

        assert guard.run("k", garbled) is FAULT
        assert guard.breaker.consecutive_failures == 1
        assert guard.spared("k")
        assert reasons(errors) == ["redis_error"]

    def test_an_error_reply_is_a_fault_but_no_breaker_failure(
        self, guard: FaultGuard, errors: list[dict[str, Any]]
    ) -> None:
        """Redis answered (WRONGTYPE): FAULT for the caller, nothing for the breaker."""
        for _ in range(5):
            assert guard.run("k", error_reply) is FAULT
        assert guard.breaker.state == "closed"
        assert guard.breaker.consecutive_failures == 0
        assert not guard.spared("k")
        assert reasons(errors) == ["redis_error"] * 5

    def test_a_type_error_propagates_and_leaves_the_breaker_alone(
        self, guard: FaultGuard, errors: list[dict[str, Any]]
    ) -> None:
        """A bug is not an outage: it raises, counts no failure and spares no key."""
        for _ in range(3):
            with pytest.raises(TypeError, match="unsupported operand"):
                guard.run("k", bug)
        assert guard.breaker.state == "closed"
        assert guard.breaker.consecutive_failures == 0
        assert not guard.spared("k")
        assert errors == []

    def test_a_data_error_propagates(self, guard: FaultGuard) -> None:
        """redis-py's DataError (arguments it cannot encode) is a programming error too."""

        def bad_argument() -> object:
            raise redis.DataError("Invalid input of type: 'object'.")

        with pytest.raises(redis.DataError):
            guard.run("k", bad_argument)
        assert guard.breaker.consecutive_failures == 0

    async def test_async_bugs_propagate_and_faults_do_not(
        self, guard: FaultGuard, errors: list[dict[str, Any]]
    ) -> None:
        """arun: the same line between a bug and a Redis fault."""
        with pytest.raises(TypeError):
            await guard.arun("k", abug)
        assert guard.breaker.consecutive_failures == 0
        assert await guard.arun("k", arefused) is FAULT
        assert guard.breaker.consecutive_failures == 1
        assert reasons(errors) == ["connection"]

    def test_a_failed_key_is_spared_until_a_success_or_a_cooldown(self, guard: FaultGuard) -> None:
        """After its failure, the key skips Redis; a success, or one breaker cooldown, ends that."""
        clock = guard.breaker.clock
        assert isinstance(clock, FakeClock)
        calls: list[str] = []
        assert guard.run("k", refused) is FAULT
        assert guard.run("k", calls.append, "tried") is FAULT
        assert guard.refusing("k")
        assert calls == []
        assert guard.run("other", calls.append, "other") is None  # a success elsewhere
        assert not guard.spared("k")
        guard.run("k", refused)
        clock.tick(guard.breaker.cooldown - 0.01)
        assert guard.spared("k")
        clock.tick(0.01)
        assert not guard.spared("k")
        assert guard.run("k", calls.append, "back") is None
        assert calls == ["other", "back"]

    def test_the_fault_memory_forgets_the_oldest_key_beyond_1024(
        self, errors: list[dict[str, Any]]
    ) -> None:
        """1,024 failed keys are all spared; the 1,025th pushes out the first, not the newest."""
        breaker = CircuitBreaker(failure_threshold=5000, cooldown=10, clock=FakeClock())
        guard = FaultGuard(breaker)
        for index in range(1024):
            assert guard.run(f"k{index}", refused) is FAULT
        assert guard.spared("k0")
        assert guard.spared("k1023")
        assert guard.run("k1024", refused) is FAULT
        assert not guard.spared("k0")
        assert guard.spared("k1")
        assert guard.spared("k1024")
        assert len(errors) == 1025


class TestProgrammingErrorsInTheStore:
    """A bug inside a RedisStore operation raises instead of turning into a miss."""

    @pytest.fixture
    def store(self, redis_url: str) -> Iterator[RedisStore]:
        breaker = CircuitBreaker(failure_threshold=1, cooldown=60, clock=FakeClock())
        store = RedisStore(redis_url, namespace="app", timeout=2.0, breaker=breaker)
        yield store
        store.close()

    def test_an_argument_redis_py_cannot_encode_raises(
        self, store: RedisStore, errors: list[dict[str, Any]]
    ) -> None:
        """execute() with an unencodable argument: DataError, breaker still closed."""
        with pytest.raises(redis.DataError):
            store.execute("k", "GET", object())
        assert store.breaker.state == "closed"
        assert errors == []
        assert store.execute("k", "SET", "app:k", "v") is True

    async def test_async_arguments_redis_py_cannot_encode_raise(self, store: RedisStore) -> None:
        """aexecute() the same."""
        with pytest.raises(redis.DataError):
            await store.aexecute("k", "GET", object())
        assert store.breaker.state == "closed"
        await store.aclose()

    def test_a_type_error_while_decoding_raises(
        self,
        store: RedisStore,
        redis_server: RedisServer,
        errors: list[dict[str, Any]],
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        """Only the codec's ValueError means a corrupt value; a bug in decoding raises."""
        store.set("k", make_entry(LLMResponse("a", "m", "mock"), "k", store.clock(), 60))
        monkeypatch.setattr("exllm_py.cache.stores.redis.decode_entry", bug)
        with pytest.raises(TypeError, match="unsupported operand"):
            store.get("k")
        assert errors == []
        with redis_server.client() as raw:
            assert raw.exists("app:k") == 1  # not deleted as corrupt


class TestStatsOutsideTheBreaker:
    """stats() never counts for the breaker: a slow or failing size scan cannot open it."""

    def test_failing_stats_calls_do_not_open_the_breaker(
        self, errors: list[dict[str, Any]]
    ) -> None:
        """With a threshold of 1, three failed stats() leave it closed; one failed get opens it."""
        breaker = CircuitBreaker(failure_threshold=1, cooldown=60, clock=FakeClock())
        store = RedisStore(f"redis://127.0.0.1:{closed_port()}/0", timeout=0.5, breaker=breaker)
        for _ in range(3):
            stats = store.stats()
            assert (stats.entries, stats.bytes) == (0, 0)
        assert breaker.state == "closed"
        assert breaker.consecutive_failures == 0
        assert reasons(errors) == ["stats_failed"] * 3
        assert "Connection refused" in errors[0]["error"]
        assert errors[0]["store"] == breaker.name
        assert store.get("k") is None
        assert breaker.state == "open"
        store.close()

    def test_a_slow_stats_call_spares_live_traffic(
        self, private_redis: RedisServer, errors: list[dict[str, Any]]
    ) -> None:
        """A stats() that times out leaves the breaker closed and no key spared."""
        breaker = CircuitBreaker(failure_threshold=1, cooldown=60, clock=FakeClock())
        store = RedisStore(private_redis.url, namespace="app", timeout=0.2, breaker=breaker)
        entry = make_entry(LLMResponse("a", "m", "mock"), "k", store.clock(), 60)
        store.set("k", entry)
        private_redis.pause(10.0)  # far past the timeout; nothing here waits it out
        assert store.stats().entries == 0
        assert reasons(errors) == ["stats_failed"]
        assert breaker.state == "closed"
        assert not store.guard.refusing("k")
        store.close()

    def test_while_the_breaker_refuses_stats_does_not_try(
        self, errors: list[dict[str, Any]]
    ) -> None:
        """An open breaker: counters only, no scan, nothing reported."""
        breaker = CircuitBreaker(failure_threshold=1, cooldown=60, clock=FakeClock())
        store = RedisStore(f"redis://127.0.0.1:{closed_port()}/0", timeout=0.5, breaker=breaker)
        store.get("k")
        assert breaker.state == "open"
        reported = len(errors)
        stats = store.stats()
        assert (stats.misses, stats.entries, stats.bytes) == (1, 0, 0)
        assert len(errors) == reported
        store.close()

    def test_stats_max_scans_zero_never_touches_redis(self, errors: list[dict[str, Any]]) -> None:
        """stats_max_scans=0: the counters alone, even with Redis unreachable."""
        store = RedisStore(f"redis://127.0.0.1:{closed_port()}/0", stats_max_scans=0)
        stats = store.stats()
        assert (stats.entries, stats.bytes) == (0, 0)
        assert errors == []
        store.close()


class TestUnreachableRedis:
    """A store whose server refuses connections answers misses and no-ops, never errors."""

    @pytest.fixture
    def store(self) -> Iterator[RedisStore]:
        store = RedisStore(f"redis://127.0.0.1:{closed_port()}/0", timeout=0.5)
        yield store
        store.close()

    def test_every_operation_degrades_quietly(
        self, store: RedisStore, errors: list[dict[str, Any]]
    ) -> None:
        """get is None, set and clear do nothing, delete is False, stats are zeros."""
        entry = make_entry(LLMResponse("a", "m", "mock"), "k", store.clock(), 60)
        assert store.get("k") is None
        store.set("other", entry)
        assert store.delete("k") is False
        store.clear()
        stats = store.stats()
        assert (stats.hits, stats.misses, stats.puts, stats.entries) == (0, 1, 0, 0)
        assert reasons(errors)[0] == "connection"
        assert "breaker_open" in reasons(errors)
        assert "Connection refused" in errors[0]["error"]

    async def test_async_operations_degrade_quietly(self, store: RedisStore) -> None:
        """aget is None, aset does nothing, adelete is False."""
        entry = make_entry(LLMResponse("a", "m", "mock"), "k", store.clock(), 60)
        assert await store.aget("k") is None
        await store.aset("k2", entry)
        assert await store.adelete("k") is False
        await store.aclose()

    async def test_a_failed_async_write_costs_one_failure(
        self, store: RedisStore, errors: list[dict[str, Any]]
    ) -> None:
        """aset's SET fails: the key is spared, so the delete that follows does not try again."""
        entry = make_entry(LLMResponse("a", "m", "mock"), "k", store.clock(), 60)
        await store.aset("k", entry)
        assert reasons(errors) == ["connection"]
        assert store.breaker.consecutive_failures == 1
        assert store.guard.spared("k")
        await store.aclose()

    def test_a_failed_write_costs_one_failure(
        self, store: RedisStore, errors: list[dict[str, Any]]
    ) -> None:
        """set's SET fails: the key is spared, so the delete that follows does not try again."""
        entry = make_entry(LLMResponse("a", "m", "mock"), "k", store.clock(), 60)
        store.set("k", entry)
        assert reasons(errors) == ["connection"]
        assert store.breaker.consecutive_failures == 1
        assert store.guard.spared("k")

    def test_a_failed_raw_command_spares_its_key(
        self, store: RedisStore, errors: list[dict[str, Any]]
    ) -> None:
        """execute() that fails for a key (as the lock's do) spares that key's next operations."""
        assert store.execute("k", "SET", "app@lock:k", "token") is FAULT
        assert store.guard.spared("k")
        assert store.get("k") is None
        assert reasons(errors) == ["connection"]

    async def test_a_failed_async_raw_command_spares_its_key(
        self, store: RedisStore, errors: list[dict[str, Any]]
    ) -> None:
        """aexecute() the same: one failure, and the key's read that follows skips Redis."""
        assert await store.aexecute("k", "SET", "app@lock:k", "token") is FAULT
        assert store.guard.spared("k")
        assert await store.aget("k") is None
        assert reasons(errors) == ["connection"]
        await store.aclose()

    def test_an_open_breaker_spares_the_network(
        self, store: RedisStore, errors: list[dict[str, Any]]
    ) -> None:
        """Once open, operations report nothing new: they do not try."""
        for index in range(3):
            store.get(f"k{index}")
        assert store.breaker.state == "open"
        reported = len(errors)
        for index in range(100):
            assert store.get(f"again{index}") is None
        assert len(errors) == reported


class TestRedisKilledMidRun:
    """Calls through a RedisStore keep working while the server is gone, and use it once back."""

    def test_calls_survive_the_breaker_opens_and_recovers(
        self, private_redis: RedisServer, errors: list[dict[str, Any]]
    ) -> None:
        """Down: provider answers, breaker opens; a new server on the same port is used again."""
        breaker_clock = FakeClock()
        breaker = CircuitBreaker(failure_threshold=2, cooldown=30, clock=breaker_clock)
        store = RedisStore(private_redis.url, namespace="app", timeout=0.5, breaker=breaker)
        with exllm_py.Client(cache_strategy=ProductionStrategy(store)) as client:
            client.chat("mock", ask("Hi"))
            assert client.chat("mock", ask("Hi")).metadata["from_cache"] is True
            assert client.mock.calls == 1

            private_redis.kill()
            down = client.chat("mock", ask("while down"))
            assert down.content == "mock response to: while down"
            # The read failed; that call's second look and write skipped Redis.
            assert reasons(errors) == ["connection"]
            assert breaker.state == "closed"
            client.chat("mock", ask("still down"))
            assert reasons(errors) == ["connection", "connection", "breaker_open"]
            assert breaker.state == "open"

            client.chat("mock", ask("open"))
            assert len(errors) == 3  # an open breaker does not even try
            assert client.mock.calls == 4

            private_redis.restart()
            breaker_clock.tick(30)
            fresh = client.chat("mock", ask("Hi"))  # the probe: a miss on the new, empty server
            assert fresh.metadata["from_cache"] is False
            assert breaker.state == "closed"
            hit = client.chat("mock", ask("Hi"))
            assert hit.metadata["from_cache"] is True
            assert client.mock.calls == 5
        with private_redis.client() as raw:
            assert raw.keys("app:*") == [f"app:{hit.metadata['cache_key']}".encode()]
        store.close()

    @pytest.mark.parametrize("failure_threshold", [1, 3], ids=["breaker-opened", "breaker-closed"])
    def test_a_key_that_failed_while_down_uses_redis_once_it_is_back(
        self, private_redis: RedisServer, failure_threshold: int
    ) -> None:
        """One cooldown after the restart, the key whose call failed is stored and served again."""
        breaker_clock = FakeClock()
        breaker = CircuitBreaker(failure_threshold, cooldown=5, clock=breaker_clock)
        store = RedisStore(private_redis.url, namespace="app", timeout=0.5, breaker=breaker)
        with exllm_py.Client(cache_strategy=ProductionStrategy(store)) as client:
            client.chat("mock", ask("warm up"))
            private_redis.kill()
            client.chat("mock", ask("Hi"))  # its read fails: the key is spared
            assert breaker.state == ("open" if failure_threshold == 1 else "closed")
            private_redis.restart()
            breaker_clock.tick(breaker.cooldown)
            assert client.chat("mock", ask("Hi")).metadata["from_cache"] is False
            assert breaker.state == "closed"
            assert client.chat("mock", ask("Hi")).metadata["from_cache"] is True
            assert client.mock.calls == 3
        store.close()

    async def test_async_calls_survive_a_killed_server(
        self, private_redis: RedisServer, errors: list[dict[str, Any]]
    ) -> None:
        """achat: the provider answers while Redis is gone, and the error is reported."""
        store = RedisStore(private_redis.url, namespace="app", timeout=0.5)
        async with exllm_py.Client(cache_strategy=ProductionStrategy(store)) as client:
            await client.achat("mock", ask("Hi"))
            private_redis.kill()
            answer = await client.achat("mock", ask("while down"))
            assert answer.content == "mock response to: while down"
            assert client.mock.calls == 2
        assert reasons(errors) == ["connection"]
        await store.aclose()
        store.close()


class TestSlowRedis:
    """A server that does not answer costs one timeout per call, no more."""

    TIMEOUT = 0.5
    # How long the server stops answering: far past the timeout, so no call outlasts it.
    PAUSE = 10.0

    def test_a_paused_server_adds_at_most_one_timeout(
        self, private_redis: RedisServer, errors: list[dict[str, Any]]
    ) -> None:
        """The read times out; the second look and the write skip Redis."""
        store = RedisStore(private_redis.url, namespace="app", timeout=self.TIMEOUT)
        with exllm_py.Client(cache_strategy=ProductionStrategy(store)) as client:
            client.chat("mock", ask("warm up the connection"))
            private_redis.pause(self.PAUSE)
            started = time.perf_counter()
            answer = client.chat("mock", ask("Hi"))
            elapsed = time.perf_counter() - started
        assert answer.content == "mock response to: Hi"
        assert elapsed >= 0.9 * self.TIMEOUT  # the read did wait for Redis
        assert elapsed < self.PAUSE / 2  # but not for the server to answer again
        assert reasons(errors) == ["timeout"]  # one timeout: each costs a report
        store.close()

    def test_by_default_a_hung_server_costs_a_read_50_ms(
        self, silent_server: SilentServer, errors: list[dict[str, Any]]
    ) -> None:
        """The default timeout is 0.05 s: a read from a hung server waits it out, then misses."""
        store = RedisStore(silent_server.url, namespace="app")
        assert store.timeout == 0.05
        started = time.perf_counter()
        assert store.get("k") is None
        # Only a lower bound: a loaded machine may add any delay on top.
        assert time.perf_counter() - started >= 0.04
        assert reasons(errors) == ["timeout"]
        store.close()

    async def test_async_reads_are_bounded_too(
        self, silent_server: SilentServer, errors: list[dict[str, Any]]
    ) -> None:
        """aget from a server that never answers returns a miss after one timeout, no retry."""
        store = RedisStore(silent_server.url, namespace="app", timeout=self.TIMEOUT)
        started = time.perf_counter()
        assert await asyncio.wait_for(store.aget("k"), self.PAUSE) is None
        elapsed = time.perf_counter() - started
        assert elapsed >= 0.9 * self.TIMEOUT
        assert silent_server.connections() == 1  # a retry would have connected again
        assert reasons(errors) == ["timeout"]
        await store.aclose()
        store.close()

    def test_a_success_elsewhere_lets_the_key_try_again(
        self, private_redis: RedisServer, errors: list[dict[str, Any]]
    ) -> None:
        """A key spared after its timeout uses Redis again once any operation succeeds."""
        clock = FakeClock()
        store = RedisStore(private_redis.url, namespace="app", timeout=self.TIMEOUT, clock=clock)
        entry = make_entry(LLMResponse("a", "m", "mock"), "k", clock(), 60)
        store.get("warm")
        private_redis.pause(self.PAUSE)
        assert store.get("k") is None  # times out
        store.set("k", entry)  # spared: no second timeout (it would be reported below)
        private_redis.restart()  # Redis is back, at once rather than at the pause's end
        assert store.get("other") is None  # succeeds: Redis is back
        store.set("k", entry)
        assert store.get("k") is not None
        assert reasons(errors) == ["timeout"]
        store.close()


class TestGarbage:
    """A value that is not an entry is reported, deleted and treated as a miss."""

    @pytest.fixture
    def store(self, redis_url: str) -> Iterator[RedisStore]:
        store = RedisStore(redis_url, namespace="app", timeout=2.0)
        yield store
        store.close()

    @pytest.fixture
    def raw(self, redis_server: RedisServer) -> Iterator[redis.Redis]:
        with redis_server.client() as client:
            yield client

    @pytest.mark.parametrize(
        "garbage",
        [b"garbage", b"z\x00not zlib", b'{"v": 99}', b"{}", b"{not json", b""],
        ids=["text", "bad-zlib", "other-version", "empty-object", "broken-json", "empty"],
    )
    def test_garbage_is_a_miss_and_is_deleted(
        self, store: RedisStore, raw: redis.Redis, errors: list[dict[str, Any]], garbage: bytes
    ) -> None:
        """get returns None, the key is gone, and corrupt_value is reported (not an outage)."""
        raw.set("app:k", garbage)
        assert store.get("k") is None
        assert raw.exists("app:k") == 0
        assert store.breaker.state == "closed"
        assert reasons(errors) == ["corrupt_value"]
        assert errors[0]["key"] == "k"
        assert errors[0]["store"] == "redis:app"
        assert errors[0]["error"].startswith("ValueError: ")

    async def test_async_reads_delete_garbage_too(
        self, store: RedisStore, raw: redis.Redis, errors: list[dict[str, Any]]
    ) -> None:
        """aget treats garbage the same way, and the report names the key."""
        raw.set("app:k", b"garbage")
        assert await store.aget("k") is None
        assert raw.exists("app:k") == 0
        assert reasons(errors) == ["corrupt_value"]
        assert errors[0]["key"] == "k"
        await store.aclose()

    def test_a_call_over_garbage_goes_to_the_provider_and_repairs_it(
        self, store: RedisStore, raw: redis.Redis
    ) -> None:
        """The call succeeds, and its answer replaces the garbage."""
        name = "app:" + explicit_key("greeting", None)
        raw.set(name, b"\xff\xfe garbage")
        with exllm_py.Client(cache_strategy=ProductionStrategy(store)) as client:
            first = client.chat("mock", ask("Hi"), cache_key="greeting")
            second = client.chat("mock", ask("Hi"), cache_key="greeting")
            assert client.mock.calls == 1
        assert first.content == second.content == "mock response to: Hi"
        assert (raw.get(name) or b"")[:1] == b"{"

    def test_an_error_reply_is_a_miss_without_tripping_the_breaker(
        self, store: RedisStore, raw: redis.Redis, errors: list[dict[str, Any]]
    ) -> None:
        """WRONGTYPE and the like: Redis answered, so the breaker stays closed."""
        raw.rpush("app:k", b"a list, not a string")
        for _ in range(5):
            assert store.get("k") is None
        assert store.breaker.state == "closed"
        assert reasons(errors) == ["redis_error"] * 5
        assert "WRONGTYPE" in errors[0]["error"]
        assert errors[0]["store"] == "redis:app"


class TestArguments:
    """Every CircuitBreaker argument is checked when it is made; the error names the argument."""

    @pytest.mark.parametrize(
        ("argument", "value"),
        [
            ("failure_threshold", "3"),
            ("failure_threshold", 2.5),
            ("failure_threshold", True),
            ("failure_threshold", None),
            ("failure_threshold", 0),
            ("cooldown", float("nan")),
            ("cooldown", float("inf")),
            ("cooldown", -1.0),
            ("cooldown", 0),
            ("cooldown", True),
            ("cooldown", "5"),
            ("cooldown", MAX_TIMEOUT + 1),
            ("name", ""),
            ("name", None),
            ("name", 3),
            ("clock", None),
            ("clock", 5.0),
        ],
    )
    def test_a_bad_value_is_refused(self, argument: str, value: object) -> None:
        with pytest.raises(ValidationError, match=f"CircuitBreaker {argument} "):
            CircuitBreaker(**{argument: value})  # type: ignore[arg-type]

    def test_good_values_are_kept(self) -> None:
        clock = FakeClock()
        breaker = CircuitBreaker(1, MAX_TIMEOUT, name="redis:app", clock=clock)
        assert (breaker.failure_threshold, breaker.cooldown) == (1, MAX_TIMEOUT)
        assert (breaker.name, breaker.clock) == ("redis:app", clock)
        assert CircuitBreaker(cooldown=0.001).cooldown == 0.001
