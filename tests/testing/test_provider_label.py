"""Tests for exllm_py.testing.provider_label: which provider a recorded request is for."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

import exllm_py
from exllm_py.testing.cassette_file import read_cassette
from exllm_py.testing.provider_label import OPENAI_COMPATIBLE, provider_label
from exllm_py.testing.strategy import use_cassette
from tests.fakes import ProviderServer

MESSAGES = [{"role": "user", "content": "What is the capital of France?"}]
LOOPBACK = "http://127.0.0.1:8123"
JSON = [("content-type", "application/json")]


class TestByHost:
    """A provider's default host names it, whatever the path and headers."""

    @pytest.mark.parametrize(
        ("url", "provider"),
        [
            ("https://api.openai.com/v1/chat/completions", "openai"),
            ("https://api.anthropic.com/v1/messages", "anthropic"),
            (
                "https://generativelanguage.googleapis.com/v1beta/models/g:generateContent",
                "gemini",
            ),
            ("https://api.groq.com/openai/v1/chat/completions", "groq"),
            ("https://api.mistral.ai/v1/chat/completions", "mistral"),
            ("https://openrouter.ai/api/v1/chat/completions", "openrouter"),
            ("https://api.x.ai/v1/chat/completions", "xai"),
            ("http://localhost:11434/v1/chat/completions", "ollama"),
            ("https://API.OpenAI.com:443/v1/embeddings", "openai"),
        ],
    )
    def test_default_hosts(self, url: str, provider: str) -> None:
        assert provider_label(url, [("user-agent", "OpenAI/Python 3.57.0")]) == provider


class TestBySDK:
    """Elsewhere (a base URL override), the official SDK's user-agent names its provider."""

    @pytest.mark.parametrize(
        ("agent", "path", "provider"),
        [
            ("OpenAI/Python 3.57.0", "/v1/chat/completions", "openai"),
            ("AsyncOpenAI/Python 1.109.1", "/v1/responses", "openai"),
            ("Anthropic/Python 2.14.0", "/v1/messages", "anthropic"),
            ("AsyncAnthropic/Python 0.125.0", "/v1/messages", "anthropic"),
            ("Groq/Python 0.30.0", "/openai/v1/chat/completions", "groq"),
        ],
    )
    def test_user_agent(self, agent: str, path: str, provider: str) -> None:
        assert provider_label(LOOPBACK + path, [("user-agent", agent)]) == provider

    def test_an_agent_that_names_no_provider_is_not_one(self) -> None:
        agent = [("user-agent", "Acme/Python 1.0")]
        assert provider_label(LOOPBACK + "/v1/chat/completions", agent) == OPENAI_COMPATIBLE


class TestByWireFormat:
    """With neither, the request's shape says which wire format it speaks."""

    @pytest.mark.parametrize(
        ("path", "headers", "provider"),
        [
            ("/v1/messages", JSON, "anthropic"),
            ("/proxy/anything", [("anthropic-version", "2023-06-01")], "anthropic"),
            ("/v1beta/models/gemini-2.0-flash:generateContent", JSON, "gemini"),
            ("/v1beta/models/gemini-2.0-flash:streamGenerateContent", JSON, "gemini"),
            ("/v1/chat/completions", JSON, OPENAI_COMPATIBLE),
            ("/v1/embeddings/", JSON, OPENAI_COMPATIBLE),
            # Only slashes are trimmed: a resource below an endpoint is not that endpoint.
            ("/v1/embeddings/X", JSON, ""),
            # A framework's own user-agent over the openai SDK: its headers remain.
            (
                "/v1/chat/completions",
                [("user-agent", "pydantic-ai/2.68.0"), ("x-stainless-lang", "python")],
                "openai",
            ),
            ("/health", JSON, ""),
        ],
    )
    def test_shape(self, path: str, headers: list[tuple[str, str]], provider: str) -> None:
        assert provider_label(LOOPBACK + path, headers) == provider

    def test_not_a_url_is_unknown(self) -> None:
        assert provider_label("http://[::1", []) == ""


class TestDeclared:
    """What exllm_py's pipeline declares wins over everything the request shows."""

    def test_declared_wins(self) -> None:
        url = "https://api.openai.com/v1/chat/completions"
        assert provider_label(url, [("user-agent", "OpenAI/Python 3")], "groq") == "groq"

    @pytest.mark.parametrize("declared", [None, "", 42])
    def test_anything_but_a_name_is_ignored(self, declared: object) -> None:
        assert provider_label(LOOPBACK + "/v1/messages", [], declared) == "anthropic"


class TestRecorded:
    """A recording keeps the provider of each exchange, though the base URL points elsewhere."""

    def test_exllm_client_records_the_provider_it_called(
        self,
        make_client: Callable[..., exllm_py.Client],
        provider_server: ProviderServer,
        tmp_path: Path,
    ) -> None:
        path = tmp_path / "cassette.json"
        with use_cassette(path, mode="once"):
            client = make_client(env={"GROQ_API_KEY": "gsk-test-0001"})
            client.chat("groq", MESSAGES, base_url=provider_server.url)
            client.chat("anthropic", MESSAGES, base_url=provider_server.url, api_key="k-1")
        recorded = read_cassette(path).interactions
        assert [item.provider for item in recorded] == ["groq", "anthropic"]
