"""``ProviderEmbedder``: the semantic cache's vectors from one of the library's own providers.

Every batch goes through a client's ``embed()`` (:mod:`exllm_py.embedding`),
so it shares that client's cache, retries, error mapping and telemetry: a
question embedded once is not paid for again while its entry lives. Texts
beyond what one request may carry are split into several requests.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from exllm_py.errors import ConfigurationError, ValidationError
from exllm_py.pipeline.embed_validate import EMBED_OPTIONS
from exllm_py.providers.embeddings.catalog import EMBEDDING_ADAPTERS, embedding_adapter
from exllm_py.providers.registry import DEFAULT_EMBEDDING_MODELS, PROVIDERS, known_providers

if TYPE_CHECKING:
    from exllm_py.client import Client

__all__ = ["ProviderEmbedder"]


class ProviderEmbedder:
    """Embeds through ``provider``'s embeddings endpoint, with ``model`` or its default.

    ``client`` is the :class:`~exllm_py.Client` whose ``embed()`` is called
    (``None``: the default client, looked up at each call, so
    :func:`exllm_py.configure` applies). ``options`` are passed to every
    call: ``dimensions``, ``api_key``, ``base_url``, ``timeout``, the cache
    controls. The provider, the model and the option names are checked
    here, before any I/O. ``name`` is ``"provider:model"`` (with
    ``":<dimensions>"`` when set: shortened vectors are another space).
    """

    def __init__(
        self,
        provider: str,
        model: str | None = None,
        *,
        client: Client | None = None,
        **options: Any,
    ) -> None:
        self.provider = provider
        self.model = _model(provider, model)
        for option in options:
            if option not in EMBED_OPTIONS:
                raise ValidationError(
                    f"ProviderEmbedder takes these options: "
                    f"{', '.join(sorted(EMBED_OPTIONS - {'model'}))}; got {option!r}"
                )
        self.options = {"model": self.model, **options}
        dimensions = options.get("dimensions")
        suffix = "" if dimensions is None else f":{dimensions}"
        self.name = f"{provider}:{self.model}{suffix}"
        self._client = client
        adapter = embedding_adapter(provider)
        assert adapter is not None, "_model refuses providers without embeddings"
        self._batch = adapter.max_batch

    def __repr__(self) -> str:
        return f"<ProviderEmbedder {self.name}>"

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """One vector per text, in order; no request for no texts."""
        client = self._client_now()
        vectors: list[list[float]] = []
        for batch in self._batches(texts):
            vectors += client.embed(self.provider, batch, **self.options)
        return vectors

    async def aembed(self, texts: Sequence[str]) -> list[list[float]]:
        """Async twin of :meth:`embed`."""
        client = self._client_now()
        vectors: list[list[float]] = []
        for batch in self._batches(texts):
            vectors += await client.aembed(self.provider, batch, **self.options)
        return vectors

    def _batches(self, texts: Sequence[str]) -> Iterator[list[str]]:
        # One request per batch, in order; the sync and async shells only send them.
        for start in range(0, len(texts), self._batch):
            yield list(texts[start : start + self._batch])

    def _client_now(self) -> Client:
        if self._client is not None:
            return self._client
        from exllm_py.client import default_client  # the client module imports the caches

        return default_client()


def _model(provider: str, model: str | None) -> str:
    if provider not in PROVIDERS:
        raise ConfigurationError(
            f"unknown provider {provider!r}; known providers: {known_providers()}"
        )
    if embedding_adapter(provider) is None:
        raise ConfigurationError(
            f"{provider} has no embeddings endpoint; use one of "
            f"{', '.join(sorted(EMBEDDING_ADAPTERS))}, or LocalEmbedder"
        )
    if model is None:
        model = DEFAULT_EMBEDDING_MODELS.get(provider)
        if model is None:
            raise ValidationError(
                f"ProviderEmbedder({provider!r}) needs a model: {provider} has no default "
                "embedding model; pass ProviderEmbedder(provider, 'model-name')"
            )
    elif not isinstance(model, str) or not model:
        raise ValidationError(f"model must be a non-empty string, got {model!r}")
    return model
