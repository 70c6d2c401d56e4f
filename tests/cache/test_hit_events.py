"""The hit event's labels: how the answer was matched, told apart for exact and semantic hits."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator, Sequence
from typing import Any

import pytest

from exllm_py import Client, telemetry
from exllm_py.cache import MemoryStore, ProductionStrategy
from exllm_py.cache.semantic import SemanticCache
from tests.cache.flight_parties import eventually, outcome_of
from tests.cache.semantic.words_embedder import WordsEmbedder
from tests.fakes.payloads import openai_completion
from tests.fakes.provider_server import ProviderServer, RecordedRequest, Reply, json_reply

ASKED = "What is the capital of France?"
REWORDED = "what is the capital of france"

#: Each hit event's labels, in the order the hits happened.
HitLabels = list[dict[str, Any]]


def _echo(request: RecordedRequest) -> Reply:
    return json_reply(openai_completion(f"answer to: {request.body['messages'][-1]['content']}"))


@pytest.fixture
def provider() -> Iterator[ProviderServer]:
    with ProviderServer() as server:
        server.route(re.compile(r".*/chat/completions"), _echo)
        yield server


class HeldEmbedder(WordsEmbedder):
    """Words vectors; once armed, the next lookup waits at ``arrived`` until ``release``."""

    def __init__(self) -> None:
        super().__init__()
        self.armed = False
        self.arrived = threading.Event()
        self.release = threading.Event()

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        if self.armed:
            self.armed = False
            self.arrived.set()
            # Bounded only so that a follower that never comes fails the test, not hangs it.
            self.release.wait(10)
        return super().embed(texts)


@pytest.fixture
def embedder() -> HeldEmbedder:
    return HeldEmbedder()


@pytest.fixture
def strategy(embedder: HeldEmbedder) -> ProductionStrategy:
    semantic = SemanticCache(embedder, threshold=0.8)
    return ProductionStrategy(MemoryStore(cleanup_interval=None), semantic=semantic)


@pytest.fixture
def client(strategy: ProductionStrategy) -> Iterator[Client]:
    with Client(cache_strategy=strategy) as client:
        yield client


@pytest.fixture
def hits() -> Iterator[HitLabels]:
    seen: HitLabels = []
    telemetry.attach("test-hit-events", [telemetry.CACHE_HIT], lambda *e: seen.append(e[2]))
    yield seen
    telemetry.detach("test-hit-events")


def ask(client: Client, server: ProviderServer, question: str) -> Any:
    messages = [{"role": "user", "content": question}]
    return client.chat(
        "openai", messages, api_key="k", model="gpt-4o-mini", base_url=server.url, cache="semantic"
    )


class TestMatchLabel:
    """A hit event's ``match`` label says whether the answer was found by key or by meaning."""

    def test_a_semantic_hit_is_labelled_semantic(
        self, client: Client, provider: ProviderServer, hits: HitLabels
    ) -> None:
        ask(client, provider, ASKED)
        served = ask(client, provider, REWORDED)
        assert served.metadata["cache_match"] == "semantic"
        assert [labels["match"] for labels in hits] == ["semantic"]

    def test_a_follower_of_a_semantic_hit_is_labelled_semantic(
        self,
        client: Client,
        provider: ProviderServer,
        strategy: ProductionStrategy,
        embedder: HeldEmbedder,
        hits: HitLabels,
    ) -> None:
        ask(client, provider, ASKED)
        embedder.armed = True  # the leader's lookup waits until the follower has joined
        lead, led = outcome_of(lambda: ask(client, provider, REWORDED))
        follow: threading.Thread | None = None
        try:
            assert embedder.arrived.wait(5), "the leader never looked up by meaning"
            follow, followed = outcome_of(lambda: ask(client, provider, REWORDED))
            eventually(lambda: strategy.waiting() == 1)
        finally:
            embedder.release.set()
        for thread in (lead, follow):
            if thread is not None:
                thread.join(10)
        for outcome in (led[0], followed[0]):
            assert outcome.content == f"answer to: {ASKED}"
            assert outcome.metadata["cache_match"] == "semantic"
        assert [labels["match"] for labels in hits] == ["semantic", "semantic"]
        assert len(provider.requests) == 1

    def test_an_exact_hit_is_labelled_exact(
        self, client: Client, provider: ProviderServer, hits: HitLabels
    ) -> None:
        ask(client, provider, ASKED)
        served = ask(client, provider, ASKED)
        assert served.metadata["cache_match"] == "exact"
        assert [labels["match"] for labels in hits] == ["exact"]
        assert len(provider.requests) == 1
