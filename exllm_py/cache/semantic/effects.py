"""The I/O a semantic lookup asks its caller to do, each runnable sync or async.

The lookup (:mod:`exllm_py.cache.semantic.lookup`) is written once, as a
generator that yields these; the production strategy's sync and async
shells run each with :meth:`SemanticEffect.run` or
:meth:`SemanticEffect.arun` and send back the result. That keeps one logic
for both, as the strategy's own flow does.

May import: :mod:`exllm_py.cache.embedders.base`, the cache's entry and
store protocol.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import attrs

from exllm_py.cache.embedders.base import Embedder
from exllm_py.cache.entry import CacheEntry
from exllm_py.cache.stores.base import CacheStore
from exllm_py.types import LLMResponse

if TYPE_CHECKING:
    from exllm_py.cache.semantic.sidecar import VectorFile

__all__ = ["Embed", "Persist", "Read", "SemanticEffect", "Verifier", "Verify"]

#: ``(question, cached_question, cached_response) -> bool``, or an async function
#: returning one (honoured by async calls; a sync call cannot await it and does
#: not serve the match).
Verifier = Callable[[str, str, LLMResponse], Any]


class SemanticEffect:
    """One piece of I/O: :meth:`run` does it for sync callers, :meth:`arun` for async ones."""

    __slots__ = ()

    def run(self) -> Any:
        raise NotImplementedError

    async def arun(self) -> Any:
        raise NotImplementedError


@attrs.frozen
class Embed(SemanticEffect):
    """Embed ``texts``; the result is one vector per text."""

    embedder: Embedder
    texts: tuple[str, ...]

    def run(self) -> Sequence[Sequence[float]]:
        return self.embedder.embed(self.texts)

    async def arun(self) -> Sequence[Sequence[float]]:
        return await self.embedder.aembed(self.texts)


@attrs.frozen
class Read(SemanticEffect):
    """Read a candidate's entry from the store: ``None`` if it is gone."""

    store: CacheStore
    key: str

    def run(self) -> CacheEntry | None:
        return self.store.get(self.key)

    async def arun(self) -> CacheEntry | None:
        return await self.store.aget(self.key)


@attrs.frozen
class Verify(SemanticEffect):
    """Ask the verifier whether ``cached_response`` answers ``question``: a bool."""

    verifier: Verifier
    question: str
    cached_question: str
    cached_response: LLMResponse

    def run(self) -> bool:
        verdict = self.verifier(self.question, self.cached_question, self.cached_response)
        if inspect.isawaitable(verdict):
            # An async verifier in a sync call: nothing here can await it, and an
            # unconfirmed match is not served.
            close = getattr(verdict, "close", None)
            if close is not None:
                close()
            return False
        return bool(verdict)

    async def arun(self) -> bool:
        verdict = self.verifier(self.question, self.cached_question, self.cached_response)
        if inspect.isawaitable(verdict):
            verdict = await verdict
        return bool(verdict)


@attrs.frozen
class Persist(SemanticEffect):
    """Write an indexed vector to the store's sidecar file (async callers: in a thread)."""

    file: VectorFile
    key: str
    partition: str
    question: str
    vector: Sequence[float]

    def run(self) -> None:
        self.file.save(self.key, self.partition, self.question, self.vector)

    async def arun(self) -> None:
        await asyncio.to_thread(self.run)
