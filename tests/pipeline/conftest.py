"""Fixtures the retry tests share: a loopback provider, noted sleeps, the retry events."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fakes.provider_server import ProviderServer
from tests.pipeline.retry_parts import NotedSleeps, RetryTap


@pytest.fixture
def server() -> Iterator[ProviderServer]:
    with ProviderServer() as running:
        yield running


@pytest.fixture
def sleeps() -> NotedSleeps:
    return NotedSleeps()


@pytest.fixture
def tap() -> Iterator[RetryTap]:
    with RetryTap() as attached:
        yield attached
