"""``ValidateEmbedding``: an ``embed()`` call's texts, model and options, checked before any I/O.

The checks of the call controls (``api_key``, ``timeout``, the cache
options...) are the ones ``chat()`` makes, with one difference:
``cache="semantic"`` is refused, since texts to embed are not questions
with answers.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from exllm_py.cache.arguments import MAX_TIMEOUT, check_count, check_seconds, check_text, check_ttl
from exllm_py.errors import ConfigurationError, ValidationError
from exllm_py.pipeline.call import Call
from exllm_py.pipeline.plug import Halt
from exllm_py.pipeline.retry import check_max_retries
from exllm_py.providers.embeddings.adapter import EmbeddingAdapter
from exllm_py.providers.embeddings.catalog import EMBEDDING_ADAPTERS, embedding_adapter
from exllm_py.providers.registry import DEFAULT_EMBEDDING_MODELS
from exllm_py.request import CACHE_OPTIONS, DEFAULT_TTL, TRANSPORT_OPTIONS, CacheControl

__all__ = ["EMBED_OPTIONS", "ValidateEmbedding", "check_texts"]

#: The options that change the vectors (they enter the cache key).
_VECTOR_OPTIONS = frozenset({"model", "dimensions"})
#: Every option ``embed()`` takes.
EMBED_OPTIONS = _VECTOR_OPTIONS | TRANSPORT_OPTIONS | CACHE_OPTIONS


class ValidateEmbedding:
    """Checks the provider offers embeddings, the options, the model and the texts.

    Sets the model (the provider's default embedding model when the call
    names none), ``answer_options`` (``dimensions``, when given) and the
    cache controls. Runs after ``ValidateProvider``.
    """

    __slots__ = ()

    def __call__(self, call: Call) -> Halt | None:
        spec = call.spec
        assert spec is not None, "ValidateProvider runs first"
        adapter = embedding_adapter(spec.name)
        if adapter is None:
            raise ConfigurationError(
                f"{spec.name} has no embeddings endpoint; embed with one of "
                f"{', '.join(sorted(EMBEDDING_ADAPTERS))}, or use "
                "exllm_py.cache.embedders.LocalEmbedder"
            )
        options = call.options
        for name, value in options.items():
            if name not in EMBED_OPTIONS:
                raise ValidationError(_unknown_option_message(name))
            if value is not None:
                _CHECKS[name](name, value)
        call.model = _model(spec.name, options.get("model"))
        dimensions = options.get("dimensions")
        call.answer_options = {} if dimensions is None else {"dimensions": dimensions}
        check_texts(call.messages, adapter, spec.name)
        if any(name in options for name in CACHE_OPTIONS):
            call.cache = _cache_control(options)
        return None


def check_texts(texts: Sequence[Any], adapter: EmbeddingAdapter, provider: str) -> None:
    """Refuse anything but a non-empty list of non-empty strings, at most a batch long."""
    if isinstance(texts, (str, bytes)) or not isinstance(texts, Sequence):
        raise ValidationError(
            f"texts must be a list of strings such as ['first text', 'second text'], "
            f"got {type(texts).__name__}"
        )
    if not texts:
        raise ValidationError("texts is empty: pass at least one text to embed")
    for index, text in enumerate(texts):
        if not isinstance(text, str) or not text:
            raise ValidationError(f"texts[{index}] must be a non-empty string, got {text!r}")
    if len(texts) > adapter.max_batch:
        raise ValidationError(
            f"{provider} embeds at most {adapter.max_batch} texts per request, got {len(texts)}: "
            "split the list (ProviderEmbedder does)"
        )


def _model(provider: str, model: str | None) -> str:
    if model is not None:
        return model
    default = DEFAULT_EMBEDDING_MODELS.get(provider)
    if default is None:
        raise ValidationError(
            f"embed() needs model='...' for {provider}: it has no default embedding model"
        )
    return default


def _unknown_option_message(name: str) -> str:
    close = difflib.get_close_matches(name, EMBED_OPTIONS, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    known = ", ".join(sorted(EMBED_OPTIONS))
    return f"unknown embed() option {name!r}{hint} Known options: {known}"


def _cache_control(options: Mapping[str, Any]) -> CacheControl:
    mode = options.get("cache")
    return CacheControl(
        mode=True if mode is None else mode,
        ttl=options.get("cache_ttl", DEFAULT_TTL),
        key=options.get("cache_key"),
        namespace=options.get("cache_namespace"),
        tags=tuple(dict.fromkeys(str(tag) for tag in options.get("cache_tags") or ())),
    )


def _check_cache(name: str, value: Any) -> None:
    if value is not True and value is not False and value != "refresh":
        raise ValidationError(f"embed() takes cache=True, False or 'refresh', got {value!r}")


def _check_tags(name: str, value: Any) -> None:
    if not isinstance(value, (list, tuple)) or not all(
        isinstance(tag, str) and tag for tag in value
    ):
        raise ValidationError(
            f"cache_tags must be a list of non-empty strings such as ['docs-v3'], got {value!r}"
        )


_CHECKS: dict[str, Callable[[str, Any], object]] = {
    "model": check_text,
    "dimensions": check_count,
    "api_key": check_text,
    "base_url": check_text,
    "timeout": lambda name, value: check_seconds(name, value, maximum=MAX_TIMEOUT),
    "max_retries": check_max_retries,
    "cache": _check_cache,
    "cache_ttl": check_ttl,
    "cache_key": check_text,
    "cache_namespace": check_text,
    "cache_tags": _check_tags,
}
