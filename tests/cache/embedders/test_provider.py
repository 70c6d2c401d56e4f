"""ProviderEmbedder: the Embedder protocol over a client's embed(), against the loopback server."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

import exllm_py
from exllm_py import Client
from exllm_py.cache.embedders import Embedder, ProviderEmbedder
from exllm_py.cache.production import ProductionStrategy
from exllm_py.cache.stores.memory import MemoryStore
from exllm_py.errors import ConfigurationError, ValidationError
from exllm_py.pipeline.embed_validate import EMBED_OPTIONS
from exllm_py.providers.embeddings.catalog import EMBEDDING_ADAPTERS
from tests.fakes import ProviderServer
from tests.fakes.embedding_payloads import stand_in_vector

KEY = "test-key"
QUESTIONS = ["Who wrote Hamlet?", "Who is the author of Hamlet?"]


@pytest.fixture
def client(provider_server: ProviderServer) -> Iterator[Client]:
    """A client with a production cache whose providers all point at the loopback server."""
    env = {
        "OPENAI_BASE_URL": provider_server.url + "/v1",
        "OPENAI_API_KEY": KEY,
        "GEMINI_BASE_URL": provider_server.url + "/v1beta",
        "GEMINI_API_KEY": KEY,
        "OLLAMA_BASE_URL": provider_server.url + "/v1",
    }
    with Client(cache_strategy=ProductionStrategy(MemoryStore()), env=env) as made:
        yield made


@pytest.fixture
async def async_client(client: Client) -> AsyncIterator[Client]:
    yield client
    await client.aclose()


class TestName:
    """The name says which vectors an embedder makes: provider, model, and a shortened length."""

    def test_the_default_model(self) -> None:
        assert ProviderEmbedder("openai").name == "openai:text-embedding-3-small"
        assert ProviderEmbedder("gemini").name == "gemini:gemini-embedding-001"

    def test_a_named_model_and_dimensions(self) -> None:
        embedder = ProviderEmbedder("ollama", "nomic-embed-text", dimensions=256)
        assert embedder.name == "ollama:nomic-embed-text:256"

    def test_it_is_an_embedder(self) -> None:
        assert isinstance(ProviderEmbedder("mistral"), Embedder)


class TestEmbed:
    """embed() and aembed() return one vector per text, through the client's cache."""

    def test_vectors_in_order(self, provider_server: ProviderServer, client: Client) -> None:
        vectors = ProviderEmbedder("openai", client=client).embed(QUESTIONS)
        assert vectors == [stand_in_vector(question) for question in QUESTIONS]
        assert provider_server.last_request.body["input"] == QUESTIONS

    def test_a_question_embedded_twice_is_paid_once(
        self, provider_server: ProviderServer, client: Client
    ) -> None:
        embedder = ProviderEmbedder("openai", client=client)
        assert embedder.embed(QUESTIONS[:1]) == embedder.embed(QUESTIONS[:1])
        assert len(provider_server.requests) == 1

    def test_options_reach_every_request(
        self, provider_server: ProviderServer, client: Client
    ) -> None:
        ProviderEmbedder("ollama", "nomic-embed-text", client=client, dimensions=3).embed(["x"])
        body = provider_server.last_request.body
        assert (body["model"], body["dimensions"]) == ("nomic-embed-text", 3)

    def test_more_texts_than_a_request_carries_are_split(
        self, provider_server: ProviderServer, client: Client
    ) -> None:
        texts = [f"question {index}" for index in range(150)]
        vectors = ProviderEmbedder("gemini", client=client).embed(texts)
        assert vectors == [stand_in_vector(text) for text in texts]
        sizes = [len(request.body["requests"]) for request in provider_server.requests]
        assert sizes == [100, 50]

    def test_no_texts_no_request(self, provider_server: ProviderServer, client: Client) -> None:
        assert ProviderEmbedder("openai", client=client).embed([]) == []
        assert provider_server.requests == []

    async def test_aembed(self, provider_server: ProviderServer, async_client: Client) -> None:
        embedder = ProviderEmbedder("gemini", client=async_client)
        texts = [f"question {index}" for index in range(101)]
        assert await embedder.aembed(texts) == [stand_in_vector(text) for text in texts]
        assert await embedder.aembed(texts) == embedder.embed(texts)
        assert len(provider_server.requests) == 2  # one per batch, then all from the cache

    def test_without_a_client_the_default_client_at_call_time(
        self, provider_server: ProviderServer, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        embedder = ProviderEmbedder("openai")
        monkeypatch.setenv("OPENAI_BASE_URL", provider_server.url + "/v1")
        monkeypatch.setenv("OPENAI_API_KEY", KEY)
        strategy = ProductionStrategy(MemoryStore())
        exllm_py.configure(cache_strategy=strategy)
        embedder.embed(QUESTIONS)
        embedder.embed(QUESTIONS)
        assert strategy.stats().hits == 1
        assert len(provider_server.requests) == 1


class TestConstruction:
    """What cannot work is refused when the embedder is made, before any I/O."""

    def test_an_unknown_provider(self) -> None:
        with pytest.raises(ConfigurationError, match="unknown provider 'opneai'"):
            ProviderEmbedder("opneai")

    def test_a_provider_without_embeddings_names_those_with(self) -> None:
        with pytest.raises(ConfigurationError) as raised:
            ProviderEmbedder("anthropic")
        head, _, listed = str(raised.value).partition("; use one of ")
        assert head == "anthropic has no embeddings endpoint"
        assert listed.removesuffix(", or LocalEmbedder").split(", ") == sorted(EMBEDDING_ADAPTERS)

    def test_a_provider_without_a_default_model(self) -> None:
        with pytest.raises(ValidationError) as raised:
            ProviderEmbedder("ollama")
        assert str(raised.value) == (
            "ProviderEmbedder('ollama') needs a model: ollama has no default embedding model; "
            "pass ProviderEmbedder(provider, 'model-name')"
        )

    @pytest.mark.parametrize("model", ["", 3, ["text-embedding-3-small"]])
    def test_a_model_that_is_not_a_non_empty_string(self, model: Any) -> None:
        with pytest.raises(ValidationError) as raised:
            ProviderEmbedder("openai", model)
        assert str(raised.value) == f"model must be a non-empty string, got {model!r}"

    @pytest.mark.parametrize("option", [{"temperature": 0}, {"dimension": 8}])
    def test_options_embed_does_not_take(self, option: dict[str, Any]) -> None:
        with pytest.raises(ValidationError) as raised:
            ProviderEmbedder("openai", **option)
        listed, _, got = (
            str(raised.value)
            .removeprefix("ProviderEmbedder takes these options: ")
            .partition("; got ")
        )
        # Every option embed() takes, but the model: that is the second argument.
        assert listed.split(", ") == sorted(EMBED_OPTIONS - {"model"})
        assert got == repr(next(iter(option)))


class TestBehindTheSemanticCache:
    """On the client it serves, the semantic cache's embeddings are cached like any call."""

    def test_a_question_is_embedded_once_and_embeddings_never_go_semantic(
        self, provider_server: ProviderServer, client: Client
    ) -> None:
        from exllm_py.cache.semantic import SemanticCache

        embedder = ProviderEmbedder("openai", client=client)
        strategy = ProductionStrategy(MemoryStore(), semantic=SemanticCache(embedder, default=True))
        client.cache_strategy = strategy
        question = [{"role": "user", "content": QUESTIONS[0]}]
        client.chat("openai", question, model="gpt-4o-mini")
        paths = [request.path for request in provider_server.requests]
        assert paths == ["/v1/embeddings", "/v1/chat/completions"]
        # The vector the cache asked for is an entry of the same cache now:
        assert client.embed("openai", QUESTIONS[:1]) == [stand_in_vector(QUESTIONS[0])]
        assert len(provider_server.requests) == 2
        assert strategy.stats().semantic_hits == 0
