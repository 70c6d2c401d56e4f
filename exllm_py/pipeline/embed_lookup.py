"""The cache step of ``embed()``: a key of its own, never equal to a chat key.

The key is SHA-256 over the canonical JSON array ``[format version,
namespace, "embed", provider, base URL, model, texts, options]``: the
``"embed"`` marker makes the document a different shape from a chat key's
(:func:`exllm_py.cache.keys.digest`), so no embedding can ever be served
for a chat call or the other way round. An explicit ``cache_key`` is
hashed with the same marker, for the same reason.
"""

from __future__ import annotations

import hashlib

import orjson

from exllm_py.cache.keys import KEY_FORMAT_VERSION
from exllm_py.cache.strategy import CacheLookup
from exllm_py.pipeline.call import Call

__all__ = ["EMBED_MARKER", "embed_key", "embed_lookup"]

#: What sets an embedding's key apart from a chat call's.
EMBED_MARKER = "embed"


def embed_lookup(call: Call) -> CacheLookup:
    """The lookup the strategy decides an ``embed()`` call on (after validation)."""
    config, control = call.config, call.cache
    assert config is not None, "configuration runs first"
    return CacheLookup(embed_key(call), control, call.provider, call.model, config.timeout, call)


def embed_key(call: Call) -> str:
    """The cache key of a validated ``embed()`` call."""
    config, control = call.config, call.cache
    assert config is not None, "configuration runs first"
    if control.key is not None:
        document: tuple[object, ...] = (
            KEY_FORMAT_VERSION,
            control.namespace,
            EMBED_MARKER,
            "explicit",
            control.key,
        )
    else:
        document = (
            KEY_FORMAT_VERSION,
            control.namespace,
            EMBED_MARKER,
            call.provider,
            config.base_url,
            call.model,
            list(call.messages),
            call.answer_options,
        )
    return hashlib.sha256(orjson.dumps(document, option=orjson.OPT_SORT_KEYS)).hexdigest()
