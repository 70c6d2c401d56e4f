"""Tests for exllm_py.pipeline.build: which API key a request carries, and when none is found.

Requests cross a real socket to the loopback provider server, which shows
the headers as they arrived.
"""

from __future__ import annotations

import pytest

from exllm_py import Client
from exllm_py.cache.nocache import NoCache
from exllm_py.errors import MissingAPIKey
from tests.fakes import ProviderServer, provider_server

__all__ = ["provider_server"]

USER = [{"role": "user", "content": "Hi"}]


def _sent_key(server: ProviderServer, provider: str, env: dict[str, str], **options: str) -> str:
    with Client(cache_strategy=NoCache(), env=env) as client:
        client.chat(provider, USER, base_url=server.url, **options)
    headers = server.last_request.headers
    return headers.get("x-goog-api-key") or headers["authorization"].removeprefix("Bearer ")


class TestWhichKey:
    """The ``api_key`` option wins; else the first of the provider's variables that is set."""

    def test_the_option_wins_over_the_environment(self, provider_server: ProviderServer) -> None:
        env = {"OPENAI_API_KEY": "from-env"}
        assert _sent_key(provider_server, "openai", env, api_key="from-call") == "from-call"

    def test_the_environment_supplies_it_otherwise(self, provider_server: ProviderServer) -> None:
        assert _sent_key(provider_server, "openai", {"OPENAI_API_KEY": "from-env"}) == "from-env"

    def test_the_first_variable_set_wins(self, provider_server: ProviderServer) -> None:
        env = {"GEMINI_API_KEY": "gemini-key", "GOOGLE_API_KEY": "google-key"}
        assert _sent_key(provider_server, "gemini", env) == "gemini-key"

    def test_an_empty_variable_counts_as_unset(self, provider_server: ProviderServer) -> None:
        env = {"GEMINI_API_KEY": "", "GOOGLE_API_KEY": "google-key"}
        assert _sent_key(provider_server, "gemini", env) == "google-key"


class TestNoKey:
    """A call that must reach the provider without a key fails before sending anything."""

    @pytest.mark.parametrize(
        ("provider", "env_var"),
        [("gemini", "GEMINI_API_KEY"), ("anthropic", "ANTHROPIC_API_KEY")],
    )
    def test_the_error_names_the_first_variable_and_the_option(
        self, provider_server: ProviderServer, provider: str, env_var: str
    ) -> None:
        with (
            Client(cache_strategy=NoCache(), env={}) as client,
            pytest.raises(MissingAPIKey) as caught,
        ):
            client.chat(provider, USER, base_url=provider_server.url)
        assert str(caught.value) == (
            f"no API key for {provider}: set the {env_var} environment variable "
            "or pass api_key=... to the call"
        )
        assert (caught.value.provider, caught.value.env_var) == (provider, env_var)
        assert provider_server.requests == []

    async def test_async_calls_fail_the_same_way(self, provider_server: ProviderServer) -> None:
        with (
            Client(cache_strategy=NoCache(), env={}) as client,
            pytest.raises(MissingAPIKey, match="set the OPENAI_API_KEY environment"),
        ):
            await client.achat("openai", USER, base_url=provider_server.url)
        assert provider_server.requests == []

    def test_a_local_preset_is_sent_without_one(self, provider_server: ProviderServer) -> None:
        with Client(cache_strategy=NoCache(), env={}) as client:
            client.chat("ollama", USER, model="llama3.2", base_url=provider_server.url)
        assert "authorization" not in provider_server.last_request.headers
