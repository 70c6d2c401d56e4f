"""Tests for exllm_py.pipeline.validate: the exact edges of every option's accepted values.

Calls go to the offline ``mock`` provider: an accepted value gets its
answer, a refused one a ``ValidationError`` whose whole message is checked,
since it is what tells the caller what to fix.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from exllm_py import Client, MockProvider
from exllm_py.cache.nocache import NoCache
from exllm_py.cache.production import ProductionStrategy
from exllm_py.cache.stores.memory import MemoryStore
from exllm_py.errors import ValidationError
from tests.clocks import FakeClock

USER = [{"role": "user", "content": "Hi"}]
TOOL = {"type": "function", "function": {"name": "search", "parameters": {"type": "object"}}}


@pytest.fixture
def client() -> Iterator[Client]:
    with Client(cache_strategy=NoCache(), mock=MockProvider("ok")) as client:
        yield client


def refusal(client: Client, **options: Any) -> str:
    with pytest.raises(ValidationError) as caught:
        client.chat("mock", USER, **options)
    assert client.mock.calls == 0, "a refused value must not reach the provider"
    return str(caught.value)


class TestAccepted:
    """The edges of each range, and every type an option takes, are accepted."""

    @pytest.mark.parametrize(
        "options",
        [
            {"temperature": 0},
            {"temperature": 2},
            {"temperature": 2.0},
            {"top_p": 0},
            {"top_p": 1.0},
            {"presence_penalty": -2},
            {"frequency_penalty": 2.0},
            {"max_tokens": 1},
            {"n": 1},
            {"seed": 0},
            {"seed": -7},
            {"stop": "END"},
            {"stop": ["END", "STOP"]},
            {"stop": ("END",)},
            {"tools": [TOOL]},
            {"tools": (TOOL,)},
            {"system": "Be brief."},
            {"model": "gpt-4o-mini"},
            {"cache": True},
            {"cache": False},
            {"cache": "refresh"},
        ],
        ids=repr,
    )
    def test_an_edge_value_is_accepted(self, client: Client, options: dict[str, Any]) -> None:
        assert client.chat("mock", USER, **options).content == "ok"
        assert client.mock.calls == 1


class TestRefused:
    """A value out of range or of the wrong type is refused with a message naming both."""

    @pytest.mark.parametrize(
        ("options", "message"),
        [
            ({"temperature": 2.1}, "temperature must be between 0 and 2, got 2.1"),
            ({"temperature": -0.5}, "temperature must be between 0 and 2, got -0.5"),
            ({"temperature": "hot"}, "temperature must be a number, got 'hot'"),
            ({"top_p": -0.1}, "top_p must be between 0 and 1, got -0.1"),
            ({"presence_penalty": 2.5}, "presence_penalty must be between -2 and 2, got 2.5"),
            ({"max_tokens": 0}, "max_tokens must be a positive integer, got 0"),
            ({"max_tokens": "10"}, "max_tokens must be an integer, got '10'"),
            ({"n": True}, "n must be an integer, got True"),
            ({"seed": "7"}, "seed must be an integer, got '7'"),
            ({"seed": False}, "seed must be an integer, got False"),
            ({"stop": 5}, "stop must be a string or a list of strings, got 5"),
            ({"stop": ["END", 5]}, "stop must be a string or a list of strings, got ['END', 5]"),
            ({"system": 5}, "system must be a string, got int"),
            ({"model": ""}, "model must be a non-empty string, got ''"),
            ({"model": 4}, "model must be a non-empty string, got 4"),
            ({"cache": "false"}, "cache must be True, False, 'refresh' or 'semantic', got 'false'"),
            ({"cache": 1}, "cache must be True, False, 'refresh' or 'semantic', got 1"),
            (
                {"cache_tags": ["docs-v3", ""]},
                "cache_tags must be a list of non-empty strings such as ['docs-v3', 'tenant-a'], "
                "got ['docs-v3', '']",
            ),
        ],
        ids=repr,
    )
    def test_the_message_names_the_option_and_the_value(
        self, client: Client, options: dict[str, Any], message: str
    ) -> None:
        assert refusal(client, **options) == message

    @pytest.mark.parametrize("tools", ["search", 5, [TOOL, "search"]], ids=repr)
    def test_tools_must_be_a_list_of_dicts(self, client: Client, tools: object) -> None:
        assert refusal(client, tools=tools) == (
            "tools must be a list of tool dicts such as "
            "{'type': 'function', 'function': {'name': ..., 'parameters': {...}}}"
        )

    def test_an_unknown_option_lists_the_known_ones(self, client: Client) -> None:
        message = refusal(client, temprature=0.5)
        assert message.startswith("unknown option 'temprature'; did you mean 'temperature'? ")
        known = message.partition("Known options: ")[2].split(", ")
        assert known == sorted(known)
        assert {"temperature", "max_tokens", "cache_ttl", "api_key"} <= set(known)

    def test_an_option_like_no_other_gets_no_suggestion(self, client: Client) -> None:
        message = refusal(client, colour="blue")
        assert message.startswith("unknown option 'colour' Known options: ")


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def cached(clock: FakeClock) -> Iterator[Client]:
    store = MemoryStore(default_ttl=900, cleanup_interval=None, clock=clock)
    with Client(cache_strategy=ProductionStrategy(store), mock=MockProvider("ok")) as client:
        yield client


class TestCacheControls:
    """Setting one cache control leaves the others at their defaults."""

    def test_a_namespace_alone_still_reads_and_writes(self, cached: Client) -> None:
        for _ in range(2):
            cached.chat("mock", USER, cache_namespace="tenant-a")
        assert cached.mock.calls == 1

    def test_a_namespace_alone_keeps_the_stores_default_ttl(
        self, cached: Client, clock: FakeClock
    ) -> None:
        cached.chat("mock", USER, cache_namespace="tenant-a")
        clock.tick(899)
        cached.chat("mock", USER, cache_namespace="tenant-a")
        clock.tick(2)
        cached.chat("mock", USER, cache_namespace="tenant-a")
        assert cached.mock.calls == 2

    def test_a_ttl_alone_sets_the_entrys_lifetime(self, cached: Client, clock: FakeClock) -> None:
        cached.chat("mock", USER, cache_ttl=60)
        clock.tick(59)
        cached.chat("mock", USER, cache_ttl=60)
        clock.tick(2)
        cached.chat("mock", USER, cache_ttl=60)
        assert cached.mock.calls == 2

    def test_a_ttl_of_none_never_expires(self, cached: Client, clock: FakeClock) -> None:
        cached.chat("mock", USER, cache_ttl=None)
        clock.tick(10**9)
        cached.chat("mock", USER, cache_ttl=None)
        assert cached.mock.calls == 1

    def test_an_explicit_key_finds_the_entry_whatever_the_messages(self, cached: Client) -> None:
        cached.chat("mock", USER, cache_key="greeting")
        other = [{"role": "user", "content": "Something else"}]
        assert cached.chat("mock", other, cache_key="greeting").metadata["from_cache"] is True

    def test_namespaces_keep_their_entries_apart(self, cached: Client) -> None:
        cached.chat("mock", USER, cache_namespace="tenant-a")
        cached.chat("mock", USER, cache_namespace="tenant-b")
        assert cached.mock.calls == 2

    def test_cache_false_with_a_namespace_neither_reads_nor_writes(self, cached: Client) -> None:
        for _ in range(2):
            cached.chat("mock", USER, cache=False, cache_namespace="tenant-a")
        assert cached.mock.calls == 2
        assert cached.cache_strategy.stats().entries == 0
