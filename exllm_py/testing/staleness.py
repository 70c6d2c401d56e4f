"""Stale interactions: recordings that the last complete run of their test no longer played.

``new_episodes`` adds what a test asks for that its cassette lacks, and
keeps everything else: a prompt changed in the test leaves the old
recording behind, never matched again. To find those, the usage log
(:mod:`exllm_py.testing.usage`) keeps, per cassette, the time of the last
run in which its test *passed* (a complete use: every call it makes was
answered) and the ids of the interactions played or recorded since.

An interaction is stale when its cassette has a complete use, the
interaction was in the cassette then, and it was neither played nor
recorded in that run or after it. A cassette whose test never ran to
completion on this machine has no complete use, so nothing in it is ever
called stale; nor is an interaction the cassette did not hold at its last
complete use (recorded by a teammate, pulled since): nothing is condemned
on a guess.

A use is complete only when the test passed, its cassette was saved, it
played or recorded something, and no production cache answered any of its
calls meanwhile (:func:`watching_cache_hits`): a call an exllm_py cache
above HTTP answered (a module-level ``Client`` with its own
``ProductionStrategy``, say) never reaches the recorder, and its recording
would look unplayed. A cache of the application's own that exllm_py cannot
see has the same effect: review ``exllm-cache list --stale`` before
cleaning.

An interaction's id (:func:`interaction_id`) is read from what a cassette
stores unchanged: the request's method and body, the response status and
when it was recorded. The URL and headers are left out because the writer
redacts them, so the recorder's copy and the file's would differ.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import attrs
import orjson

from exllm_py import telemetry
from exllm_py.testing.cassette_file import Interaction
from exllm_py.testing.files import parse_timestamp, utc_timestamp

__all__ = [
    "CacheHitCount",
    "CassettePlays",
    "CassetteUse",
    "interaction_id",
    "stale_indexes",
    "watching_cache_hits",
]

_ID_CHARS = 16


def interaction_id(interaction: Interaction) -> str:
    """A short stable id of a recorded interaction, the same in memory and in the file."""
    request = interaction.request
    body = request.body
    content = (
        orjson.dumps(body.value, option=orjson.OPT_SORT_KEYS)
        if body.kind == "json"
        else body.to_bytes()
    )
    digest = hashlib.blake2b(digest_size=_ID_CHARS // 2)
    digest.update(
        orjson.dumps([request.method, interaction.response.status, interaction.recorded_at])
    )
    digest.update(b"\0")
    digest.update(content)
    return digest.hexdigest()


@attrs.frozen
class CassettePlays:
    """One cassette's plays: its last complete use, and what was played since."""

    complete: datetime | None = None
    #: The ids of the interactions the cassette held at its last complete use.
    held: frozenset[str] = frozenset()
    #: The ids of the interactions played or recorded in that use or after it.
    played: frozenset[str] = frozenset()

    def after(self, use: CassetteUse, when: datetime) -> CassettePlays:
        """These plays after one more use of the cassette at ``when``."""
        if use.complete:
            return CassettePlays(when, use.held, use.played)
        return attrs.evolve(self, played=self.played | use.played)

    def to_json(self) -> dict[str, Any]:
        """The form kept in the usage file."""
        document: dict[str, Any] = {"held": sorted(self.held), "played": sorted(self.played)}
        if self.complete is not None:
            document["complete"] = utc_timestamp(self.complete)
        return document

    @classmethod
    def from_json(cls, data: Any) -> CassettePlays:
        """The plays a usage file holds; anything unreadable reads as no complete use."""
        if not isinstance(data, Mapping):
            return cls()
        played = _ids(data.get("played"))
        try:
            complete = parse_timestamp(data["complete"]) if "complete" in data else None
        except ValueError:
            return cls(None, frozenset(), played)
        return cls(complete, _ids(data.get("held")), played)


@attrs.frozen
class CassetteUse:
    """What one test did with its cassette: held, played and recorded ids; passed or not."""

    held: frozenset[str]
    played: frozenset[str]
    #: The test passed: every call it makes was answered, so the use is complete.
    complete: bool


def _ids(value: Any) -> frozenset[str]:
    if not isinstance(value, list):
        return frozenset()
    return frozenset(item for item in value if isinstance(item, str))


def stale_indexes(interactions: Iterable[Interaction], plays: CassettePlays) -> list[int]:
    """The positions of ``interactions`` that are stale (none without a complete use)."""
    if plays.complete is None:
        return []
    stale = plays.held - plays.played
    return [
        index
        for index, interaction in enumerate(interactions)
        if interaction_id(interaction) in stale
    ]


class CacheHitCount:
    """A telemetry handler counting production cache hits."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, event: Any, measurements: Any, metadata: Any) -> None:
        self.count += 1


@contextmanager
def watching_cache_hits() -> Iterator[CacheHitCount]:
    """Count the production cache hits inside the block (calls the recorder never saw)."""
    hits = CacheHitCount()
    telemetry.attach(_WATCH_ID, [telemetry.CACHE_HIT], hits)
    try:
        yield hits
    finally:
        telemetry.detach(_WATCH_ID)


_WATCH_ID = "exllm_py.testing.staleness"
