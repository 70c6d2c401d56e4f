"""The semantic lookup and indexing, written once as generators of effects.

On an exact miss, :func:`look_up` embeds the call's question, searches its
partition for questions at least as similar as the namespace's threshold,
and walks the candidates best first: one the lexical guard refuses is
skipped; one whose entry is gone from the store (evicted, expired,
invalidated, deleted) loses its vector and is skipped; one the verifier
refuses is skipped; the first left is the match. Once a miss has been
answered and stored, :func:`index` files the question's vector under the
entry's key (reusing the lookup's vector: one embedding per call).

An embedding or a verifier that fails is reported
(``("exllm", "cache", "error")``, ``store="semantic"``) and counts as no
match: the call goes on to the provider, never to an unconfirmed answer.

May import: the rest of :mod:`exllm_py.cache.semantic` but the index's
module at run time (numpy loads only with a :class:`SemanticCache`),
the cache's entry, freeze, stores' error reporting, and telemetry.
"""

from __future__ import annotations

import time
from collections.abc import Generator, Sequence
from typing import TYPE_CHECKING, Any

import attrs

from exllm_py import telemetry
from exllm_py.cache.entry import CacheEntry
from exllm_py.cache.freeze import FrozenDict
from exllm_py.cache.semantic.effects import Embed, Persist, Read, Verify
from exllm_py.cache.semantic.guards import lexical_match
from exllm_py.cache.semantic.subject import Subject, subject_of
from exllm_py.cache.stores.base import CacheStore
from exllm_py.cache.stores.breaker import report_cache_error
from exllm_py.cache.stores.tiered import TIER_KEY
from exllm_py.cache.strategy import CacheLookup
from exllm_py.types import LLMResponse

if TYPE_CHECKING:
    from exllm_py.cache.semantic.cache import SemanticCache
    from exllm_py.cache.semantic.index import Candidate

__all__ = ["Match", "Probe", "index", "look_up", "served"]


@attrs.frozen
class Match:
    """A stored entry that answers the question, and how similar its question was."""

    entry: CacheEntry
    similarity: float


@attrs.frozen
class Probe:
    """What a lookup found: the subject, its vector (``None``: embedding failed), a match."""

    subject: Subject
    vector: Sequence[float] | None
    match: Match | None = None


def look_up(
    cache: SemanticCache, lookup: CacheLookup, store: CacheStore
) -> Generator[object, Any, Probe | None]:
    """The semantic lookup of a call whose exact key missed; ``None`` if it is not semantic."""
    if not cache.applies(lookup.control):
        return None
    subject = subject_of(lookup)
    if subject is None:
        return None
    vector = yield from _embedded(cache, subject, lookup)
    if vector is None:
        return Probe(subject, None)
    threshold = cache.thresholds(lookup.control.namespace)
    for candidate in cache.index.search(subject.partition, vector, threshold):
        if cache.guards and not _guard_allows(subject.question, candidate):
            continue
        entry: CacheEntry | None = yield Read(store, candidate.key)
        if entry is None:
            cache.forget(candidate.key)  # its entry went without an evict event we saw
            continue
        if cache.verifier is not None and not (
            yield from _verified(cache, subject, candidate.question, entry, lookup)
        ):
            cache.count_unserved_read()
            continue
        return Probe(subject, vector, Match(entry, candidate.similarity))
    return Probe(subject, vector)


def _guard_allows(question: str, candidate: Candidate) -> bool:
    # A question the guard cannot read must not break every later lookup
    # that meets it: the candidate is passed over, and the failure reported.
    try:
        return lexical_match(question, candidate.question)
    except Exception as exc:
        report_cache_error("semantic", "guard_failed", exc, key=candidate.key)
        return False


def index(
    cache: SemanticCache, lookup: CacheLookup, probe: Probe | None
) -> Generator[object, Any, None]:
    """File the vector of the call's question under its key, the answer being stored."""
    if probe is None:
        if not cache.applies(lookup.control):
            return
        subject = subject_of(lookup)
        if subject is None:
            return
        vector = yield from _embedded(cache, subject, lookup)
    else:
        subject, vector = probe.subject, probe.vector
    if vector is None:
        return
    cache.index.add(subject.partition, lookup.key, subject.question, vector)
    if cache.vector_file is not None:
        try:
            yield Persist(
                cache.vector_file, lookup.key, subject.partition, subject.question, vector
            )
        except Exception as exc:  # kept in memory all the same
            report_cache_error("semantic", "persist_failed", exc, key=lookup.key)


def served(cache: SemanticCache, lookup: CacheLookup, match: Match, started: int) -> LLMResponse:
    """The matched entry's response as the call gets it, counted and reported as a semantic hit."""
    cache.count_hit()
    response = match.entry.response
    metadata = response.metadata
    marked = attrs.evolve(
        response,
        metadata=FrozenDict(
            {**metadata, "cache_match": "semantic", "similarity": match.similarity}
        ),
    )
    if telemetry.wanted(telemetry.CACHE_HIT):
        labels: dict[str, Any] = {
            "key": lookup.key,
            "provider": lookup.provider,
            "model": lookup.model,
            "namespace": lookup.control.namespace,
            "match": "semantic",
            "matched_key": metadata.get("cache_key"),
        }
        tier = metadata.get(TIER_KEY)
        if tier is not None:
            labels[TIER_KEY] = tier
        measurements = {
            "duration_ns": time.perf_counter_ns() - started,
            "saved_cost_usd": metadata.get("saved_cost"),
            "similarity": match.similarity,
        }
        telemetry.emit(telemetry.CACHE_HIT, measurements, labels)
    return marked


def _embedded(
    cache: SemanticCache, subject: Subject, lookup: CacheLookup
) -> Generator[object, Any, Sequence[float] | None]:
    try:
        vectors = yield Embed(cache.embedder, (subject.question,))
        if len(vectors) != 1:
            raise ValueError(
                f"the embedder returned {len(vectors)} vectors for 1 text; it must return one"
            )
        vector: Sequence[float] = vectors[0]
        return vector
    except Exception as exc:  # the call goes to the provider instead
        report_cache_error("semantic", "embed_failed", exc, key=lookup.key)
        return None


def _verified(
    cache: SemanticCache,
    subject: Subject,
    cached_question: str,
    entry: CacheEntry,
    lookup: CacheLookup,
) -> Generator[object, Any, bool]:
    assert cache.verifier is not None
    try:
        confirmed: bool = yield Verify(
            cache.verifier, subject.question, cached_question, entry.response
        )
    except Exception as exc:  # unconfirmed: not served
        report_cache_error("semantic", "verifier_failed", exc, key=lookup.key)
        return False
    return confirmed
