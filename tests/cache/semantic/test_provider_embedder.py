"""The semantic cache with a provider's embeddings endpoint, over real HTTP on loopback."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from exllm_py import Client
from exllm_py.cache.embedders import ProviderEmbedder
from exllm_py.cache.production import ProductionStrategy
from exllm_py.cache.semantic import SemanticCache
from exllm_py.cache.stores.memory import MemoryStore
from tests.cache.semantic.conftest import answer_to
from tests.cache.semantic.test_contextual import ask, user
from tests.cache.semantic.words_embedder import WordsEmbedder
from tests.fakes.provider_server import ProviderServer, RecordedRequest, Reply, json_reply

ASKED, REWORDED = "What is the capital of France?", "what is the capital of france"


def _embeddings(request: RecordedRequest) -> Reply:
    # The words embedder's vectors, in OpenAI's embeddings shape: texts that
    # share their words are close, as a real model's paraphrases are.
    words = WordsEmbedder()
    texts = request.body["input"]
    data = [
        {"object": "embedding", "index": index, "embedding": words.vector(text)}
        for index, text in enumerate(texts)
    ]
    usage = {"prompt_tokens": len(texts), "total_tokens": len(texts)}
    return json_reply({"object": "list", "data": data, "model": "m", "usage": usage})


@pytest.fixture
def embedding_client(provider: ProviderServer) -> Iterator[Client]:
    provider.route(re.compile(r".*/embeddings"), _embeddings)
    with Client(cache_strategy=ProductionStrategy(MemoryStore())) as client:
        yield client


class TestProviderEmbedder:
    """Questions embedded by the provider's endpoint match as the test embedder's do."""

    def test_a_reworded_question_is_served_through_provider_embeddings(
        self, provider: ProviderServer, embedding_client: Client
    ) -> None:
        semantic = _over_the_endpoint(provider, embedding_client)
        with Client(cache_strategy=ProductionStrategy(MemoryStore(), semantic=semantic)) as client:
            ask(client, provider, user(ASKED))
            hit = ask(client, provider, user(REWORDED))
        assert hit.content == answer_to(ASKED)
        paths = [request.path for request in provider.requests]
        assert paths.count("/chat/completions") == 1
        assert sum(path.endswith("/embeddings") for path in paths) == 2

    async def test_async_calls_embed_asynchronously(
        self, provider: ProviderServer, embedding_client: Client
    ) -> None:
        semantic = _over_the_endpoint(provider, embedding_client)
        options: dict[str, Any] = {
            "base_url": provider.url,
            "api_key": "k",
            "model": "m",
            "cache": "semantic",
        }
        with Client(cache_strategy=ProductionStrategy(MemoryStore(), semantic=semantic)) as client:
            await client.achat("openai", user(ASKED), **options)
            hit = await client.achat("openai", user(REWORDED), **options)
        assert hit.metadata["cache_match"] == "semantic"


def _over_the_endpoint(provider: ProviderServer, embedding_client: Client) -> SemanticCache:
    """A semantic cache whose questions the loopback provider's embeddings endpoint embeds."""
    embedder = ProviderEmbedder(
        "openai",
        "text-embedding-3-small",
        client=embedding_client,
        base_url=provider.url,
        api_key="k",
    )
    return SemanticCache(embedder, threshold=0.8)
