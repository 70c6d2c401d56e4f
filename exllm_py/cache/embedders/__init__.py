"""Embedders: what turns a question into a vector for the semantic cache.

``base`` holds the :class:`Embedder` protocol. ``ProviderEmbedder`` (the
library's own providers' embedding endpoints) and ``LocalEmbedder``
(sentence-transformers, an optional extra) are loaded on first use, so
importing this package loads neither httpx pipelines nor torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from exllm_py.cache.embedders.base import Embedder
from exllm_py.lazy_exports import LazyExports

if TYPE_CHECKING:
    from exllm_py.cache.embedders.local import LocalEmbedder
    from exllm_py.cache.embedders.provider import ProviderEmbedder

__all__ = ["Embedder", "LocalEmbedder", "ProviderEmbedder"]

_LAZY = {
    "LocalEmbedder": "exllm_py.cache.embedders.local",
    "ProviderEmbedder": "exllm_py.cache.embedders.provider",
}


_EXPORTS = LazyExports(__name__, _LAZY, globals())


def __getattr__(name: str) -> Any:
    return _EXPORTS.attribute(name)


def __dir__() -> list[str]:
    return _EXPORTS.names()
