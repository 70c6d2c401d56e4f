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
from collections.abc import Mapping, Sequence
from typing import Any

import orjson

from exllm_py.errors import ValidationError
from exllm_py.request import ANSWER_OPTIONS

__all__ = ["KEY_FORMAT_VERSION", "cache_key", "digest"]

#: Bumped whenever what goes into a key changes, so old entries stop matching.
KEY_FORMAT_VERSION = 1

_OPTIONS = orjson.OPT_SORT_KEYS


def cache_key(provider: str, messages: Sequence[Any], options: Mapping[str, Any]) -> str:
    """The cache key of a call, as a hex SHA-256 digest.

    ``options`` are the call's options as given (plus ``base_url``, which the
    pipeline fills in from the provider's configuration); those that do not
    change the answer are ignored. Messages may be dicts or
    :class:`~exllm_py.types.Message` objects.
    """
    answer = {
        name: value
        for name, value in options.items()
        if name in ANSWER_OPTIONS and name != "model" and value is not None
    }
    return digest(
        provider,
        options.get("base_url"),
        options.get("model"),
        messages,
        answer,
        options.get("cache_namespace"),
    )


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
