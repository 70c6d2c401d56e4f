"""The semantic cache over real HTTP: hybrid, contextual, opt-in, never for streams."""

from __future__ import annotations

from typing import Any

import pytest

from exllm_py import Client
from exllm_py.cache.production import ProductionStrategy
from exllm_py.cache.semantic import SemanticCache
from exllm_py.cache.stores.memory import MemoryStore
from exllm_py.errors import ValidationError
from tests.cache.semantic.conftest import answer_to
from tests.cache.semantic.words_embedder import WordsEmbedder
from tests.fakes.provider_server import ProviderServer

ASKED = "What is the capital of France?"
REWORDED = "what is the capital of france"


def user(text: str) -> list[dict[str, Any]]:
    return [{"role": "user", "content": text}]


def ask(client: Client, server: ProviderServer, messages: Any, **options: Any) -> Any:
    options.setdefault("cache", "semantic")
    options.setdefault("model", "gpt-4o-mini")
    options.setdefault("base_url", server.url)
    return client.chat("openai", messages, api_key="k", **options)


class TestHybrid:
    """Exact first; on a miss, a question asked in other words is served the first answer."""

    def test_a_reworded_question_is_a_semantic_hit(
        self, client: Client, provider: ProviderServer
    ) -> None:
        ask(client, provider, user(ASKED))
        hit = ask(client, provider, user(REWORDED))
        assert len(provider.requests) == 1
        assert hit.content == answer_to(ASKED)
        assert hit.metadata["from_cache"] is True
        assert hit.metadata["cache_match"] == "semantic"
        assert 0.8 <= hit.metadata["similarity"] <= 1.0

    def test_an_identical_question_is_an_exact_hit(
        self, client: Client, provider: ProviderServer
    ) -> None:
        ask(client, provider, user(ASKED))
        hit = ask(client, provider, user(ASKED))
        assert hit.metadata["cache_match"] == "exact"
        assert "similarity" not in hit.metadata

    def test_a_different_question_goes_to_the_provider(
        self, client: Client, provider: ProviderServer
    ) -> None:
        ask(client, provider, user(ASKED))
        other = ask(client, provider, user("How tall is the Eiffel tower?"))
        assert other.content == answer_to("How tall is the Eiffel tower?")
        assert len(provider.requests) == 2

    def test_semantic_is_off_unless_asked(self, client: Client, provider: ProviderServer) -> None:
        ask(client, provider, user(ASKED), cache=True)
        plain = ask(client, provider, user(REWORDED), cache=True)
        assert plain.content == answer_to(REWORDED)
        assert len(provider.requests) == 2

    def test_default_true_makes_every_call_semantic(
        self, provider: ProviderServer, embedder: WordsEmbedder
    ) -> None:
        strategy = ProductionStrategy(
            MemoryStore(), semantic=SemanticCache(embedder, threshold=0.8, default=True)
        )
        with Client(cache_strategy=strategy) as client:
            ask(client, provider, user(ASKED), cache=True)
            hit = ask(client, provider, user(REWORDED), cache=True)
        assert hit.metadata["cache_match"] == "semantic"

    def test_a_semantic_call_without_a_semantic_cache_is_exact_only(
        self, provider: ProviderServer
    ) -> None:
        with Client(cache_strategy=ProductionStrategy(MemoryStore())) as client:
            ask(client, provider, user(ASKED))
            other = ask(client, provider, user(REWORDED))
        assert other.metadata["from_cache"] is False

    def test_cache_semantic_is_a_valid_option_and_others_are_not(
        self, client: Client, provider: ProviderServer
    ) -> None:
        with pytest.raises(ValidationError, match="'semantic'"):
            ask(client, provider, user(ASKED), cache="meaning")
        assert provider.requests == []

    def test_an_explicit_cache_key_never_goes_semantic(
        self, client: Client, provider: ProviderServer
    ) -> None:
        ask(client, provider, user(ASKED), cache_key="capital")
        other = ask(client, provider, user(REWORDED), cache_key="other")
        assert other.metadata["from_cache"] is False

    def test_each_call_embeds_its_question_once(
        self, client: Client, provider: ProviderServer, embedder: WordsEmbedder
    ) -> None:
        ask(client, provider, user(ASKED))  # looked up, then indexed, with one vector
        ask(client, provider, user(ASKED))  # an exact hit: no embedding at all
        assert embedder.texts == [ASKED]

    def test_refresh_indexes_what_it_stores(
        self, provider: ProviderServer, embedder: WordsEmbedder
    ) -> None:
        strategy = ProductionStrategy(
            MemoryStore(), semantic=SemanticCache(embedder, threshold=0.8, default=True)
        )
        with Client(cache_strategy=strategy) as client:
            ask(client, provider, user(ASKED), cache="refresh")
            hit = ask(client, provider, user(REWORDED), cache=True)
        assert hit.content == answer_to(ASKED)


class TestContextual:
    """Only the last user message is compared; everything else must be identical."""

    @pytest.mark.parametrize(
        ("first", "second"),
        [
            ({"system": "Answer in French."}, {"system": "Answer in German."}),
            ({"model": "gpt-4o-mini"}, {"model": "gpt-4o"}),
            ({"temperature": 0}, {"temperature": 1}),
            ({"max_tokens": 10}, {}),
            ({"cache_namespace": "tenant-a"}, {"cache_namespace": "tenant-b"}),
            ({"cache_namespace": "tenant-a"}, {}),
        ],
        ids=["system", "model", "temperature", "max_tokens", "namespaces", "namespace-vs-none"],
    )
    def test_a_difference_outside_the_question_means_no_hit(
        self,
        client: Client,
        provider: ProviderServer,
        first: dict[str, Any],
        second: dict[str, Any],
    ) -> None:
        ask(client, provider, user(ASKED), **first)
        other = ask(client, provider, user(REWORDED), **second)
        assert other.content == answer_to(REWORDED)
        assert len(provider.requests) == 2

    def test_a_different_earlier_turn_means_no_hit(
        self, client: Client, provider: ProviderServer
    ) -> None:
        def conversation(earlier: str, last: str) -> list[dict[str, Any]]:
            return [
                {"role": "user", "content": earlier},
                {"role": "assistant", "content": "Noted."},
                {"role": "user", "content": last},
            ]

        ask(client, provider, conversation("We talk about Europe.", ASKED))
        same = ask(client, provider, conversation("We talk about Europe.", REWORDED))
        other = ask(client, provider, conversation("We talk about Texas.", REWORDED))
        assert same.metadata["cache_match"] == "semantic"
        assert other.metadata["from_cache"] is False

    def test_a_different_base_url_means_no_hit(
        self, client: Client, provider: ProviderServer
    ) -> None:
        ask(client, provider, user(ASKED))
        with ProviderServer() as elsewhere:
            other = ask(client, elsewhere, user(REWORDED))
        assert other.metadata["from_cache"] is False
        assert len(elsewhere.requests) == 1

    def test_another_provider_on_the_same_url_and_model_means_no_hit(
        self, client: Client, provider: ProviderServer
    ) -> None:
        ask(client, provider, user(ASKED))
        options = {"model": "gpt-4o-mini", "base_url": provider.url, "cache": "semantic"}
        other = client.chat("groq", user(REWORDED), api_key="k", **options)
        assert other.content == answer_to(REWORDED)
        assert len(provider.requests) == 2

    def test_a_system_message_in_the_conversation_counts_like_the_option(
        self, client: Client, provider: ProviderServer
    ) -> None:
        def with_system(text: str, last: str) -> list[dict[str, Any]]:
            return [{"role": "system", "content": text}, {"role": "user", "content": last}]

        ask(client, provider, with_system("Be brief.", ASKED))
        other = ask(client, provider, with_system("Be thorough.", REWORDED))
        assert other.metadata["from_cache"] is False

    def test_a_conversation_ending_on_an_assistant_turn_is_never_semantic(
        self, client: Client, provider: ProviderServer, embedder: WordsEmbedder
    ) -> None:
        prefill = [*user(ASKED), {"role": "assistant", "content": "The capital"}]
        ask(client, provider, prefill)
        assert embedder.texts == []


class TestStreams:
    """A stream is cached exactly, never matched by meaning."""

    def test_a_stream_is_not_served_a_semantic_match(
        self, client: Client, provider: ProviderServer, embedder: WordsEmbedder
    ) -> None:
        ask(client, provider, user(ASKED))
        chunks = list(
            client.stream(
                "openai",
                user(REWORDED),
                base_url=provider.url,
                api_key="k",
                model="gpt-4o-mini",
                cache="semantic",
            )
        )
        assert all(chunk.metadata["from_cache"] is False for chunk in chunks)
        assert len(provider.requests) == 2
        assert embedder.texts == [ASKED]
