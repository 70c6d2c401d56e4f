"""Every answer-changing option changes the cache key, one option at a time, for every provider.

Two calls that differ only in one such option must never share an entry:
the second would be answered with the first one's text. Each option is
checked on its own, for each provider, twice: through
:func:`~exllm_py.cache.keys.cache_key` and through real calls, where the
pipeline derives the key itself.

The option table is written out here rather than read from the package, so
an option dropped from the key (or from the answer options) makes these
tests fail instead of quietly leaving the table.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from exllm_py import Client, MockProvider
from exllm_py.cache.keys import cache_key
from exllm_py.cache.production import ProductionStrategy
from exllm_py.cache.stores.memory import MemoryStore
from exllm_py.providers.registry import PROVIDERS
from exllm_py.request import ANSWER_OPTIONS
from tests.fakes.answering_transport import AnsweringTransport

USER = [{"role": "user", "content": "Name a colour."}]


def _tool(name: str) -> dict[str, Any]:
    return {
        "type": "function",
        "function": {
            "name": name,
            "description": f"{name} something",
            "parameters": {"type": "object", "properties": {"q": {"type": "string"}}},
        },
    }


#: Two values of each answer-changing option that ask for different answers.
OPTION_VALUES: dict[str, tuple[Any, Any]] = {
    "model": ("model-a", "model-b"),
    "temperature": (0.2, 0.7),
    "max_tokens": (16, 32),
    "top_p": (0.5, 0.9),
    "stop": (["\n"], ["END"]),
    "seed": (1, 2),
    "tools": ([_tool("lookup")], [_tool("search")]),
    "tool_choice": ("auto", "none"),
    "response_format": ({"type": "text"}, {"type": "json_object"}),
    "system": ("Be brief.", "Be thorough."),
    "n": (1, 2),
    "frequency_penalty": (0.0, 0.5),
    "presence_penalty": (0.0, 0.5),
}

#: The options the README and DESIGN name as changing the answer.
DOCUMENTED_ANSWER_OPTIONS = frozenset(OPTION_VALUES)

#: Options a provider cannot be asked to vary: Anthropic sends no seed or
#: penalties, and accepts only n=1 and a text response_format.
NOT_ANSWER_CHANGING: dict[str, frozenset[str]] = {
    "anthropic": frozenset(
        {"seed", "frequency_penalty", "presence_penalty", "n", "response_format"}
    ),
}

PROVIDER_NAMES = (
    "openai",
    "anthropic",
    "gemini",
    "groq",
    "mistral",
    "openrouter",
    "xai",
    "ollama",
    "lmstudio",
    "mock",
)

CASES = [
    pytest.param(provider, option, id=f"{provider}-{option}")
    for provider in PROVIDER_NAMES
    for option in OPTION_VALUES
    if option not in NOT_ANSWER_CHANGING.get(provider, frozenset())
]
#: The cases of options that may be left out (model always has a value: its default).
OPTIONAL_CASES = [case for case in CASES if case.values[1] != "model"]


#: A model for every provider (openrouter has no default), a key for those that need one.
BASE: dict[str, Any] = {"model": "model-base", "api_key": "test-key"}


@pytest.fixture
def transport() -> AnsweringTransport:
    return AnsweringTransport()


@pytest.fixture
def client(transport: AnsweringTransport) -> Iterator[Client]:
    strategy = ProductionStrategy(MemoryStore(cleanup_interval=None))
    with Client(
        cache_strategy=strategy,
        transport=transport,
        async_transport=transport,
        mock=MockProvider("Blue."),
    ) as made:
        yield made


def _provider_calls(client: Client, transport: AnsweringTransport) -> int:
    return len(transport.requests) + client.mock.calls


class TestTheOptionTable:
    """The options tested here are exactly the answer options, and include every documented one."""

    def test_every_provider_is_covered(self) -> None:
        assert set(PROVIDER_NAMES) == set(PROVIDERS)

    def test_the_table_is_the_answer_options(self) -> None:
        assert set(OPTION_VALUES) == set(ANSWER_OPTIONS)

    def test_the_documented_options_are_answer_options(self) -> None:
        assert {
            "temperature",
            "max_tokens",
            "top_p",
            "stop",
            "seed",
            "tools",
            "tool_choice",
            "response_format",
            "system",
            "n",
            "frequency_penalty",
            "presence_penalty",
        } <= ANSWER_OPTIONS


class TestCacheKeyFunction:
    """cache_key() gives calls that differ in one answer-changing option different keys."""

    @pytest.mark.parametrize(("provider", "option"), CASES)
    def test_one_option_changes_the_key(self, provider: str, option: str) -> None:
        first, second = OPTION_VALUES[option]
        assert cache_key(provider, USER, {**BASE, option: first}) != cache_key(
            provider, USER, {**BASE, option: second}
        )

    @pytest.mark.parametrize(("provider", "option"), OPTIONAL_CASES)
    def test_setting_an_option_changes_the_key(self, provider: str, option: str) -> None:
        """An option given differs from the option left out."""
        unset = cache_key(provider, USER, BASE)
        assert all(
            cache_key(provider, USER, {**BASE, option: value}) != unset
            for value in OPTION_VALUES[option]
        )


class TestCallsThroughThePipeline:
    """Calls that differ in one answer-changing option each reach the provider."""

    @pytest.mark.parametrize(("provider", "option"), CASES)
    def test_the_second_value_is_a_miss(
        self, client: Client, transport: AnsweringTransport, provider: str, option: str
    ) -> None:
        first, second = OPTION_VALUES[option]
        client.chat(provider, USER, **{**BASE, option: first})
        repeated = client.chat(provider, USER, **{**BASE, option: first})
        other = client.chat(provider, USER, **{**BASE, option: second})
        # The identical call is a hit, so the miss below is the option's doing.
        assert repeated.metadata["from_cache"] is True
        assert other.metadata["from_cache"] is False
        assert _provider_calls(client, transport) == 2

    @pytest.mark.parametrize(("provider", "option"), CASES)
    async def test_the_second_value_is_a_miss_async(
        self, client: Client, transport: AnsweringTransport, provider: str, option: str
    ) -> None:
        first, second = OPTION_VALUES[option]
        await client.achat(provider, USER, **{**BASE, option: first})
        other = await client.achat(provider, USER, **{**BASE, option: second})
        assert other.metadata["from_cache"] is False
        assert _provider_calls(client, transport) == 2
        await client.aclose()

    @pytest.mark.parametrize(("provider", "option"), CASES)
    def test_the_hit_carries_the_key_cache_key_gives(
        self, client: Client, provider: str, option: str
    ) -> None:
        """The pipeline's key for each value is the one cache_key() computes for it."""
        for value in OPTION_VALUES[option]:
            options = {**BASE, option: value}
            client.chat(provider, USER, **options)
            hit = client.chat(provider, USER, **options)
            assert hit.metadata["cache_key"] == cache_key(provider, USER, options)
