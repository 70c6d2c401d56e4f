"""Cache keys: SHA-256 over the canonical JSON of everything that changes the answer.

The document is the JSON array ``[format version, namespace, provider, base
URL, model, messages, answer options]``: every field of every message (tool
calls and images included) and every answer option go in; the API key, the
timeout and the cache controls other than the namespace stay out. Canonical
means orjson with sorted keys and no whitespace, so dict key order never
changes a key.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping, Sequence
from typing import Any

import orjson

from exllm_py.errors import ValidationError
from exllm_py.request import ANSWER_OPTIONS

__all__ = ["KEY_FORMAT_VERSION", "cache_key", "digest", "explicit_key"]

#: Bumped whenever what goes into a key changes, so old entries stop matching.
KEY_FORMAT_VERSION = 1

_OPTIONS = orjson.OPT_SORT_KEYS


def cache_key(provider: str, messages: Sequence[Any], options: Mapping[str, Any]) -> str:
    """The key a call with these arguments is cached under, as a hex SHA-256 digest.

    ``options`` are the call's keyword options as given; those that do not
    change the answer are ignored. A ``model`` or ``base_url`` left out is
    resolved as a call resolves it (the provider's default model, then
    ``<PROVIDER>_BASE_URL``, then its default endpoint), so the result equals
    ``LLMResponse.metadata["cache_key"]`` of that call: use it to delete or
    pre-fill entries. Messages may be dicts or :class:`~exllm_py.types.Message`
    objects.
    """
    namespace = options.get("cache_namespace")
    if options.get("cache_key") is not None:
        return explicit_key(options["cache_key"], namespace)
    answer = {
        name: value
        for name, value in options.items()
        if name in ANSWER_OPTIONS and name != "model" and value is not None
    }
    model, base_url = _resolved(provider, options.get("model"), options.get("base_url"))
    return digest(provider, base_url, model, messages, answer, namespace)


def explicit_key(key: str, namespace: str | None) -> str:
    """The store key for an explicit ``cache_key``, inside its namespace.

    Hashed like a derived key, so no choice of key can reach another
    namespace's entries (``"a:x"`` alone and ``"x"`` in namespace ``"a"`` differ).
    """
    document = (KEY_FORMAT_VERSION, namespace, "explicit", key)
    return hashlib.sha256(orjson.dumps(document)).hexdigest()


def _resolved(provider: str, model: str | None, base_url: str | None) -> tuple[Any, Any]:
    # The one place the cache looks at the providers: the defaults a call
    # would fill in. Imported here, so the cache package does not need them.
    from exllm_py.providers.registry import PROVIDERS

    spec = PROVIDERS.get(provider)
    if spec is None:
        return model, base_url
    if base_url is None and spec.base_url_env is not None:
        base_url = os.environ.get(spec.base_url_env) or None
    return model or spec.default_model, (base_url or spec.base_url).rstrip("/")


def digest(
    provider: str,
    base_url: str | None,
    model: str | None,
    messages: Sequence[Any],
    answer_options: Mapping[str, Any],
    namespace: str | None,
) -> str:
    """:func:`cache_key` for callers that have already sorted out the options.

    ``answer_options`` must hold only answer options other than ``model``,
    without ``None`` values (an unset option and ``None`` mean the same).
    Messages may be dicts or :class:`~exllm_py.types.Message` objects.
    """
    # A JSON array with a fixed order, not an object: nothing to sort at the
    # top level, and orjson writes it in two thirds of the time.
    document = (KEY_FORMAT_VERSION, namespace, provider, base_url, model, messages, answer_options)
    try:
        canonical = orjson.dumps(document, default=_message_dict, option=_OPTIONS)
    except orjson.JSONEncodeError as exc:
        raise ValidationError(
            f"messages and options must be JSON values (str, int, float, bool, None, "
            f"lists, dicts with string keys): {exc}"
        ) from exc
    return hashlib.sha256(canonical).hexdigest()


def _message_dict(value: Any) -> Any:
    # orjson calls this only for what it cannot serialize itself, so plain
    # dict messages cost nothing here; Message objects become their dict form.
    to_dict = getattr(value, "to_dict", None)
    if to_dict is None:
        raise TypeError(f"{type(value).__name__} is not a JSON value")
    return to_dict()
