"""Tests for exllm_py.pipeline.parse: from the provider's HTTP answer to an ``LLMResponse``.

Answers come over a real socket from the loopback provider server.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from exllm_py import Client
from exllm_py.cache.nocache import NoCache
from exllm_py.errors import ProviderError
from exllm_py.extensions import FROM_CACHE
from exllm_py.providers.wire import clip
from tests.fakes import ProviderServer, json_reply, openai_completion, provider_server, text_reply

__all__ = ["provider_server"]

USER = [{"role": "user", "content": "Hi"}]


@pytest.fixture
def client() -> Iterator[Client]:
    with Client(cache_strategy=NoCache(), env={"OPENAI_API_KEY": "sk-test"}) as client:
        yield client


class TestModel:
    """The response names the model the provider says answered, else the one requested."""

    def test_the_providers_model_wins_over_the_requested_alias(
        self, client: Client, provider_server: ProviderServer
    ) -> None:
        provider_server.enqueue(json_reply(openai_completion("Hi!", model="gpt-4o-2024-08-06")))
        response = client.chat("openai", USER, model="gpt-4o", base_url=provider_server.url)
        assert response.model == "gpt-4o-2024-08-06"

    def test_a_body_without_a_model_gets_the_requested_one(
        self, client: Client, provider_server: ProviderServer
    ) -> None:
        body = openai_completion("Hi!")
        del body["model"]
        provider_server.enqueue(json_reply(body))
        response = client.chat("openai", USER, model="gpt-4o", base_url=provider_server.url)
        assert response.model == "gpt-4o"


class ReplayMarkingTransport(httpx.BaseTransport):
    """Real HTTP through ``inner``; each response carries the marks an HTTP-level cache sets."""

    def __init__(self, inner: httpx.BaseTransport, marks: dict[str, object]) -> None:
        self.inner = inner
        self.marks = marks

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        response.extensions = {**response.extensions, FROM_CACHE: dict(self.marks)}
        return response

    def close(self) -> None:
        self.inner.close()


class TestReplayedAnswers:
    """An answer an HTTP-level cache replayed is marked ``from_cache``, with the layer's marks."""

    def test_the_answer_is_marked_from_cache(self, provider_server: ProviderServer) -> None:
        """Whatever marks the layer gives, ``from_cache`` is True and the marks are kept."""
        marks = {"cassette": "test_greeting.json", "recorded_at": "2025-01-01T00:00:00Z"}
        transport = ReplayMarkingTransport(httpx.HTTPTransport(), marks)
        with Client(cache_strategy=NoCache(), transport=transport, env={}) as client:
            response = client.chat("openai", USER, base_url=provider_server.url, api_key="k")
        assert response.metadata["from_cache"] is True
        assert response.metadata["cassette"] == "test_greeting.json"

    def test_a_live_answer_is_not(self, client: Client, provider_server: ProviderServer) -> None:
        response = client.chat("openai", USER, base_url=provider_server.url)
        assert response.metadata["from_cache"] is False
        assert "cassette" not in response.metadata


class TestNotJson:
    """A success status with a body that is not JSON is a ``ProviderError`` showing its start."""

    def test_the_error_shows_the_first_200_characters(
        self, client: Client, provider_server: ProviderServer
    ) -> None:
        # Words of 8 characters with their space: the 200th character is a space,
        # so a cut one character later would keep one more word.
        page = " ".join(["gateway"] * 40)
        provider_server.enqueue(text_reply(page))
        with pytest.raises(ProviderError) as caught:
            client.chat("openai", USER, base_url=provider_server.url)
        error = caught.value
        assert str(error) == (
            f"openai answered 200 with a body that is not JSON: {clip(page, 200)!r}"
        )
        assert (error.status, error.provider, error.body) == (200, "openai", page)

    async def test_async_calls_raise_the_same(
        self, client: Client, provider_server: ProviderServer
    ) -> None:
        provider_server.enqueue(text_reply("<html>Bad gateway</html>"))
        with pytest.raises(ProviderError, match="not JSON: '<html>Bad gateway</html>'"):
            await client.achat("openai", USER, base_url=provider_server.url)
