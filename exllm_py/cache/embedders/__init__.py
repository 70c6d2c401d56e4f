"""Embedders: what turns a question into a vector for the semantic cache.

``base`` holds the :class:`Embedder` protocol. ``ProviderEmbedder`` (the
library's own providers' embedding endpoints) and ``LocalEmbedder``
(sentence-transformers, an optional extra) are loaded on first use, so
importing this package loads neither httpx pipelines nor torch.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from exllm_py.cache.embedders.base import Embedder

if TYPE_CHECKING:
    from exllm_py.cache.embedders.local import LocalEmbedder
    from exllm_py.cache.embedders.provider import ProviderEmbedder

__all__ = ["Embedder", "LocalEmbedder", "ProviderEmbedder"]

_LAZY = {
    "LocalEmbedder": "exllm_py.cache.embedders.local",
    "ProviderEmbedder": "exllm_py.cache.embedders.provider",
}


def __getattr__(name: str) -> Any:
    """Import an embedder's module only when the embedder is asked for."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
