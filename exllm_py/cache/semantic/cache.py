"""``SemanticCache``: the settings and state of semantic matching for one strategy.

Passed as ``ProductionStrategy(store, semantic=SemanticCache(embedder))``. It
holds the embedder, the thresholds, the guards and verifier, and the vector
index; the strategy's flow asks it (through
:mod:`exllm_py.cache.semantic.lookup`) on every exact miss of a call with
semantic matching on.

The index lives in this process's memory, for every store; with a
``DiskStore``, its vectors are also written beside the entries
(:mod:`~exllm_py.cache.semantic.sidecar`) and loaded again when a strategy
is built over the same directory. Vectors leave with their entries: on the
store's ``("exllm", "cache", "evict")`` events (by key), and whenever a
candidate's entry turns out to be gone.

May import: numpy (through the index, when a cache is built), the rest of
:mod:`exllm_py.cache.semantic`, telemetry.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from exllm_py import telemetry
from exllm_py.cache.embedders.base import Embedder
from exllm_py.cache.semantic.effects import Verifier
from exllm_py.cache.semantic.guards import Thresholds
from exllm_py.cache.stores.breaker import report_cache_error
from exllm_py.errors import ConfigurationError
from exllm_py.forksafe import renew_after_fork
from exllm_py.request import CacheControl

if TYPE_CHECKING:
    from exllm_py.cache.semantic.index import VectorIndex
    from exllm_py.cache.semantic.sidecar import VectorFile
    from exllm_py.cache.stores.base import CacheStore

__all__ = ["SemanticCache"]


class SemanticCache:
    """Serves a question asked in other words from the answer to the first wording.

    ``embedder`` turns questions into vectors (see
    :mod:`exllm_py.cache.embedders`). ``threshold``: the cosine similarity a
    question must reach, one number or a mapping of namespace to number
    (key ``None``: every namespace not listed); ``None`` is the library's
    measured default. ``guards=False`` turns the lexical guard off (numbers,
    names and negations must agree); the threshold always applies.
    ``verifier(question, cached_question, cached_response) -> bool``, if
    given, confirms each match before it is served (an async verifier
    confirms matches of async calls; sync calls then get no semantic hits).
    ``default=True`` makes every cached call semantic; else only calls made
    with ``cache="semantic"`` are.
    """

    def __init__(
        self,
        embedder: Embedder,
        threshold: float | Mapping[str | None, float] | None = None,
        guards: bool = True,
        verifier: Verifier | None = None,
        default: bool = False,
    ) -> None:
        if not callable(getattr(embedder, "embed", None)) or not callable(
            getattr(embedder, "aembed", None)
        ):
            raise ConfigurationError(
                f"SemanticCache embedder must have embed() and aembed() (an "
                f"exllm_py.cache.embedders.Embedder such as ProviderEmbedder('openai')), "
                f"got {type(embedder).__name__}"
            )
        if verifier is not None and not callable(verifier):
            raise ConfigurationError(
                f"SemanticCache verifier must be a callable (question, cached_question, "
                f"cached_response) -> bool, got {type(verifier).__name__}"
            )
        self.embedder = embedder
        self.thresholds = Thresholds(threshold)
        self.guards = bool(guards)
        self.verifier = verifier
        self.default = bool(default)
        self.index: VectorIndex = _new_index()
        self.vector_file: VectorFile | None = None
        self._counts_lock = threading.Lock()
        renew_after_fork(self, "_counts_lock")
        self._hits = self._unserved_reads = 0
        self._listen_for_evictions()

    def __repr__(self) -> str:
        name = getattr(self.embedder, "name", type(self.embedder).__name__)
        return (
            f"SemanticCache(embedder={name!r}, {self.thresholds!r}, guards={self.guards}, "
            f"verifier={self.verifier is not None}, default={self.default}, "
            f"vectors={len(self.index)})"
        )

    def applies(self, control: CacheControl) -> bool:
        """Whether a call with these controls goes semantic (it still needs a subject)."""
        return (control.semantic or self.default) and control.key is None

    def bind(self, store: CacheStore) -> None:
        """Called by the strategy that holds this cache: a ``DiskStore`` gets its vectors back."""
        directory = _disk_directory(store)
        if directory is None or self.vector_file is not None:
            return
        import sqlite3

        from exllm_py.cache.semantic.sidecar import VectorFile

        name = str(getattr(self.embedder, "name", type(self.embedder).__qualname__))
        try:
            self.vector_file = VectorFile(directory, name)
            rows = list(self.vector_file.rows())
        except (OSError, sqlite3.Error) as exc:  # matches are then kept in memory only
            report_cache_error("semantic", "persist_failed", exc)
            self.vector_file = None
            return
        weakref.finalize(self, self.vector_file.close)
        for key, partition, question, vector in rows:
            self.index.add(partition, key, question, vector)

    def forget(self, key: str) -> None:
        """Drop the vector of ``key``, whose entry has left the store."""
        if self.index.remove(key) and self.vector_file is not None:
            try:
                self.vector_file.forget(key)
            except Exception as exc:  # an evict handler that raised would be detached
                report_cache_error("semantic", "persist_failed", exc, key=key)

    @property
    def hits(self) -> int:
        """Calls served by a semantic match."""
        return self._hits

    @property
    def unserved_reads(self) -> int:
        """Store reads of candidates found and not served (the verifier refused them)."""
        return self._unserved_reads

    def count_hit(self) -> None:
        with self._counts_lock:
            self._hits += 1

    def count_unserved_read(self) -> None:
        with self._counts_lock:
            self._unserved_reads += 1

    def _listen_for_evictions(self) -> None:
        # Weakly: the bus must not keep a dropped cache (and its matrix) alive.
        handler_id = f"exllm_py.semantic.{id(self)}"
        cache = weakref.ref(self)

        def forget(event: tuple[str, ...], measurements: Any, metadata: Any) -> None:
            live = cache()
            key = metadata.get("key")
            if live is not None and isinstance(key, str):
                live.forget(key)

        telemetry.attach(handler_id, [telemetry.CACHE_EVICT], forget)
        weakref.finalize(self, telemetry.detach, handler_id)


def _new_index() -> VectorIndex:
    try:
        from exllm_py.cache.semantic.index import VectorIndex
    except ImportError as exc:
        raise ImportError("SemanticCache needs numpy: pip install 'exllm_py[semantic]'") from exc
    return VectorIndex()


def _disk_directory(store: object) -> Any:
    """The directory of a ``DiskStore`` (the only store whose vectors go to disk), else None."""
    if type(store).__name__ != "DiskStore":
        return None  # checked by name: importing the disk store costs every other user
    from exllm_py.cache.stores.disk import DiskStore

    return store.directory if isinstance(store, DiskStore) else None
