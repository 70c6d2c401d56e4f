"""``@cached``: functions, coroutines and methods through the cache's stores and flights."""

from __future__ import annotations

import asyncio
import datetime
import re
import subprocess
import sys
import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

import exllm_py
from exllm_py import telemetry
from exllm_py.cache import MemoryStore, NoCache, ProductionStrategy, RedisStore, decorator
from exllm_py.cache.decorator import FUNCTION_PROVIDER, cached, default_strategy
from exllm_py.errors import ValidationError
from tests.cache.flight_parties import eventually
from tests.cache.test_singleflight import until
from tests.clocks import FakeClock

Event = tuple[tuple[str, ...], dict[str, Any], dict[str, Any]]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def store(clock: FakeClock) -> MemoryStore:
    return MemoryStore(clock=clock, cleanup_interval=None)


@pytest.fixture
def events() -> Iterator[list[Event]]:
    """Every ("exllm", "cache", hit/miss/put) event of the test."""
    seen: list[Event] = []
    names = [telemetry.CACHE_HIT, telemetry.CACHE_MISS, telemetry.CACHE_PUT]
    telemetry.attach("test-decorator", names, lambda *event: seen.append(event))
    yield seen
    telemetry.detach("test-decorator")


class Counted:
    """A function's stand-in body: counts its calls, answers from its arguments."""

    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []

    def __call__(self, *args: Any) -> dict[str, Any]:
        self.calls.append(args)
        return {"args": list(args), "call": len(self.calls)}


class TestSyncFunctions:
    """A sync function runs once per distinct call; repeats get its stored value."""

    def test_a_repeated_call_returns_the_stored_value_without_running(
        self, store: MemoryStore
    ) -> None:
        body = Counted()

        @cached(store=store)
        def embed(text: str) -> dict[str, Any]:
            return body(text)

        first = embed("hello")
        assert embed("hello") == first == {"args": ["hello"], "call": 1}
        assert body.calls == [("hello",)]

    def test_different_arguments_run_the_function_again(self, store: MemoryStore) -> None:
        body = Counted()

        @cached(store=store)
        def embed(text: str) -> dict[str, Any]:
            return body(text)

        embed("a")
        assert embed("b") == {"args": ["b"], "call": 2}

    def test_a_value_comes_back_equal_and_each_caller_owns_its_copy(
        self, store: MemoryStore
    ) -> None:
        value: dict[str, Any] = {
            "vector": [0.1, -2.5e-7, 3.0],
            "label": "café",
            "none": None,
            "n": 2**53,
        }

        @cached(store=store)
        def compute() -> dict[str, Any]:
            return {**value, "vector": list(value["vector"])}

        compute()["vector"].append(99.0)  # the caller's copy, not the stored one
        assert compute() == value

    def test_the_function_keeps_its_name_and_docstring(self, store: MemoryStore) -> None:
        @cached(store=store)
        def embed(text: str) -> str:
            """Embed it."""
            return text

        assert (embed.__name__, embed.__doc__) == ("embed", "Embed it.")

    def test_an_error_is_raised_and_not_stored(self, store: MemoryStore) -> None:
        attempts: list[int] = []

        @cached(store=store)
        def flaky() -> int:
            attempts.append(1)
            if len(attempts) == 1:
                raise RuntimeError("first call fails")
            return len(attempts)

        with pytest.raises(RuntimeError, match="first call fails"):
            flaky()
        assert flaky() == 2
        assert flaky() == 2


class TestArgumentKeys:
    """Keys come from the bound arguments: how they were passed does not matter, what does."""

    def test_keyword_order_positional_and_defaults_share_an_entry(self, store: MemoryStore) -> None:
        body = Counted()

        @cached(store=store)
        def search(query: str, limit: int = 5, *, lang: str = "en") -> dict[str, Any]:
            return body(query, limit, lang)

        search("q", 5, lang="en")
        search(query="q", limit=5)
        search(lang="en", limit=5, query="q")
        search("q")
        assert len(body.calls) == 1

    def test_extra_keywords_are_order_free_but_extra_positionals_are_not(
        self, store: MemoryStore
    ) -> None:
        body = Counted()

        @cached(store=store)
        def anything(*args: Any, **kwargs: Any) -> dict[str, Any]:
            return body(*args, *sorted(kwargs))

        anything(1, 2, a=1, b=2)
        anything(1, 2, b=2, a=1)
        assert len(body.calls) == 1
        anything(2, 1, a=1, b=2)
        assert len(body.calls) == 2

    def test_dict_arguments_are_keyed_by_content_not_key_order(self, store: MemoryStore) -> None:
        body = Counted()

        @cached(store=store)
        def configure(options: dict[str, int]) -> dict[str, Any]:
            return body(options)

        configure({"a": 1, "b": 2})
        configure({"b": 2, "a": 1})
        assert len(body.calls) == 1

    def test_values_json_tells_apart_are_different_calls(self, store: MemoryStore) -> None:
        body = Counted()

        @cached(store=store)
        def scale(factor: Any) -> dict[str, Any]:
            return body(factor)

        for factor in (1, 1.5, "1", True, None, [1]):
            scale(factor)
        assert len(body.calls) == 6

    def test_two_functions_with_the_same_arguments_do_not_share_entries(
        self, store: MemoryStore
    ) -> None:
        @cached(store=store)
        def first(x: int) -> str:
            return "first"

        @cached(store=store)
        def second(x: int) -> str:
            return "second"

        assert (first(1), second(1)) == ("first", "second")

    def test_a_new_version_does_not_read_the_old_entries(self, store: MemoryStore) -> None:
        body = Counted()

        def answer(x: int) -> dict[str, Any]:
            return body(x)

        cached(store=store, version="1")(answer)(1)
        cached(store=store, version="1")(answer)(1)
        assert len(body.calls) == 1
        assert cached(store=store, version="2")(answer)(1) == {"args": [1], "call": 2}

    def test_namespaces_keep_their_entries_apart(self, store: MemoryStore) -> None:
        body = Counted()

        def answer(x: int) -> dict[str, Any]:
            return body(x)

        tenant_a = cached(store=store, namespace="tenant-a")(answer)
        tenant_b = cached(store=store, namespace="tenant-b")(answer)
        tenant_a(1)
        assert tenant_b(1)["call"] == 2
        assert tenant_a(1)["call"] == 1


class TestKeyFunction:
    """``key=`` says what stands for the arguments; the name, version and namespace still count."""

    def test_the_key_function_gets_the_call_s_arguments_and_decides_the_entry(
        self, store: MemoryStore
    ) -> None:
        body = Counted()
        seen: list[tuple[Any, ...]] = []

        def by_text(text: str, client: object) -> str:
            seen.append((text, client))
            return text.lower()

        @cached(store=store, key=by_text)
        def embed(text: str, client: object) -> dict[str, Any]:
            return body(text)

        session = object()  # no JSON form, but the key function leaves it out
        embed("Hello", session)
        embed("HELLO", client=object())
        assert len(body.calls) == 1
        assert seen[0] == ("Hello", session)

    def test_a_key_without_json_form_is_refused_naming_the_key_function(
        self, store: MemoryStore
    ) -> None:
        @cached(store=store, key=lambda text: {text})
        def embed(text: str) -> str:
            return text

        with pytest.raises(ValidationError, match=r"key= function of @cached .*embed.* a set"):
            embed("x")


class TestUnkeyableArguments:
    """An argument without a JSON form is refused by name, before the function runs."""

    def test_the_message_names_the_argument_its_type_and_the_way_out(
        self, store: MemoryStore
    ) -> None:
        body = Counted()

        class Session:
            pass

        @cached(store=store)
        def fetch(url: str, session: Session) -> dict[str, Any]:
            return body(url)

        with pytest.raises(ValidationError) as raised:
            fetch("https://example.test", Session())
        message = str(raised.value)
        assert "argument 'session'" in message
        assert "a Session" in message
        assert "fetch" in message
        assert "key=" in message
        assert body.calls == []

    def test_an_element_of_star_args_is_named_by_its_position(self, store: MemoryStore) -> None:
        @cached(store=store)
        def total(*numbers: Any) -> int:
            return 0

        with pytest.raises(ValidationError, match=r"argument numbers\[2\] .* is a complex"):
            total(1, 2, 3j)

    def test_an_extra_keyword_is_named_by_its_keyword(self, store: MemoryStore) -> None:
        @cached(store=store)
        def tag(**labels: Any) -> int:
            return 0

        with pytest.raises(ValidationError, match=r"argument labels\['when'\] .* is a set"):
            tag(who="me", when={1})

    def test_a_wrong_call_is_a_type_error_as_without_the_cache(self, store: MemoryStore) -> None:
        @cached(store=store)
        def pair(a: int, b: int) -> int:
            return a + b

        with pytest.raises(TypeError, match="'b'"):
            pair(1)  # type: ignore[call-arg]


class TestReturnValues:
    """Only values that come back equal from JSON are stored; others fail loudly, unstored."""

    def test_a_tuple_is_refused_as_it_would_come_back_a_list(self, store: MemoryStore) -> None:
        @cached(store=store)
        def pair() -> tuple[int, int]:
            return (1, 2)

        with pytest.raises(ValidationError, match="returned a tuple that would not come back"):
            pair()
        assert store.stats().entries == 0

    def test_a_value_holding_a_datetime_is_refused_as_it_would_come_back_a_str(
        self, store: MemoryStore
    ) -> None:
        @cached(store=store)
        def stamped() -> dict[str, Any]:
            return {"at": [datetime.datetime(2024, 1, 1, tzinfo=datetime.UTC)]}

        with pytest.raises(ValidationError, match="returned a dict that would not come back"):
            stamped()
        assert store.stats().entries == 0

    def test_an_object_without_json_form_is_refused(self, store: MemoryStore) -> None:
        @cached(store=store)
        def make() -> object:
            return object()

        with pytest.raises(ValidationError, match="make returned a object, which has no JSON"):
            make()
        assert store.stats().entries == 0


class TestAsyncFunctions:
    """A coroutine function is cached as a sync one is, awaited."""

    async def test_a_repeated_await_returns_the_stored_value(self, store: MemoryStore) -> None:
        body = Counted()

        @cached(store=store)
        async def embed(text: str) -> dict[str, Any]:
            return body(text)

        first = await embed("hi")
        assert await embed(text="hi") == first == {"args": ["hi"], "call": 1}
        assert len(body.calls) == 1

    async def test_the_sync_and_async_twins_share_entries(self, store: MemoryStore) -> None:
        def sync_answer(x: int) -> str:
            return "sync"

        async def async_answer(x: int) -> str:
            return "async"

        # The same qualified name and arguments: one entry, whichever runs first.
        async_answer.__qualname__ = sync_answer.__qualname__
        assert cached(store=store)(sync_answer)(1) == "sync"
        assert await cached(store=store)(async_answer)(1) == "sync"

    async def test_concurrent_identical_tasks_run_the_coroutine_once(self) -> None:
        strategy = ProductionStrategy(MemoryStore(cleanup_interval=None))
        release = asyncio.Event()
        body = Counted()

        @cached(strategy=strategy)
        async def slow(x: int) -> dict[str, Any]:
            await release.wait()
            return body(x)

        tasks = [asyncio.create_task(slow(7)) for _ in range(5)]
        await until(lambda: strategy.waiting() == 4)
        release.set()
        results = await asyncio.gather(*tasks)
        assert results == [{"args": [7], "call": 1}] * 5
        assert len(body.calls) == 1


class TestSingleFlight:
    """Concurrent identical calls in threads run the function once; an error reaches them all."""

    def test_threads_asking_together_share_one_run(self) -> None:
        strategy = ProductionStrategy(MemoryStore(cleanup_interval=None))
        count = 6
        start, release = threading.Barrier(count), threading.Event()
        body = Counted()

        @cached(strategy=strategy)
        def slow(x: int) -> dict[str, Any]:
            assert release.wait(10)
            return body(x)

        results: list[Any] = []

        def ask() -> None:
            start.wait()
            results.append(slow(3))

        threads = [threading.Thread(target=ask) for _ in range(count)]
        for thread in threads:
            thread.start()
        eventually(lambda: strategy.waiting() == count - 1)  # all but the leader wait
        release.set()
        for thread in threads:
            thread.join()
        assert results == [{"args": [3], "call": 1}] * count
        assert len(body.calls) == 1
        assert strategy.stats().hits == count - 1

    def test_the_leader_s_error_reaches_the_waiting_callers(self) -> None:
        strategy = ProductionStrategy(MemoryStore(cleanup_interval=None))
        release = threading.Event()

        @cached(strategy=strategy)
        def broken() -> int:
            assert release.wait(10)
            raise RuntimeError("the function failed")

        errors: list[BaseException] = []

        def ask() -> None:
            try:
                broken()
            except RuntimeError as exc:
                errors.append(exc)

        threads = [threading.Thread(target=ask) for _ in range(3)]
        for thread in threads:
            thread.start()
        eventually(lambda: strategy.waiting() == 2)
        release.set()
        for thread in threads:
            thread.join()
        assert [str(error) for error in errors] == ["the function failed"] * 3
        assert strategy.stats().entries == 0


class TestMethods:
    """Methods are cached by their arguments: ``self`` and ``cls`` are left out of the key."""

    def test_instances_share_a_method_s_entries(self, store: MemoryStore) -> None:
        body = Counted()

        class Retriever:
            def __init__(self, name: str) -> None:
                self.name = name

            @cached(store=store)
            def search(self, query: str) -> dict[str, Any]:
                return {**body(query), "by": self.name}

        assert Retriever("first").search("q") == {"args": ["q"], "call": 1, "by": "first"}
        assert Retriever("second").search("q")["by"] == "first"
        assert Retriever("second").search("other")["by"] == "second"

    def test_a_key_function_can_bring_the_instance_in(self, store: MemoryStore) -> None:
        class Retriever:
            def __init__(self, index: str) -> None:
                self.index = index

            @cached(store=store, key=lambda self, query: [self.index, query])
            def search(self, query: str) -> str:
                return f"{self.index}:{query}"

        assert Retriever("a").search("q") == "a:q"
        assert Retriever("b").search("q") == "b:q"
        assert Retriever("a").search("q") == "a:q"

    def test_class_and_static_methods_work_under_the_decorator(self, store: MemoryStore) -> None:
        body = Counted()

        class Tools:
            @classmethod
            @cached(store=store)
            def build(cls, x: int) -> dict[str, Any]:
                return body(cls.__name__, x)

            @staticmethod
            @cached(store=store)
            def square(x: int) -> int:
                return x * x

        class MoreTools(Tools):
            pass

        assert Tools.build(2) == MoreTools.build(2) == {"args": ["Tools", 2], "call": 1}
        assert Tools.square(4) == Tools().square(4) == 16

    def test_the_decorator_above_classmethod_is_refused_with_the_fix(self) -> None:
        with pytest.raises(ValidationError, match="before @classmethod: put @cached below it"):
            cached()(classmethod(lambda cls: 1))  # type: ignore[type-var]  # the misuse tested


class TestTTL:
    """Entries live for ``ttl`` seconds, the store's default when left out, forever when None."""

    def test_an_entry_expires_after_its_ttl(self, store: MemoryStore, clock: FakeClock) -> None:
        body = Counted()

        @cached(store=store, ttl=60)
        def answer() -> dict[str, Any]:
            return body()

        answer()
        clock.tick(59)
        assert answer()["call"] == 1
        clock.tick(1)
        assert answer()["call"] == 2

    def test_without_ttl_the_store_s_default_applies(self, clock: FakeClock) -> None:
        store = MemoryStore(default_ttl=30, clock=clock, cleanup_interval=None)
        body = Counted()

        @cached(store=store)
        def answer() -> dict[str, Any]:
            return body()

        answer()
        clock.tick(29)
        assert answer()["call"] == 1
        clock.tick(1)
        assert answer()["call"] == 2

    def test_ttl_none_never_expires(self, store: MemoryStore, clock: FakeClock) -> None:
        body = Counted()

        @cached(store=store, ttl=None)
        def answer() -> dict[str, Any]:
            return body()

        answer()
        clock.tick(5 * 365 * 86_400)
        assert answer()["call"] == 1


class TestTelemetry:
    """Calls report miss, put and hit, labelled with the function's qualified name."""

    def test_a_miss_a_put_then_a_hit_name_the_function(
        self, store: MemoryStore, events: list[Event]
    ) -> None:
        @cached(store=store, namespace="embeddings", ttl=600)
        def embed(text: str) -> list[float]:
            return [0.5]

        embed("x")
        embed("x")
        assert [event for event, _, _ in events] == [
            telemetry.CACHE_MISS,
            telemetry.CACHE_PUT,
            telemetry.CACHE_HIT,
        ]
        name = f"{__name__}.{embed.__qualname__}"
        for _, _, metadata in events:
            assert metadata["provider"] == FUNCTION_PROVIDER
            assert metadata["model"] == name
            assert metadata["namespace"] == "embeddings"
        assert events[1][1]["ttl_s"] == 600


class TestStrategies:
    """Where entries go: the store given, the strategy given, else one shared default."""

    def test_without_store_or_strategy_functions_share_the_default_strategy(self) -> None:
        @cached()
        def first(token: object) -> str:
            return "first"

        @cached()
        def second(token: object) -> str:
            return "second"

        before = default_strategy().stats()
        token = repr(object())  # an argument no earlier test used
        first(token), second(token), first(token)
        after = default_strategy().stats()
        assert (after.puts - before.puts, after.hits - before.hits) == (2, 1)

    def test_a_strategy_that_does_not_cache_runs_the_function_each_time(self) -> None:
        body = Counted()

        @cached(strategy=NoCache())
        def answer() -> dict[str, Any]:
            return body()

        answer()
        assert answer()["call"] == 2

    def test_the_package_exports_the_decorator(self) -> None:
        assert exllm_py.cached is cached


class TestDecoratorArguments:
    """Bad settings fail where the decorator is written, naming the setting."""

    @pytest.mark.parametrize(
        ("settings", "message"),
        [
            ({"ttl": 0}, "cached ttl must be a positive number"),
            ({"ttl": "600"}, "cached ttl must be a positive number"),
            ({"namespace": ""}, "cached namespace must be a non-empty string"),
            ({"version": 2}, "cached version must be a non-empty string"),
            ({"key": "text"}, "cached key must be a function of the arguments"),
            ({"store": MemoryStore}, "cached store must be a cache store"),
            ({"strategy": object()}, "cached strategy must be a cache strategy"),
            ({"strategy": NoCache(), "store": MemoryStore()}, "strategy= or store=, not both"),
        ],
    )
    def test_a_bad_setting_is_refused_by_name(self, settings: dict[str, Any], message: str) -> None:
        with pytest.raises(ValidationError, match=message):
            cached(**settings)

    def test_the_decorator_without_parentheses_says_how_to_write_it(self) -> None:
        def embed(text: str) -> str:
            return text

        with pytest.raises(ValidationError, match=r"write @cached\(\) with parentheses"):
            cached(embed)  # type: ignore[arg-type]

    def test_a_generator_function_is_refused(self) -> None:
        def numbers() -> Iterator[int]:
            yield 1

        with pytest.raises(ValidationError, match="cannot cache the generator"):
            cached()(numbers)


def shared_answer(x: int) -> dict[str, Any]:
    """A module-level body, the same in any process: reports that it ran."""
    return {"x": x, "ran_in": "pid"}


class TestRedisStore:
    """Through a RedisStore, another store object, or another process, sees the entry."""

    def test_a_second_store_object_reads_the_first_one_s_entry(self, redis_url: str) -> None:
        body = Counted()

        def answer(x: int) -> dict[str, Any]:
            return body(x)

        first, second = RedisStore(redis_url, timeout=2.0), RedisStore(redis_url, timeout=2.0)
        try:
            assert cached(store=first, ttl=60)(answer)(1) == {"args": [1], "call": 1}
            assert cached(store=second, ttl=60)(answer)(1) == {"args": [1], "call": 1}
        finally:
            first.close()
            second.close()
        assert len(body.calls) == 1

    def test_another_process_reads_the_entry(self, redis_url: str) -> None:
        store = RedisStore(redis_url, timeout=2.0)
        try:
            decorated = cached(store=store, namespace="proc")(shared_answer)
            assert decorated(5) == {"x": 5, "ran_in": "pid"}
        finally:
            store.close()
        # The child's body would say it ran there: a hit returns what the parent stored.
        child = (
            "import tests.cache.test_decorator as m\n"
            "from exllm_py.cache import RedisStore\n"
            "from exllm_py.cache.decorator import cached\n"
            "m.shared_answer.__code__ = (lambda x: {'x': x, 'ran_in': 'child'}).__code__\n"
            f"store = RedisStore({redis_url!r}, timeout=2.0)\n"
            "print(cached(store=store, namespace='proc')(m.shared_answer)(5)['ran_in'])\n"
            "print(cached(store=store, namespace='proc')(m.shared_answer)(6)['ran_in'])\n"
        )
        root = Path(__file__).resolve().parents[2]
        result = subprocess.run(
            [sys.executable, "-c", child], capture_output=True, text=True, check=True, cwd=root
        )
        assert result.stdout.split() == ["pid", "child"]


class Pricer:
    """A callable object, not a function: it has no ``__qualname__`` of its own."""

    def __call__(self, item: str) -> dict[str, Any]:
        return {"item": item, "price": len(item)}


class TestWhatRefusalsSay:
    """Each refusal says in full what is wrong and what to write instead."""

    @pytest.mark.parametrize(
        ("settings", "message"),
        [
            (
                {"key": "text"},
                "cached key must be a function of the arguments returning a JSON value, got 'text'",
            ),
            (
                {"strategy": NoCache(), "store": MemoryStore()},
                "cached takes strategy= or store=, not both: a store goes inside the strategy",
            ),
        ],
    )
    def test_a_bad_setting(self, settings: dict[str, Any], message: str) -> None:
        with pytest.raises(ValidationError, match=f"^{re.escape(message)}$"):
            cached(**settings)

    def test_the_decorator_without_parentheses(self) -> None:
        def embed(text: str) -> str:
            return text

        message = (
            "cached takes settings, not the function: write @cached() with parentheses, "
            "or @cached(ttl=600)"
        )
        with pytest.raises(ValidationError, match=f"^{re.escape(message)}$"):
            cached(embed)  # type: ignore[arg-type]

    def test_something_that_cannot_be_called(self) -> None:
        message = "the function @cached decorates must be a function or method, got 42"
        with pytest.raises(ValidationError, match=f"^{re.escape(message)}$"):
            cached()(42)  # type: ignore[type-var]

    def test_a_generator_and_an_async_generator(self) -> None:
        def numbers() -> Iterator[int]:
            yield 1

        async def anumbers() -> AsyncIterator[int]:
            yield 1

        for generator in (numbers, anumbers):
            message = (
                f"@cached cannot cache the generator {generator.__qualname__}: its values are "
                "made as they are read; cache a function that returns them as a list instead"
            )
            with pytest.raises(ValidationError, match=f"^{re.escape(message)}$"):
                cached()(generator)

    def test_a_function_whose_parameters_cannot_be_read(self) -> None:
        with pytest.raises(ValidationError) as raised:
            cached()(max)
        message = str(raised.value)
        assert message.startswith("@cached cannot read the parameters of builtins.max (")
        assert message.endswith(
            "): give it a key= function that maps the arguments to a JSON value"
        )

    def test_an_unkeyable_argument_says_why_json_refused_it(self, store: MemoryStore) -> None:
        @cached(store=store)
        def fetch(session: object) -> str:
            return "page"

        with pytest.raises(ValidationError) as raised:
            fetch(object())
        message = str(raised.value)
        assert "(Type is not JSON serializable: object)" in message
        assert message.endswith("give @cached a key= function that maps the arguments to one")


class TestWhatKeysAreMadeOf:
    """The parts of a function's key that a caller can choose or rely on."""

    def test_leaving_the_version_out_is_version_1(self, store: MemoryStore) -> None:
        body = Counted()

        def embed(text: str) -> dict[str, Any]:
            return body(text)

        cached(store=store)(embed)("hello")
        assert cached(store=store, version="1")(embed)("hello")["call"] == 1
        assert cached(store=store, version="2")(embed)("hello")["call"] == 2

    def test_a_callable_object_is_named_by_its_class(
        self, store: MemoryStore, events: list[Event]
    ) -> None:
        price = cached(store=store)(Pricer())
        assert price("tea") == {"item": "tea", "price": 3}
        assert price("tea") == {"item": "tea", "price": 3}
        assert {metadata["model"] for _, _, metadata in events} == {f"{__name__}.Pricer"}
        by_name = ProductionStrategy(store).invalidate(model=f"{__name__}.Pricer", dry_run=True)
        assert by_name == 1

    def test_a_key_function_makes_unreadable_parameters_no_obstacle(
        self, store: MemoryStore
    ) -> None:
        largest = cached(store=store, key=lambda *numbers: sorted(numbers))(max)
        assert largest(3, 5) == 5
        assert largest(5, 3) == 5
        assert store.stats().hits == 1


class TestWhatIsStored:
    """A return value is stored as a model answer would be, from the function's provider."""

    def test_the_entry_names_the_function_as_its_model(
        self, store: MemoryStore, events: list[Event]
    ) -> None:
        @cached(store=store)
        def embed(text: str) -> list[float]:
            return [0.25, 0.5]

        embed("x")
        [key] = [metadata["key"] for event, _, metadata in events if event == telemetry.CACHE_PUT]
        entry = store.get(key)
        assert entry is not None
        stored = entry.response
        assert (stored.provider, stored.model) == (
            FUNCTION_PROVIDER,
            f"{__name__}.{embed.__qualname__}",
        )
        assert stored.content == "[0.25,0.5]"


class TestTheDefaultStrategy:
    """Made on first use, then the same one for every function and every call."""

    def test_it_is_made_on_first_use_and_then_kept(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setattr(decorator, "_default", None)  # as in a fresh process
        made = default_strategy()
        assert isinstance(made, ProductionStrategy)
        assert isinstance(made.store, MemoryStore)
        assert default_strategy() is made
