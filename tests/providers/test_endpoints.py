"""Where requests go: each provider's default endpoint, or ``<PROVIDER>_BASE_URL`` read once.

Every client here sends through an in-memory transport that records the
request URL, so whatever host a URL names, nothing leaves the process.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from exllm_py import Client
from exllm_py.cache.nocache import NoCache
from tests.fakes.answering_transport import AnsweringTransport

USER = [{"role": "user", "content": "Hi"}]
OTHER = [{"role": "user", "content": "Hi again"}]

#: The URL a default call (no base_url, no <PROVIDER>_BASE_URL) is sent to.
DEFAULT_URLS = {
    "groq": "https://api.groq.com/openai/v1/chat/completions",
    "mistral": "https://api.mistral.ai/v1/chat/completions",
    "openrouter": "https://openrouter.ai/api/v1/chat/completions",
    "xai": "https://api.x.ai/v1/chat/completions",
    "openai": "https://api.openai.com/v1/chat/completions",
    "anthropic": "https://api.anthropic.com/v1/messages",
    "gemini": "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.0-flash:generateContent",
    "ollama": "http://localhost:11434/v1/chat/completions",
    "lmstudio": "http://localhost:1234/v1/chat/completions",
}

#: The request path each wire format appends to a base URL.
PATHS = {
    "anthropic": "/v1/messages",
    "gemini": "/models/gemini-2.0-flash:generateContent",
}

#: Models for the providers without a default one (gemini's is pinned by its URL).
MODELS = {
    "openrouter": "openai/gpt-4o-mini",
    "ollama": "llama3.2",
    "lmstudio": "qwen2.5-7b-instruct",
    "gemini": "gemini-2.0-flash",
}

PROVIDERS_WITH_BASE_URL_ENV = tuple(DEFAULT_URLS)


def _path(provider: str) -> str:
    return PATHS.get(provider, "/chat/completions")


def _options(provider: str) -> dict[str, str]:
    options = {"api_key": "test-key"}
    if provider in MODELS:
        options["model"] = MODELS[provider]
    return options


@pytest.fixture
def transport() -> AnsweringTransport:
    return AnsweringTransport()


@pytest.fixture
def clients(transport: AnsweringTransport) -> Iterator[list[Client]]:
    """Clients over the recording transport (no cache: every call is a request); closed after."""
    made: list[Client] = []
    yield made
    for client in made:
        client.close()


def _client(clients: list[Client], transport: AnsweringTransport) -> Client:
    client = Client(cache_strategy=NoCache(), transport=transport, async_transport=transport)
    clients.append(client)
    return client


class TestDefaultEndpoints:
    """With no base_url and no <PROVIDER>_BASE_URL, each provider calls its documented endpoint."""

    @pytest.mark.parametrize("provider", ["groq", "mistral", "openrouter", "xai"])
    def test_the_presets(
        self, clients: list[Client], transport: AnsweringTransport, provider: str
    ) -> None:
        _client(clients, transport).chat(provider, USER, **_options(provider))
        assert transport.urls == [DEFAULT_URLS[provider]]

    @pytest.mark.parametrize("provider", ["openai", "anthropic", "gemini", "ollama", "lmstudio"])
    def test_the_others(
        self, clients: list[Client], transport: AnsweringTransport, provider: str
    ) -> None:
        _client(clients, transport).chat(provider, USER, **_options(provider))
        assert transport.urls == [DEFAULT_URLS[provider]]

    @pytest.mark.parametrize("provider", ["groq", "mistral", "openrouter", "xai"])
    async def test_the_presets_async(
        self, clients: list[Client], transport: AnsweringTransport, provider: str
    ) -> None:
        client = _client(clients, transport)
        await client.achat(provider, USER, **_options(provider))
        assert transport.urls == [DEFAULT_URLS[provider]]
        await client.aclose()

    @pytest.mark.parametrize("provider", ["groq", "mistral", "openrouter", "xai"])
    def test_the_presets_send_the_key_as_a_bearer_token(
        self, clients: list[Client], transport: AnsweringTransport, provider: str
    ) -> None:
        _client(clients, transport).chat(provider, USER, **_options(provider))
        assert transport.requests[0].headers["authorization"] == "Bearer test-key"


class TestBaseUrlReadOncePerClient:
    """A client reads <PROVIDER>_BASE_URL at its first call; a change reaches new clients only."""

    @pytest.mark.parametrize("provider", PROVIDERS_WITH_BASE_URL_ENV)
    def test_a_change_after_the_first_call_is_not_seen(
        self,
        clients: list[Client],
        transport: AnsweringTransport,
        monkeypatch: pytest.MonkeyPatch,
        provider: str,
    ) -> None:
        variable = f"{provider.upper()}_BASE_URL"
        monkeypatch.setenv(variable, "http://first.invalid/api")
        client = _client(clients, transport)
        client.chat(provider, USER, **_options(provider))
        monkeypatch.setenv(variable, "http://second.invalid/api")
        client.chat(provider, OTHER, **_options(provider))
        assert transport.urls == [f"http://first.invalid/api{_path(provider)}"] * 2

    @pytest.mark.parametrize("provider", PROVIDERS_WITH_BASE_URL_ENV)
    def test_a_new_client_reads_the_new_value(
        self,
        clients: list[Client],
        transport: AnsweringTransport,
        monkeypatch: pytest.MonkeyPatch,
        provider: str,
    ) -> None:
        variable = f"{provider.upper()}_BASE_URL"
        monkeypatch.setenv(variable, "http://first.invalid/api")
        _client(clients, transport).chat(provider, USER, **_options(provider))
        monkeypatch.setenv(variable, "http://second.invalid/api")
        _client(clients, transport).chat(provider, USER, **_options(provider))
        assert transport.urls == [
            f"http://first.invalid/api{_path(provider)}",
            f"http://second.invalid/api{_path(provider)}",
        ]

    @pytest.mark.parametrize("provider", ["groq", "anthropic"])
    def test_unsetting_it_after_the_first_call_is_not_seen(
        self,
        clients: list[Client],
        transport: AnsweringTransport,
        monkeypatch: pytest.MonkeyPatch,
        provider: str,
    ) -> None:
        variable = f"{provider.upper()}_BASE_URL"
        monkeypatch.setenv(variable, "http://first.invalid/api")
        client = _client(clients, transport)
        client.chat(provider, USER, **_options(provider))
        monkeypatch.delenv(variable)
        client.chat(provider, OTHER, **_options(provider))
        assert transport.urls == [f"http://first.invalid/api{_path(provider)}"] * 2

    @pytest.mark.parametrize("provider", ["groq", "gemini"])
    def test_setting_it_after_the_first_call_is_not_seen(
        self,
        clients: list[Client],
        transport: AnsweringTransport,
        monkeypatch: pytest.MonkeyPatch,
        provider: str,
    ) -> None:
        """An unset variable is remembered as unset: the default endpoint stays."""
        client = _client(clients, transport)
        client.chat(provider, USER, **_options(provider))
        monkeypatch.setenv(f"{provider.upper()}_BASE_URL", "http://late.invalid/api")
        client.chat(provider, OTHER, **_options(provider))
        assert transport.urls == [DEFAULT_URLS[provider]] * 2

    async def test_async_calls_read_it_once_too(
        self, clients: list[Client], transport: AnsweringTransport, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("MISTRAL_BASE_URL", "http://first.invalid/api")
        client = _client(clients, transport)
        await client.achat("mistral", USER, api_key="k")
        monkeypatch.setenv("MISTRAL_BASE_URL", "http://second.invalid/api")
        await client.achat("mistral", OTHER, api_key="k")
        assert transport.urls == ["http://first.invalid/api/chat/completions"] * 2
        await client.aclose()

    def test_a_call_option_still_wins(
        self, clients: list[Client], transport: AnsweringTransport, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("XAI_BASE_URL", "http://first.invalid/api")
        client = _client(clients, transport)
        client.chat("xai", USER, api_key="k")
        client.chat("xai", USER, api_key="k", base_url="http://option.invalid/api")
        assert transport.urls == [
            "http://first.invalid/api/chat/completions",
            "http://option.invalid/api/chat/completions",
        ]
