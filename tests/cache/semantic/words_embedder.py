"""A small deterministic embedder for tests: hashed bag of words.

Each word (lower case, punctuation stripped) adds one to a bucket chosen by
its SHA-256, so texts sharing most words point the same way, and the same
text always gives the same vector in every process. For tests only: it
knows nothing of meaning, and the library never uses it.
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections.abc import Sequence

from exllm_py.errors import ProviderError

__all__ = ["WordsEmbedder"]

_WORD = re.compile(r"[a-z0-9']+")


class WordsEmbedder:
    """Hashed bag-of-words vectors of ``dimension`` buckets; counts its batches and texts."""

    def __init__(self, dimension: int = 256, *, failing: bool = False) -> None:
        self.name = f"test:words-{dimension}"
        self.dimension = dimension
        self.failing = failing
        self.texts: list[str] = []
        self._lock = threading.Lock()

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        with self._lock:
            self.texts.extend(texts)
        if self.failing:
            raise ProviderError("embedding endpoint down", status=503, provider="test", body="")
        return [self.vector(text) for text in texts]

    async def aembed(self, texts: Sequence[str]) -> list[list[float]]:
        return self.embed(texts)

    def vector(self, text: str) -> list[float]:
        vector = [0.0] * self.dimension
        for word in _WORD.findall(text.lower()):
            bucket = int.from_bytes(hashlib.sha256(word.encode()).digest()[:4], "big")
            vector[bucket % self.dimension] += 1.0
        return vector
