"""embed() / aembed() against the loopback provider server: each wire format, errors, the cache.

Each provider family is spoken over real HTTP: the OpenAI-compatible
``POST /embeddings`` (OpenAI, Mistral, Ollama's ``/v1``) and Gemini's
``batchEmbedContents``. The server's replies come from
:mod:`tests.fakes.embedding_payloads`, built to the providers' documented
shapes.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import attrs
import pytest

import exllm_py
from exllm_py import Client, telemetry
from exllm_py.cache.production import ProductionStrategy
from exllm_py.cache.stores.memory import MemoryStore
from exllm_py.errors import (
    AuthenticationError,
    ConfigurationError,
    MissingAPIKey,
    ProviderError,
    RateLimitError,
    ServerError,
    ValidationError,
)
from exllm_py.pipeline.retry import RetryPolicy
from tests.fakes import ProviderServer, gemini_error, json_reply, openai_error
from tests.fakes.embedding_payloads import gemini_embeddings, openai_embeddings, stand_in_vector

KEY = "test-key"
TEXTS = ["What is the capital of France?", "How tall is the Eiffel Tower?"]


@attrs.frozen
class EmbedWire:
    """One provider family's embeddings traffic, for the parametrized tests below."""

    provider: str
    model: str
    #: Appended to the server's URL to make the base URL.
    prefix: str
    path: str
    auth: tuple[str, str] | None
    dimensions_field: str
    reply: Callable[..., Any]
    error: Callable[[str], Any]

    def base_url(self, server: ProviderServer) -> str:
        return server.url + self.prefix

    def texts_sent(self, body: Any) -> list[str]:
        if self.provider == "gemini":
            return [one["content"]["parts"][0]["text"] for one in body["requests"]]
        texts: list[str] = body["input"]
        return texts


def _gemini_reply(texts: list[str], *, model: str = "", dimensions: int = 8) -> Any:
    return gemini_embeddings(texts, dimensions=dimensions)


WIRES = [
    EmbedWire(
        "openai",
        "text-embedding-3-small",
        "/v1",
        "/v1/embeddings",
        ("authorization", f"Bearer {KEY}"),
        "dimensions",
        openai_embeddings,
        openai_error,
    ),
    EmbedWire(
        "mistral",
        "mistral-embed",
        "/v1",
        "/v1/embeddings",
        ("authorization", f"Bearer {KEY}"),
        "output_dimension",
        openai_embeddings,
        openai_error,
    ),
    # Ollama's preset speaks its OpenAI-compatible /v1, needs no key and has no default model.
    EmbedWire(
        "ollama",
        "nomic-embed-text",
        "/v1",
        "/v1/embeddings",
        None,
        "dimensions",
        openai_embeddings,
        openai_error,
    ),
    EmbedWire(
        "gemini",
        "gemini-embedding-001",
        "/v1beta",
        "/v1beta/models/gemini-embedding-001:batchEmbedContents",
        ("x-goog-api-key", KEY),
        "outputDimensionality",
        _gemini_reply,
        gemini_error,
    ),
]


@pytest.fixture(params=WIRES, ids=[wire.provider for wire in WIRES])
def wire(request: pytest.FixtureRequest) -> EmbedWire:
    result: EmbedWire = request.param
    return result


@pytest.fixture
def strategy() -> ProductionStrategy:
    return ProductionStrategy(MemoryStore())


@pytest.fixture
def client(strategy: ProductionStrategy) -> Iterator[Client]:
    """A client with its own production cache, reading no key from the environment."""
    retries = RetryPolicy(sleep=lambda seconds: None, asleep=_no_wait)
    with Client(cache_strategy=strategy, env={}, retry_policy=retries) as made:
        yield made


async def _no_wait(seconds: float) -> None:
    return None


@pytest.fixture
async def async_client(client: Client) -> AsyncIterator[Client]:
    """The same client, its async connections closed inside the test's event loop."""
    yield client
    await client.aclose()


def options(server: ProviderServer, wire: EmbedWire, **extra: Any) -> dict[str, Any]:
    # The model is named even where there is a default: ollama has none.
    chosen: dict[str, Any] = {"model": wire.model, "base_url": wire.base_url(server)}
    if wire.auth is not None:
        chosen["api_key"] = KEY
    return {**chosen, **extra}


class TestRequest:
    """embed() sends each provider's documented embeddings request, all texts in one."""

    def test_url_auth_and_body(
        self, provider_server: ProviderServer, wire: EmbedWire, client: Client
    ) -> None:
        client.embed(wire.provider, TEXTS, **options(provider_server, wire))
        (request,) = provider_server.requests
        assert (request.method, request.path) == ("POST", wire.path)
        assert request.headers["content-type"] == "application/json"
        if wire.auth is None:
            assert "authorization" not in request.headers
        else:
            assert request.headers[wire.auth[0]] == wire.auth[1]
            assert KEY not in request.target
        assert wire.texts_sent(request.body) == TEXTS
        if wire.provider == "gemini":
            models = {one["model"] for one in request.body["requests"]}
            assert models == {f"models/{wire.model}"}
        else:
            assert request.body["model"] == wire.model

    def test_dimensions_under_the_providers_own_name(
        self, provider_server: ProviderServer, wire: EmbedWire, client: Client
    ) -> None:
        vectors = client.embed(wire.provider, TEXTS, **options(provider_server, wire, dimensions=5))
        body = provider_server.last_request.body
        sent = body["requests"][0] if wire.provider == "gemini" else body
        assert sent[wire.dimensions_field] == 5
        assert [len(vector) for vector in vectors] == [5, 5]

    @pytest.mark.parametrize(
        ("provider", "model"),
        [
            ("openai", "text-embedding-3-small"),
            ("mistral", "mistral-embed"),
            ("gemini", "gemini-embedding-001"),
        ],
    )
    def test_the_default_embedding_model(
        self, provider_server: ProviderServer, client: Client, provider: str, model: str
    ) -> None:
        prefix = "/v1beta" if provider == "gemini" else "/v1"
        client.embed(provider, ["hi"], base_url=provider_server.url + prefix, api_key=KEY)
        request = provider_server.last_request
        if provider == "gemini":
            assert request.path == f"/v1beta/models/{model}:batchEmbedContents"
        else:
            assert request.body["model"] == model

    def test_groq_and_xai_speak_the_openai_format_for_a_named_model(
        self, provider_server: ProviderServer, client: Client
    ) -> None:
        for provider in ("groq", "xai", "openrouter", "lmstudio"):
            client.embed(provider, ["hi"], model="m", base_url=provider_server.url, api_key=KEY)
            assert provider_server.last_request.path == "/embeddings"


class TestVectors:
    """embed() returns one vector per text, in the texts' order, as the provider sent them."""

    def test_one_vector_per_text(
        self, provider_server: ProviderServer, wire: EmbedWire, client: Client
    ) -> None:
        vectors = client.embed(wire.provider, TEXTS, **options(provider_server, wire))
        assert vectors == [stand_in_vector(text) for text in TEXTS]
        assert all(isinstance(value, float) for vector in vectors for value in vector)

    def test_openai_items_are_placed_by_their_index(
        self, provider_server: ProviderServer, client: Client
    ) -> None:
        body = openai_embeddings(TEXTS)
        body["data"].reverse()
        provider_server.enqueue(json_reply(body))
        vectors = client.embed("openai", TEXTS, base_url=provider_server.url, api_key=KEY)
        assert vectors == [stand_in_vector(text) for text in TEXTS]

    def test_the_stored_entry_is_labelled_with_the_model_asked_for(
        self, provider_server: ProviderServer, client: Client, strategy: ProductionStrategy
    ) -> None:
        provider_server.enqueue(json_reply(openai_embeddings(TEXTS, model="served-model")))
        seen: list[dict[str, Any]] = []
        telemetry.attach("embed-put", [("exllm", "cache", "put")], lambda e, m, d: seen.append(d))
        try:
            client.embed("openai", TEXTS, base_url=provider_server.url, api_key=KEY)
        finally:
            telemetry.detach("embed-put")
        assert [event["model"] for event in seen] == ["text-embedding-3-small"]
        assert strategy.stats().puts == 1

    @pytest.mark.parametrize(
        "body",
        [
            {"data": []},
            {"data": [{"index": 0, "embedding": "AAAA"}, {"index": 1, "embedding": [0.1]}]},
            {"data": [{"index": 0, "embedding": [0.1, 0.2]}, {"index": 1, "embedding": [0.3]}]},
            {"data": [{"index": 0, "embedding": [True]}, {"index": 1, "embedding": [0.3]}]},
            {"object": "list"},
        ],
        ids=["too-few", "base64", "ragged", "booleans", "no-data"],
    )
    def test_a_body_without_one_vector_per_text_is_a_provider_error_never_cached(
        self,
        provider_server: ProviderServer,
        client: Client,
        strategy: ProductionStrategy,
        body: Any,
    ) -> None:
        provider_server.enqueue(json_reply(body))
        with pytest.raises(ProviderError, match="openai answered with a body"):
            client.embed("openai", TEXTS, base_url=provider_server.url, api_key=KEY)
        assert strategy.stats().puts == 0
        client.embed("openai", TEXTS, base_url=provider_server.url, api_key=KEY)
        assert len(provider_server.requests) == 2

    def test_gemini_with_too_few_embeddings_is_a_provider_error(
        self, provider_server: ProviderServer, client: Client
    ) -> None:
        provider_server.enqueue(json_reply(gemini_embeddings(TEXTS[:1])))
        with pytest.raises(ProviderError, match="2 vectors, one per text"):
            client.embed("gemini", TEXTS, base_url=provider_server.url, api_key=KEY)


class TestErrors:
    """Error statuses map to the library's errors and are retried, exactly as for chat()."""

    @pytest.mark.parametrize(
        ("status", "error"),
        [(401, AuthenticationError), (429, RateLimitError), (500, ServerError)],
    )
    def test_status_maps_to_the_error_class(
        self,
        provider_server: ProviderServer,
        wire: EmbedWire,
        client: Client,
        status: int,
        error: type[ProviderError],
    ) -> None:
        provider_server.enqueue(json_reply(wire.error("nope"), status=status))
        with pytest.raises(error, match="nope") as raised:
            client.embed(wire.provider, TEXTS, **options(provider_server, wire, max_retries=0))
        assert raised.value.status == status
        assert raised.value.provider == wire.provider

    def test_a_server_error_is_retried(
        self, provider_server: ProviderServer, wire: EmbedWire, client: Client
    ) -> None:
        provider_server.enqueue(json_reply(wire.error("busy"), status=503))
        vectors = client.embed(wire.provider, TEXTS, **options(provider_server, wire))
        assert len(vectors) == 2
        assert len(provider_server.requests) == 2

    def test_no_key_fails_before_the_request_naming_the_variable(
        self, provider_server: ProviderServer, client: Client
    ) -> None:
        with pytest.raises(MissingAPIKey, match="OPENAI_API_KEY"):
            client.embed("openai", TEXTS, base_url=provider_server.url)
        assert provider_server.requests == []

    def test_the_key_never_shows_in_the_error(
        self, provider_server: ProviderServer, client: Client
    ) -> None:
        secret = "unshaped-secret-value"
        provider_server.enqueue(json_reply(openai_error(f"bad key {secret}"), status=401))
        with pytest.raises(AuthenticationError) as raised:
            client.embed("openai", TEXTS, base_url=provider_server.url, api_key=secret)
        assert secret not in str(raised.value)


class TestCache:
    """An embedding asked twice is paid once; what changes the vectors changes the key."""

    def test_the_same_texts_are_served_from_the_cache(
        self, provider_server: ProviderServer, wire: EmbedWire, client: Client
    ) -> None:
        first = client.embed(wire.provider, TEXTS, **options(provider_server, wire))
        second = client.embed(wire.provider, TEXTS, **options(provider_server, wire))
        assert second == first
        assert len(provider_server.requests) == 1

    def test_a_hit_hands_out_lists_the_caller_may_edit(
        self, provider_server: ProviderServer, client: Client
    ) -> None:
        arguments = {"base_url": provider_server.url, "api_key": KEY}
        client.embed("openai", TEXTS, **arguments)
        edited = client.embed("openai", TEXTS, **arguments)
        edited[0][0] = 99.0
        assert client.embed("openai", TEXTS, **arguments)[0][0] == stand_in_vector(TEXTS[0])[0]

    def test_a_cached_embedding_needs_no_key(
        self, provider_server: ProviderServer, client: Client
    ) -> None:
        client.embed("openai", TEXTS, base_url=provider_server.url, api_key=KEY)
        assert client.embed("openai", TEXTS, base_url=provider_server.url) == [
            stand_in_vector(text) for text in TEXTS
        ]

    @pytest.mark.parametrize(
        "change",
        [
            {"texts": list(reversed(TEXTS))},
            {"texts": TEXTS[:1]},
            {"dimensions": 4},
            {"model": "text-embedding-3-large"},
            {"cache_namespace": "tenant-b"},
        ],
        ids=["order", "fewer-texts", "dimensions", "model", "namespace"],
    )
    def test_what_changes_the_vectors_is_asked_again(
        self, provider_server: ProviderServer, client: Client, change: dict[str, Any]
    ) -> None:
        arguments: dict[str, Any] = {"base_url": provider_server.url, "api_key": KEY}
        client.embed("openai", TEXTS, **arguments)
        changed = {**arguments, **change}
        texts = changed.pop("texts", TEXTS)
        client.embed("openai", texts, **changed)
        assert len(provider_server.requests) == 2

    def test_the_key_and_timeout_do_not_change_the_key(
        self, provider_server: ProviderServer, client: Client
    ) -> None:
        client.embed("openai", TEXTS, base_url=provider_server.url, api_key=KEY)
        client.embed("openai", TEXTS, base_url=provider_server.url, api_key="other", timeout=5)
        assert len(provider_server.requests) == 1

    def test_cache_false_and_refresh_call_the_provider(
        self, provider_server: ProviderServer, client: Client, strategy: ProductionStrategy
    ) -> None:
        arguments = {"base_url": provider_server.url, "api_key": KEY}
        client.embed("openai", TEXTS, cache=False, **arguments)
        assert strategy.stats().puts == 0
        client.embed("openai", TEXTS, cache="refresh", **arguments)
        client.embed("openai", TEXTS, **arguments)
        assert len(provider_server.requests) == 2

    def test_an_embedding_is_never_served_for_a_chat_call(
        self, provider_server: ProviderServer, client: Client
    ) -> None:
        arguments = {"base_url": provider_server.url, "api_key": KEY}
        client.embed("openai", TEXTS[:1], model="gpt-4o-mini", **arguments)
        answer = client.chat(
            "openai", [{"role": "user", "content": TEXTS[0]}], model="gpt-4o-mini", **arguments
        )
        assert answer.metadata["from_cache"] is False
        assert provider_server.last_request.path == "/chat/completions"

    def test_an_explicit_key_is_apart_from_the_same_chat_key(
        self, provider_server: ProviderServer, client: Client
    ) -> None:
        arguments = {"base_url": provider_server.url, "api_key": KEY, "cache_key": "shared"}
        client.chat("openai", [{"role": "user", "content": "Hi"}], **arguments)
        client.embed("openai", TEXTS, **arguments)
        client.embed("openai", ["other texts"], **arguments)  # the explicit key covers no text
        assert [request.path for request in provider_server.requests] == [
            "/chat/completions",
            "/embeddings",
        ]

    def test_telemetry_reports_the_miss_and_the_hit(
        self, provider_server: ProviderServer, client: Client
    ) -> None:
        seen: list[tuple[str, str, str]] = []
        telemetry.attach(
            "embed-hits",
            [("exllm", "cache", "hit"), ("exllm", "cache", "miss")],
            lambda event, measurements, metadata: seen.append(
                (event[-1], metadata["provider"], metadata["model"])
            ),
        )
        try:
            for _ in range(2):
                client.embed("mistral", TEXTS, base_url=provider_server.url, api_key=KEY)
        finally:
            telemetry.detach("embed-hits")
        assert seen == [("miss", "mistral", "mistral-embed"), ("hit", "mistral", "mistral-embed")]

    async def test_aembed_reads_and_writes_the_same_cache(
        self, provider_server: ProviderServer, wire: EmbedWire, async_client: Client
    ) -> None:
        first = await async_client.aembed(wire.provider, TEXTS, **options(provider_server, wire))
        assert async_client.embed(wire.provider, TEXTS, **options(provider_server, wire)) == first
        assert await async_client.aembed(wire.provider, TEXTS, **options(provider_server, wire))
        assert len(provider_server.requests) == 1


class TestValidation:
    """Bad texts, options or providers fail before any I/O, naming what to fix."""

    @pytest.mark.parametrize(
        ("texts", "message"),
        [
            ("one text", "texts must be a list of strings"),
            ([], "texts is empty"),
            (["fine", ""], r"texts\[1\] must be a non-empty string"),
            (["fine", 3], r"texts\[1\] must be a non-empty string"),
        ],
    )
    def test_texts(
        self, provider_server: ProviderServer, client: Client, texts: Any, message: str
    ) -> None:
        with pytest.raises(ValidationError, match=message):
            client.embed("openai", texts, base_url=provider_server.url, api_key=KEY)
        assert provider_server.requests == []

    def test_more_texts_than_one_request_may_carry(
        self, provider_server: ProviderServer, client: Client
    ) -> None:
        texts = [f"text {index}" for index in range(101)]
        with pytest.raises(ValidationError, match="gemini embeds at most 100 texts"):
            client.embed("gemini", texts, base_url=provider_server.url, api_key=KEY)
        assert provider_server.requests == []

    @pytest.mark.parametrize(
        ("option", "message"),
        [
            ({"temperature": 0}, "unknown embed\\(\\) option 'temperature'"),
            ({"dimension": 8}, "did you mean 'dimensions'"),
            ({"dimensions": 0}, "dimensions must be"),
            ({"model": ""}, "model must be a non-empty string"),
            ({"cache": "semantic"}, "embed\\(\\) takes cache=True, False or 'refresh'"),
            ({"cache_ttl": -1}, "cache_ttl"),
            ({"cache_tags": "docs"}, "cache_tags must be a list"),
            ({"timeout": 0}, "timeout"),
        ],
    )
    def test_options(
        self,
        provider_server: ProviderServer,
        client: Client,
        option: dict[str, Any],
        message: str,
    ) -> None:
        with pytest.raises(ValidationError, match=message):
            client.embed("openai", TEXTS, base_url=provider_server.url, api_key=KEY, **option)
        assert provider_server.requests == []

    @pytest.mark.parametrize("provider", ["anthropic", "mock"])
    def test_providers_without_embeddings(self, client: Client, provider: str) -> None:
        with pytest.raises(ConfigurationError, match=f"{provider} has no embeddings endpoint"):
            client.embed(provider, TEXTS)

    def test_an_unknown_provider_lists_the_known_ones(self, client: Client) -> None:
        with pytest.raises(ConfigurationError, match="known providers: anthropic"):
            client.embed("opena1", TEXTS)

    def test_a_provider_without_a_default_model_asks_for_one(
        self, provider_server: ProviderServer, client: Client
    ) -> None:
        with pytest.raises(ValidationError, match=r"embed\(\) needs model='\.\.\.' for ollama"):
            client.embed("ollama", TEXTS, base_url=provider_server.url)
        assert provider_server.requests == []


class TestModuleFunctions:
    """exllm_py.embed / aembed use the default client, which reads keys and URLs from the env."""

    def test_embed(self, provider_server: ProviderServer, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("OPENAI_BASE_URL", provider_server.url + "/v1")
        monkeypatch.setenv("OPENAI_API_KEY", KEY)
        assert exllm_py.embed("openai", TEXTS) == [stand_in_vector(text) for text in TEXTS]
        assert provider_server.last_request.headers["authorization"] == f"Bearer {KEY}"

    async def test_aembed(
        self, provider_server: ProviderServer, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("GEMINI_BASE_URL", provider_server.url)
        monkeypatch.setenv("GEMINI_API_KEY", KEY)
        try:
            vectors = await exllm_py.aembed("gemini", TEXTS, cache=False)
        finally:
            await exllm_py.client.default_client().aclose()
        assert vectors == [stand_in_vector(text) for text in TEXTS]
