"""Tests for exllm_py.pipeline.redaction: no call's error shows a credential it sent.

Every test but one crosses a real socket to the loopback provider server,
which answers with a body that echoes the key, as some providers and
gateways do; the exception is a transport that fails, quoting the request's
headers in its own error.
"""

from __future__ import annotations

import asyncio
import traceback
from collections.abc import Iterator
from urllib.parse import quote

import httpx
import pytest

import exllm_py
from exllm_py.cache.nocache import NoCache
from exllm_py.cache.production import ProductionStrategy
from exllm_py.errors import AuthenticationError, ExLLMError, ProviderError, ValidationError
from exllm_py.pipeline.call import Call
from exllm_py.providers.config import ProviderConfig
from exllm_py.providers.openai import OpenAIAdapter
from tests.fakes import (
    ProviderServer,
    disconnect_reply,
    json_reply,
    openai_error,
    provider_server,
    sse_reply,
    text_reply,
)
from tests.fakes.payloads import SSEEvent

__all__ = ["provider_server"]

MESSAGES = [{"role": "user", "content": "Hi"}]
# Built at run time so that no key-shaped literal sits in the repository.
PROJECT_KEY = "sk-" + "proj-" + "A1b2C3d4e5F6g7H8i9J0_k-L" * 4
# A key with no known prefix (Mistral's, a gateway's): only its value can find it.
SHAPELESS_KEY = "Zq7" + "mW2xR9tY4uK1pL8s" * 2


@pytest.fixture
def client() -> Iterator[exllm_py.Client]:
    with exllm_py.Client(cache_strategy=NoCache(), env={}) as client:
        yield client


def _shown(error: BaseException) -> str:
    return f"{error}\n{error!r}\n{getattr(error, 'message', '')}"


class TestKnownShapesInProviderAnswers:
    """A key-shaped string a provider sends back never reaches an error's message or repr."""

    def test_a_non_json_200_body(
        self, client: exllm_py.Client, provider_server: ProviderServer
    ) -> None:
        provider_server.enqueue(text_reply(f"upstream proxy echo: {PROJECT_KEY}"))
        with pytest.raises(ProviderError) as caught:
            client.chat("openai", MESSAGES, base_url=provider_server.url, api_key=PROJECT_KEY)
        assert "not JSON" in str(caught.value)
        assert PROJECT_KEY not in _shown(caught.value)

    def test_a_json_200_body_without_choices(
        self, client: exllm_py.Client, provider_server: ProviderServer
    ) -> None:
        provider_server.enqueue(json_reply({"echo": {"authorization": f"Bearer {PROJECT_KEY}"}}))
        with pytest.raises(ProviderError) as caught:
            client.chat("openai", MESSAGES, base_url=provider_server.url, api_key=PROJECT_KEY)
        assert "'choices'" in str(caught.value)
        assert PROJECT_KEY not in _shown(caught.value)

    def test_a_non_json_stream_event(
        self, client: exllm_py.Client, provider_server: ProviderServer
    ) -> None:
        provider_server.enqueue(sse_reply([SSEEvent(f"debug: key={PROJECT_KEY}")]))
        with pytest.raises(ProviderError) as caught:
            list(
                client.stream("openai", MESSAGES, base_url=provider_server.url, api_key=PROJECT_KEY)
            )
        assert "not JSON" in str(caught.value)
        assert PROJECT_KEY not in _shown(caught.value)

    def test_a_key_cut_by_the_message_limit_leaves_no_half(
        self, client: exllm_py.Client, provider_server: ProviderServer
    ) -> None:
        # The key starts just before the 200 characters a message keeps of a body:
        # cut there, it is neither whole nor long enough to have a shape.
        provider_server.enqueue(text_reply("x" * 185 + " " + PROJECT_KEY))
        with pytest.raises(ProviderError) as caught:
            client.chat("openai", MESSAGES, base_url=provider_server.url, api_key=PROJECT_KEY)
        assert "sk-proj" not in _shown(caught.value)


class TestExactValuesTheCallSent:
    """A key with no known shape is hidden by value: from the option, or from the environment."""

    def test_a_401_echoing_a_per_call_key(
        self, client: exllm_py.Client, provider_server: ProviderServer
    ) -> None:
        body = openai_error(f"Invalid API key: {SHAPELESS_KEY}", code="invalid_api_key")
        provider_server.enqueue(json_reply(body, status=401))
        with pytest.raises(AuthenticationError) as caught:
            client.chat("mistral", MESSAGES, base_url=provider_server.url, api_key=SHAPELESS_KEY)
        assert "Invalid API key: [redacted]" in str(caught.value)
        assert SHAPELESS_KEY not in _shown(caught.value)
        assert caught.value.body == body  # documented: .body keeps what the provider sent

    def test_a_401_echoing_a_key_from_the_environment(
        self, provider_server: ProviderServer
    ) -> None:
        provider_server.enqueue(json_reply(openai_error(f"bad {SHAPELESS_KEY}"), status=401))
        env = {"MISTRAL_API_KEY": SHAPELESS_KEY}
        with (
            exllm_py.Client(cache_strategy=NoCache(), env=env) as client,
            pytest.raises(AuthenticationError) as caught,
        ):
            client.chat("mistral", MESSAGES, base_url=provider_server.url)
        assert SHAPELESS_KEY not in _shown(caught.value)

    def test_async_calls_are_redacted_too(
        self, client: exllm_py.Client, provider_server: ProviderServer
    ) -> None:
        provider_server.enqueue(json_reply(openai_error(f"bad {SHAPELESS_KEY}"), status=401))

        async def call() -> None:
            await client.achat(
                "mistral", MESSAGES, base_url=provider_server.url, api_key=SHAPELESS_KEY
            )

        with pytest.raises(AuthenticationError) as caught:
            asyncio.run(call())
        assert SHAPELESS_KEY not in _shown(caught.value)

    def test_streams_are_redacted_too(
        self, client: exllm_py.Client, provider_server: ProviderServer
    ) -> None:
        provider_server.enqueue(json_reply(openai_error(f"bad {SHAPELESS_KEY}"), status=401))
        with pytest.raises(AuthenticationError) as caught:
            list(
                client.stream(
                    "mistral", MESSAGES, base_url=provider_server.url, api_key=SHAPELESS_KEY
                )
            )
        assert SHAPELESS_KEY not in _shown(caught.value)

    def test_through_the_production_cache(self, provider_server: ProviderServer) -> None:
        provider_server.enqueue(json_reply(openai_error(f"bad {SHAPELESS_KEY}"), status=401))
        with (
            exllm_py.Client(cache_strategy=ProductionStrategy(), env={}) as client,
            pytest.raises(AuthenticationError) as caught,
        ):
            client.chat("mistral", MESSAGES, base_url=provider_server.url, api_key=SHAPELESS_KEY)
        assert SHAPELESS_KEY not in _shown(caught.value)


class TestBaseUrlUserinfo:
    """A user name and password in ``base_url`` appear in no message and no repr."""

    def test_an_unreachable_host_is_named_without_its_userinfo(
        self, client: exllm_py.Client, provider_server: ProviderServer
    ) -> None:
        provider_server.enqueue(disconnect_reply())
        base_url = provider_server.url.replace("://", "://alice:S3cret-pass@")
        with pytest.raises(ProviderError) as caught:
            client.chat("openai", MESSAGES, base_url=base_url, api_key="k", max_retries=0)
        shown = _shown(caught.value)
        assert f"could not reach openai at {provider_server.url}" in shown
        assert "S3cret" not in shown
        assert "alice" not in shown

    def test_a_provider_config_repr_hides_it(self) -> None:
        config = ProviderConfig("openai", OpenAIAdapter(), "http://alice:S3cret@host/v1", "k")
        assert "S3cret" not in repr(config)
        assert "'http://host/v1'" in repr(config)

    def test_every_exllm_error_hides_a_url_password(self) -> None:
        assert "S3cret" not in str(ExLLMError("see https://bob:S3cret@gateway.example/v1"))


class TestCallRepr:
    """A call's repr, which tracebacks print, shows neither its key nor the environment."""

    def test_the_key_option_and_the_environment_stay_out(self) -> None:
        env = {"OPENAI_API_KEY": SHAPELESS_KEY, "HOME": "/home/alice"}
        call = Call("openai", MESSAGES, {"api_key": PROJECT_KEY}, NoCache(), env)
        assert PROJECT_KEY not in repr(call)
        assert SHAPELESS_KEY not in repr(call)
        assert repr(call) == "<Call 'openai' model='' stream=False>"


class TestWhatATracebackShows:
    """The whole traceback of an error leaving a call is clean, chained exceptions included."""

    def test_a_transport_error_quoting_the_authorization_header(self) -> None:
        def refuse(request: httpx.Request) -> httpx.Response:
            auth = request.headers["authorization"]
            raise httpx.ConnectError(f"proxy refused {auth}", request=request)

        transport = httpx.MockTransport(refuse)
        client = exllm_py.Client(transport=transport, cache_strategy=NoCache(), env={})
        with client, pytest.raises(ProviderError) as caught:
            client.chat("mistral", MESSAGES, api_key=SHAPELESS_KEY)
        assert isinstance(caught.value.__cause__, httpx.ConnectError)  # still chained
        shown = "".join(traceback.format_exception(caught.value))
        assert "proxy refused Bearer [redacted]" in shown
        assert SHAPELESS_KEY not in shown

    def test_a_url_encoded_echo_of_the_key(
        self, client: exllm_py.Client, provider_server: ProviderServer
    ) -> None:
        key = "gw+" + SHAPELESS_KEY + "=="
        provider_server.enqueue(text_reply(f"no such key: {quote(key, safe='')}", status=400))
        with pytest.raises(ProviderError) as caught:
            client.chat("mistral", MESSAGES, base_url=provider_server.url, api_key=key)
        assert "no such key: [redacted]" in str(caught.value)
        assert SHAPELESS_KEY not in _shown(caught.value)


class TestBeforeTheRequestIsBuilt:
    """A credential the call would send is hidden even from a refusal raised before any request."""

    def test_a_key_passed_by_mistake_as_another_option(
        self, client: exllm_py.Client, provider_server: ProviderServer
    ) -> None:
        """The key, given as the ``timeout`` too, is refused there without being shown."""
        with pytest.raises(ValidationError) as caught:
            client.chat(
                "mistral",
                MESSAGES,
                base_url=provider_server.url,
                api_key=SHAPELESS_KEY,
                timeout=SHAPELESS_KEY,
            )
        assert str(caught.value) == (
            "timeout must be a positive number of seconds, got '[redacted]'"
        )
        assert provider_server.requests == []

    def test_a_key_from_the_environment_given_as_another_option(
        self, provider_server: ProviderServer
    ) -> None:
        """The key the environment holds for the provider is hidden as the per-call one is."""
        env = {"MISTRAL_API_KEY": SHAPELESS_KEY}
        with (
            exllm_py.Client(cache_strategy=NoCache(), env=env) as client,
            pytest.raises(ValidationError) as caught,
        ):
            client.chat("mistral", MESSAGES, base_url=provider_server.url, timeout=SHAPELESS_KEY)
        assert SHAPELESS_KEY not in _shown(caught.value)
        assert str(caught.value).endswith("got '[redacted]'")

    def test_a_url_password_passed_by_mistake_as_another_option(
        self, client: exllm_py.Client, provider_server: ProviderServer
    ) -> None:
        """The password in ``base_url``, given as ``cache_tags`` too, is not shown either."""
        base_url = provider_server.url.replace("://", "://alice:S3cret-pass@")
        with pytest.raises(ValidationError) as caught:
            client.chat(
                "openai", MESSAGES, base_url=base_url, api_key="k", cache_tags="S3cret-pass"
            )
        assert "S3cret" not in _shown(caught.value)
        assert str(caught.value).endswith("got '[redacted]'")

    def test_a_base_url_without_userinfo_is_named_in_full(
        self, client: exllm_py.Client, provider_server: ProviderServer
    ) -> None:
        """Only a URL's user name and password are credentials: the rest names the endpoint."""
        provider_server.enqueue(disconnect_reply())
        with pytest.raises(ProviderError) as caught:
            client.chat(
                "openai", MESSAGES, base_url=provider_server.url, api_key="k", max_retries=0
            )
        assert f"could not reach openai at {provider_server.url}" in str(caught.value)
