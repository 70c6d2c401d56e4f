"""Fixtures for the test-cache tests: the loopback server, and clients wired to a cassette."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

import exllm_py
from exllm_py.cache.nocache import NoCache
from exllm_py.testing.strategy import TestStrategy
from tests.fakes import provider_server
from tests.testing.pytester_project import loopback_server

__all__ = ["loopback_server", "make_client", "provider_server", "strategy"]


@pytest.fixture
def strategy() -> TestStrategy:
    """A test strategy whose delegate caches nothing, so every call reaches HTTP."""
    return TestStrategy(NoCache())


@pytest.fixture
def make_client(strategy: TestStrategy) -> Iterator[Callable[..., exllm_py.Client]]:
    """Builds clients over ``strategy``; all are closed after the test."""
    clients: list[exllm_py.Client] = []

    def build(**options: Any) -> exllm_py.Client:
        client = exllm_py.Client(cache_strategy=strategy, **options)
        clients.append(client)
        return client

    yield build
    for client in clients:
        client.close()


def handler_from(answers: dict[str, httpx.Response]) -> Callable[[httpx.Request], httpx.Response]:
    """A MockTransport handler answering by URL path; records nothing itself."""

    def handle(request: httpx.Request) -> httpx.Response:
        return answers[request.url.path]

    return handle


@pytest.fixture
def cassette_path(tmp_path: Path) -> Path:
    return tmp_path / "cassettes" / "tests.example" / "test_case.json"
