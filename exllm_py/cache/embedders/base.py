"""The ``Embedder`` protocol: how the semantic cache turns questions into vectors.

Imports nothing beyond the standard library, so any embedder (and the
semantic cache itself) can depend on it without pulling numpy or a model in.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

__all__ = ["Embedder"]


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into vectors, one per text, in order.

    The contract:

    - ``name`` identifies the model that makes the vectors (for example
      ``"openai:text-embedding-3-small"``). Vectors of different names are
      never compared: the semantic cache keeps them apart, so two embedders
      must share a name only when they make the same vectors.
    - ``embed(texts)`` returns exactly ``len(texts)`` vectors, the i-th for
      the i-th text, all of the same length for a given ``name``. Texts are
      embedded in one batch where the backend allows it. An empty sequence
      returns an empty sequence without any I/O.
    - Vectors need not be normalised: the cache normalises them.
    - Errors propagate as :class:`~exllm_py.errors.ExLLMError` subclasses
      (a provider's ``ProviderError``, a missing model's
      ``ConfigurationError``); the cache treats a failed embedding as a
      semantic miss and never stores a vector for it.
    - ``aembed`` is the same for async callers; an embedder with no async
      backend may run ``embed`` in a worker thread.
    """

    name: str

    def embed(self, texts: Sequence[str]) -> Sequence[Sequence[float]]:
        """Return one vector per text, in order."""
        ...

    async def aembed(self, texts: Sequence[str]) -> Sequence[Sequence[float]]:
        """Return one vector per text, in order, without blocking the event loop."""
        ...
