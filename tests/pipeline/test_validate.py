"""Bad input gets a clear error before any network I/O."""

from __future__ import annotations

import enum
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from exllm_py import Client, Message, MockProvider
from exllm_py.cache.arguments import MAX_TTL
from exllm_py.cache.nocache import NoCache
from exllm_py.cache.production import ProductionStrategy
from exllm_py.cache.semantic import SemanticCache
from exllm_py.cache.stats import CacheStats
from exllm_py.cache.stores.memory import MemoryStore
from exllm_py.errors import ConfigurationError, ServerError, ValidationError
from tests.cache.semantic.words_embedder import WordsEmbedder

USER = [{"role": "user", "content": "Hi"}]


class NetworkSpy(httpx.BaseTransport, httpx.AsyncBaseTransport):
    """Stands in for the network and records whether anything tried to reach it."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return httpx.Response(500)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return httpx.Response(500)


@pytest.fixture
def network() -> NetworkSpy:
    return NetworkSpy()


@pytest.fixture
def client(network: NetworkSpy) -> Iterator[Client]:
    with Client(
        cache_strategy=NoCache(),
        transport=network,
        async_transport=network,
        env={"OPENAI_API_KEY": "sk-test"},
        max_retries=0,  # the spy's 500 is the answer a test means, not one to retry
    ) as client:
        yield client


def rejects(client: Client, network: NetworkSpy, messages: Any, **options: Any) -> str:
    with pytest.raises(ValidationError) as caught:
        client.chat("openai", messages, **options)
    assert network.requests == [], "validation must fail before any request is sent"
    return str(caught.value)


class TestMessages:
    """Messages must be a non-empty list of well-formed messages."""

    def test_empty_messages_are_rejected(self, client: Client, network: NetworkSpy) -> None:
        assert "messages is empty" in rejects(client, network, [])

    def test_a_string_instead_of_a_list_is_rejected(
        self, client: Client, network: NetworkSpy
    ) -> None:
        assert "must be a list of messages" in rejects(client, network, "Hi")

    def test_an_unknown_role_is_named(self, client: Client, network: NetworkSpy) -> None:
        message = rejects(client, network, [{"role": "robot", "content": "Hi"}])
        assert "messages[0] has unknown role 'robot'" in message
        assert "user" in message

    def test_non_string_content_for_a_system_message_is_rejected(
        self, client: Client, network: NetworkSpy
    ) -> None:
        message = rejects(client, network, [{"role": "system", "content": 42}, *USER])
        assert "messages[0] (system) content must be a string, got int" in message

    def test_user_content_parts_must_be_typed_dicts(
        self, client: Client, network: NetworkSpy
    ) -> None:
        message = rejects(client, network, [{"role": "user", "content": ["hello"]}])
        assert "messages[0].content[0] must be a dict with a 'type'" in message

    def test_missing_content_is_rejected(self, client: Client, network: NetworkSpy) -> None:
        assert "has no content" in rejects(client, network, [{"role": "user"}])

    def test_a_message_that_is_not_a_dict_is_named(
        self, client: Client, network: NetworkSpy
    ) -> None:
        message = rejects(client, network, [*USER, ("user", "Hi")])
        assert "messages[1] must be a dict or exllm_py.Message, got tuple" in message

    def test_message_objects_are_accepted(self, client: Client, network: NetworkSpy) -> None:
        """A valid Message passes validation and the call reaches the network."""
        # The spy answers 500: reaching it proves validation passed.
        with pytest.raises(ServerError):
            client.chat("openai", [Message(role="user", content="Hi")])
        assert len(network.requests) == 1


class TestOptions:
    """Options are checked by name and value."""

    def test_an_unknown_option_suggests_the_close_one(
        self, client: Client, network: NetworkSpy
    ) -> None:
        message = rejects(client, network, USER, temprature=0.5)
        assert "unknown option 'temprature'; did you mean 'temperature'?" in message

    @pytest.mark.parametrize("value", [-1, 0, 2.5, "10", True])
    def test_max_tokens_must_be_a_positive_integer(
        self, client: Client, network: NetworkSpy, value: Any
    ) -> None:
        assert "max_tokens must be" in rejects(client, network, USER, max_tokens=value)

    @pytest.mark.parametrize("value", [-0.1, 2.1, float("nan"), "hot"])
    def test_temperature_must_be_between_0_and_2(
        self, client: Client, network: NetworkSpy, value: Any
    ) -> None:
        assert "temperature must be" in rejects(client, network, USER, temperature=value)

    def test_top_p_must_be_between_0_and_1(self, client: Client, network: NetworkSpy) -> None:
        assert "top_p must be between 0 and 1, got 1.5" in rejects(client, network, USER, top_p=1.5)

    def test_stop_must_be_strings(self, client: Client, network: NetworkSpy) -> None:
        assert "stop must be a string or a list of strings" in rejects(
            client, network, USER, stop=[1]
        )

    def test_timeout_must_be_positive(self, client: Client, network: NetworkSpy) -> None:
        assert "timeout must be a positive number of seconds" in rejects(
            client, network, USER, timeout=0
        )

    def test_cache_accepts_only_true_false_or_refresh(
        self, client: Client, network: NetworkSpy
    ) -> None:
        assert "cache must be True, False, 'refresh' or 'semantic'" in rejects(
            client, network, USER, cache="yes"
        )

    def test_cache_ttl_must_be_positive(self, client: Client, network: NetworkSpy) -> None:
        assert "cache_ttl must be a positive number" in rejects(client, network, USER, cache_ttl=-5)

    @pytest.mark.parametrize(
        "ttl", [float("inf"), 1e308, 10**20, MAX_TTL + 1, float("nan"), 0, -5, True, "60"]
    )
    def test_a_cache_ttl_no_store_can_keep_is_refused_before_any_io(
        self, network: NetworkSpy, ttl: object
    ) -> None:
        """Too large, not a number, or not positive: refused before the store or network."""
        store = MemoryStore(cleanup_interval=None)
        with Client(
            cache_strategy=ProductionStrategy(store),
            transport=network,
            env={"OPENAI_API_KEY": "sk-test"},
        ) as client:
            message = rejects(client, network, USER, cache_ttl=ttl)
        assert message.startswith("cache_ttl must be a positive number of seconds")
        assert "None: never expires" in message
        assert store.stats() == CacheStats()

    async def test_async_calls_refuse_the_same_ttls(
        self, client: Client, network: NetworkSpy
    ) -> None:
        with pytest.raises(ValidationError, match="cache_ttl must be"):
            await client.achat("openai", USER, cache_ttl=float("inf"))
        assert network.requests == []

    def test_the_longest_ttl_and_none_are_accepted(self) -> None:
        with Client(cache_strategy=ProductionStrategy(), mock=MockProvider("ok")) as client:
            assert client.chat("mock", USER, cache_ttl=MAX_TTL).content == "ok"
            assert client.chat("mock", USER, cache_ttl=None).content == "ok"

    @pytest.mark.parametrize("timeout", [float("inf"), 1e10, float("nan"), True])
    def test_a_timeout_sockets_cannot_take_is_refused(
        self, client: Client, network: NetworkSpy, timeout: object
    ) -> None:
        assert rejects(client, network, USER, timeout=timeout).startswith(
            "timeout must be a positive number of seconds"
        )

    def test_tools_must_be_a_list_of_dicts(self, client: Client, network: NetworkSpy) -> None:
        assert "tools must be a list of tool dicts" in rejects(
            client, network, USER, tools="search"
        )

    def test_a_preset_without_a_default_model_asks_for_one(
        self, client: Client, network: NetworkSpy
    ) -> None:
        with pytest.raises(ValidationError, match="model is required for provider 'openrouter'"):
            client.chat("openrouter", USER)
        assert network.requests == []


class TestProvider:
    """The provider name must be known, and a call that needs the network needs a key."""

    def test_an_unknown_provider_lists_the_known_ones(
        self, client: Client, network: NetworkSpy
    ) -> None:
        with pytest.raises(ConfigurationError) as caught:
            client.chat("openia", USER)
        message = str(caught.value)
        assert "unknown provider 'openia'" in message
        for name in ("anthropic", "gemini", "groq", "mock", "ollama", "openai"):
            assert name in message
        assert network.requests == []

    def test_a_missing_key_names_the_env_var(self, network: NetworkSpy) -> None:
        client = Client(cache_strategy=NoCache(), transport=network, env={})
        with pytest.raises(ConfigurationError, match="set the ANTHROPIC_API_KEY environment"):
            client.chat("anthropic", USER)
        assert network.requests == []

    def test_gemini_accepts_the_google_api_key_variable(self, network: NetworkSpy) -> None:
        env = {"GOOGLE_API_KEY": "g"}
        client = Client(cache_strategy=NoCache(), transport=network, env=env)
        with pytest.raises(ServerError):
            client.chat("gemini", USER)
        assert network.requests[0].headers["x-goog-api-key"] == "g"

    def test_local_presets_need_no_key(self, network: NetworkSpy) -> None:
        client = Client(cache_strategy=NoCache(), transport=network, env={})
        with pytest.raises(ServerError):
            client.chat("ollama", USER, model="llama3.2")
        assert str(network.requests[0].url) == "http://localhost:11434/v1/chat/completions"

    async def test_async_calls_validate_the_same_way(
        self, client: Client, network: NetworkSpy
    ) -> None:
        with pytest.raises(ValidationError, match="messages is empty"):
            await client.achat("openai", [])
        assert network.requests == []

    def test_streams_validate_before_iteration_starts(
        self, client: Client, network: NetworkSpy
    ) -> None:
        with pytest.raises(ValidationError, match="unknown role"):
            client.stream("openai", [{"role": "bot", "content": "x"}])
        with pytest.raises(ValidationError, match="unknown option"):
            client.astream("openai", USER, colour="blue")
        assert network.requests == []


class TestValidationAroundTheCache:
    """Messages are validated after the cache lookup; a hit proves they were valid."""

    def test_a_miss_validates_before_sending(self, network: NetworkSpy) -> None:
        client = Client(transport=network, env={"OPENAI_API_KEY": "sk-test"})
        with pytest.raises(ValidationError, match="unknown role"):
            client.chat("openai", [{"role": "robot", "content": "Hi"}])
        assert network.requests == []
        assert client.cache_strategy.stats().entries == 0

    def test_an_explicit_key_validates_even_when_the_cache_has_it(self) -> None:
        client = Client(mock=MockProvider("cached"))
        client.chat("mock", USER, cache_key="greeting")
        with pytest.raises(ValidationError, match="messages is empty"):
            client.chat("mock", [], cache_key="greeting")

    def test_an_explicit_key_checks_option_values_too(self) -> None:
        client = Client(mock=MockProvider("cached"))
        client.chat("mock", USER, cache_key="greeting")
        with pytest.raises(ValidationError, match="temperature must be between 0 and 2"):
            client.chat("mock", USER, cache_key="greeting", temperature=7)

    def test_a_bad_option_value_on_a_miss_is_caught_before_sending(
        self, network: NetworkSpy
    ) -> None:
        client = Client(transport=network, env={"OPENAI_API_KEY": "sk-test"})
        with pytest.raises(ValidationError, match="max_tokens must be a positive integer"):
            client.chat("openai", USER, max_tokens=-3)
        assert network.requests == []

    def test_message_objects_hit_the_entry_their_dicts_made(self) -> None:
        client = Client(mock=MockProvider("cached"))
        client.chat("mock", USER)
        response = client.chat("mock", [Message(role="user", content="Hi")])
        assert response.metadata["from_cache"] is True
        assert client.mock.calls == 1


ASKED = "What is the capital of France?"
REWORDED = "what is the capital of france"


def _with_semantic_cache() -> ProductionStrategy:
    semantic = SemanticCache(WordsEmbedder(), threshold=0.8)
    return ProductionStrategy(MemoryStore(cleanup_interval=None), semantic=semantic)


class TestSemanticMode:
    """``cache="semantic"`` is accepted; it reads and writes exact entries like ``cache=True``."""

    def test_an_identical_call_is_an_exact_hit(self) -> None:
        strategy = ProductionStrategy(MemoryStore(cleanup_interval=None))
        client = Client(cache_strategy=strategy, mock=MockProvider("cached"))
        first = client.chat("mock", USER, cache="semantic")
        again = client.chat("mock", USER, cache="semantic")
        assert (first.metadata["from_cache"], again.metadata["from_cache"]) == (False, True)
        assert client.mock.calls == 1
        assert strategy.stats().entries == 1

    def test_it_reads_what_cache_true_stored(self) -> None:
        client = Client(
            cache_strategy=ProductionStrategy(MemoryStore(cleanup_interval=None)),
            mock=MockProvider("cached"),
        )
        client.chat("mock", USER)
        assert client.chat("mock", USER, cache="semantic").metadata["from_cache"] is True
        assert client.mock.calls == 1

    def test_with_a_semantic_cache_it_serves_a_reworded_question(self) -> None:
        client = Client(cache_strategy=_with_semantic_cache(), mock=MockProvider("Paris"))
        client.chat("mock", [{"role": "user", "content": ASKED}], cache="semantic")
        hit = client.chat("mock", [{"role": "user", "content": REWORDED}], cache="semantic")
        assert hit.metadata["cache_match"] == "semantic"
        assert client.mock.calls == 1

    def test_cache_true_asks_the_provider_for_a_reworded_question(self) -> None:
        """Only ``cache="semantic"`` turns the semantic lookup on, per call."""
        client = Client(cache_strategy=_with_semantic_cache(), mock=MockProvider("Paris"))
        client.chat("mock", [{"role": "user", "content": ASKED}], cache="semantic")
        missed = client.chat("mock", [{"role": "user", "content": REWORDED}])
        assert missed.metadata["from_cache"] is False
        assert client.mock.calls == 2


class TestWarmAndColdAgree:
    """Input the cache key treats as equal validates alike, cache warm or cold."""

    @pytest.mark.parametrize(
        "content",
        [
            pytest.param(enum.StrEnum("Text", {"HI": "Hi"}).HI, id="str-subclass"),
            pytest.param(({"type": "text", "text": "Hi"},), id="tuple-of-parts"),
        ],
    )
    def test_a_cold_call_accepts_what_a_warm_one_would_serve(self, content: Any) -> None:
        client = Client(mock=MockProvider("ok"))
        response = client.chat("mock", [{"role": "user", "content": content}])
        assert response.content == "ok"
