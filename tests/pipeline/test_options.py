"""Tests for exllm_py.pipeline.validate: which options reach the request, and in what form.

Calls cross a real socket to the loopback provider server, which shows the
request body as it arrived.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from exllm_py import Client
from exllm_py.cache.nocache import NoCache
from exllm_py.errors import ValidationError
from tests.fakes import ProviderServer, provider_server

__all__ = ["provider_server"]

USER = [{"role": "user", "content": "Hi"}]


@pytest.fixture
def client() -> Iterator[Client]:
    with Client(cache_strategy=NoCache(), env={"OPENAI_API_KEY": "sk-test"}) as client:
        yield client


def body_of(client: Client, server: ProviderServer, **options: Any) -> dict[str, Any]:
    client.chat("openai", USER, base_url=server.url, **options)
    body = server.last_request.body
    assert isinstance(body, dict)
    return body


class TestModel:
    """The ``model`` option is sent as given; without it, the provider's default model."""

    def test_without_a_model_the_default_is_sent(
        self, client: Client, provider_server: ProviderServer
    ) -> None:
        assert body_of(client, provider_server)["model"] == "gpt-4o-mini"

    @pytest.mark.parametrize(
        "options",
        [
            {"model": "gpt-4o", "api_key": "sk-other"},
            {"api_key": "sk-other", "model": "gpt-4o"},
            {"temperature": 0.5, "model": "gpt-4o"},
            {"cache_ttl": None, "model": "gpt-4o"},
        ],
        ids=repr,
    )
    def test_the_model_option_is_sent_whatever_comes_around_it(
        self, client: Client, provider_server: ProviderServer, options: dict[str, Any]
    ) -> None:
        assert body_of(client, provider_server, **options)["model"] == "gpt-4o"


class TestAnswerOptions:
    """Options that change the answer are sent; those set to ``None`` are left out."""

    def test_set_options_are_sent(self, client: Client, provider_server: ProviderServer) -> None:
        body = body_of(client, provider_server, temperature=0.3, max_tokens=5, seed=7)
        assert (body["temperature"], body["max_tokens"], body["seed"]) == (0.3, 5, 7)

    def test_options_set_to_none_are_left_out(
        self, client: Client, provider_server: ProviderServer
    ) -> None:
        body = body_of(client, provider_server, temperature=None, seed=3, top_p=None)
        assert "temperature" not in body
        assert "top_p" not in body
        assert body["seed"] == 3


class TestEveryOptionIsChecked:
    """An option is checked wherever it stands, whatever the options before it are."""

    @pytest.mark.parametrize(
        ("options", "expected"),
        [
            (
                {"temperature": 0.5, "colour": "blue"},
                "unknown option 'colour'",
            ),
            (
                {"timeout": None, "model": ""},
                "model must be a non-empty string, got ''",
            ),
            (
                {"cache_ttl": None, "timeout": 0},
                "timeout must be a positive number of seconds",
            ),
            ({"api_key": 5}, "api_key must be a non-empty string, got 5"),
            ({"cache_key": ""}, "cache_key must be a non-empty string, got ''"),
        ],
        ids=repr,
    )
    def test_a_bad_option_after_others_is_refused(
        self,
        client: Client,
        provider_server: ProviderServer,
        options: dict[str, Any],
        expected: str,
    ) -> None:
        with pytest.raises(ValidationError) as caught:
            client.chat("openai", USER, base_url=provider_server.url, **options)
        assert str(caught.value).startswith(expected)
        assert provider_server.requests == []
