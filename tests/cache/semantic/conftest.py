"""Fixtures for the semantic cache: a loopback provider that echoes, a words embedder."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from exllm_py import Client, telemetry
from exllm_py.cache.production import ProductionStrategy
from exllm_py.cache.semantic import SemanticCache
from exllm_py.cache.stores.memory import MemoryStore
from tests.cache.semantic.words_embedder import WordsEmbedder
from tests.clocks import FakeClock
from tests.fakes.payloads import openai_completion
from tests.fakes.provider_server import ProviderServer, RecordedRequest, Reply, json_reply

__all__ = [
    "Events",
    "answer_to",
    "clock",
    "embedder",
    "events",
    "provider",
    "semantic",
    "store",
    "strategy",
]

Events = list[tuple[tuple[str, ...], dict[str, Any], dict[str, Any]]]


def answer_to(question: str) -> str:
    """What the loopback provider answers to ``question``: which question was answered shows."""
    return f"answer to: {question}"


def _echo(request: RecordedRequest) -> Reply:
    question = request.body["messages"][-1]["content"]
    return json_reply(openai_completion(answer_to(question)))


@pytest.fixture
def provider() -> Iterator[ProviderServer]:
    """A real OpenAI-compatible server on loopback whose answer names the question."""
    with ProviderServer() as server:
        server.route(re.compile(r".*/chat/completions"), _echo)
        yield server


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def store(clock: FakeClock) -> MemoryStore:
    return MemoryStore(clock=clock, cleanup_interval=None)


@pytest.fixture
def embedder() -> WordsEmbedder:
    return WordsEmbedder()


@pytest.fixture
def semantic(embedder: WordsEmbedder) -> SemanticCache:
    return SemanticCache(embedder, threshold=0.8)


@pytest.fixture
def strategy(store: MemoryStore, semantic: SemanticCache) -> ProductionStrategy:
    return ProductionStrategy(store, semantic=semantic)


@pytest.fixture
def client(strategy: ProductionStrategy, provider: ProviderServer) -> Iterator[Client]:
    with Client(cache_strategy=strategy) as client:
        yield client


@pytest.fixture
def events() -> Iterator[Events]:
    seen: Events = []
    names = [telemetry.CACHE_HIT, telemetry.CACHE_MISS, telemetry.CACHE_ERROR]
    telemetry.attach("test-semantic", names, lambda *event: seen.append(event))
    yield seen
    telemetry.detach("test-semantic")
