"""The rules behind stale interactions: ids, complete uses, and what is never called stale."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import attrs

import exllm_py
from exllm_py.cache import MemoryStore, ProductionStrategy
from exllm_py.testing.cassette_file import (
    Body,
    CassetteFile,
    Interaction,
    RecordedRequest,
    RecordedResponse,
    read_cassette,
    write_cassette,
)
from exllm_py.testing.staleness import (
    CassettePlays,
    CassetteUse,
    interaction_id,
    stale_indexes,
    watching_cache_hits,
)
from exllm_py.testing.usage import UsageLog
from tests.fakes import ProviderServer

EARLY = datetime(2026, 1, 1, tzinfo=UTC)
LATE = datetime(2026, 2, 1, tzinfo=UTC)


def _interaction(prompt: str, *, recorded_at: str = "2026-01-01T00:00:00Z") -> Interaction:
    return Interaction(
        RecordedRequest(
            "POST",
            "https://api.openai.com/v1/chat/completions?key=k",
            (("content-type", "application/json"),),
            Body("json", {"messages": [{"role": "user", "content": prompt}], "model": "m"}),
        ),
        RecordedResponse(200, (), Body("json", {"ok": True})),
        recorded_at,
    )


def _use(held: list[Interaction], played: list[Interaction], *, complete: bool) -> CassetteUse:
    return CassetteUse(
        frozenset(map(interaction_id, held)), frozenset(map(interaction_id, played)), complete
    )


class TestInteractionId:
    """An interaction has the same id in memory and once written, and differs by what it asks."""

    def test_the_written_copy_has_the_same_id(self, tmp_path: Path) -> None:
        recorded = _interaction("hello")
        path = tmp_path / "c.json"
        write_cassette(path, CassetteFile((recorded,)), secrets={})
        [stored] = read_cassette(path).interactions
        assert stored.request.url != recorded.request.url  # the writer redacted it
        assert interaction_id(stored) == interaction_id(recorded)

    def test_the_order_of_a_json_bodys_keys_does_not_change_the_id(self) -> None:
        # A cassette whose keys a formatter or a hand edit reordered still
        # holds the interactions its usage log names, so none turns stale.
        written = _interaction("hello")
        body = written.request.body.value
        reordered = attrs.evolve(
            written,
            request=attrs.evolve(
                written.request, body=Body("json", dict(reversed(list(body.items()))))
            ),
        )
        assert list(reordered.request.body.value) != list(body)
        assert interaction_id(reordered) == interaction_id(written)

    def test_the_id_is_the_one_earlier_runs_kept(self) -> None:
        # Ids outlive the run that computed them, in the usage log: ids
        # computed another way after an upgrade would make every recording
        # look stale (and clean --stale delete it) until its test passed again.
        assert interaction_id(_interaction("hello")) == "80c2fe5b74bc2476"

    def test_prompt_and_time_tell_interactions_apart(self) -> None:
        ids = {
            interaction_id(_interaction("a")),
            interaction_id(_interaction("b")),
            interaction_id(_interaction("a", recorded_at="2026-01-02T00:00:00Z")),
        }
        assert len(ids) == 3


class TestCompleteUses:
    """Only a passing run decides what is stale; failing runs only add what they played."""

    def test_a_passing_run_replaces_the_record(self) -> None:
        a, b = _interaction("a"), _interaction("b")
        plays = CassettePlays().after(_use([a, b], [a, b], complete=True), EARLY)
        plays = plays.after(_use([a, b], [a], complete=True), LATE)
        assert plays.complete == LATE
        assert stale_indexes([a, b], plays) == [1]

    def test_a_failing_run_adds_its_plays_and_keeps_the_last_complete_use(self) -> None:
        a, b = _interaction("a"), _interaction("b")
        plays = CassettePlays().after(_use([a, b], [a], complete=True), EARLY)
        plays = plays.after(_use([], [b], complete=False), LATE)
        assert plays.complete == EARLY
        assert stale_indexes([a, b], plays) == []

    def test_without_a_complete_use_nothing_is_stale(self) -> None:
        a = _interaction("a")
        plays = CassettePlays().after(_use([], [], complete=False), LATE)
        assert stale_indexes([a], plays) == []

    def test_an_interaction_the_cassette_did_not_hold_is_not_stale(self) -> None:
        a, pulled = _interaction("a"), _interaction("pulled later")
        plays = CassettePlays().after(_use([a], [a], complete=True), EARLY)
        assert stale_indexes([a, pulled], plays) == []


class TestKeptInTheUsageLog:
    """Plays survive the round trip through usage.json, per cassette, and bad data reads as none."""

    def test_round_trip(self, tmp_path: Path) -> None:
        log = UsageLog(tmp_path / "state", tmp_path / "cassettes", tmp_path)
        a, b = _interaction("a"), _interaction("b")
        cassette = log.cassette_dir / "m/t.json"
        log.record([cassette], LATE, {cassette: _use([a, b], [b], complete=True)})
        assert log.plays() == {
            "m/t.json": CassettePlays(
                LATE, frozenset(map(interaction_id, [a, b])), frozenset({interaction_id(b)})
            )
        }

    def test_unreadable_entries_read_as_no_complete_use(self) -> None:
        assert CassettePlays.from_json({"complete": "yesterday", "played": ["x"]}) == (
            CassettePlays(None, frozenset(), frozenset({"x"}))
        )
        assert CassettePlays.from_json(["not", "a", "mapping"]) == CassettePlays()
        assert CassettePlays.from_json({"held": "x", "played": [1, "y"]}).played == {"y"}


class TestWatchingCacheHits:
    """The production cache hits inside the block are counted, each one, and none after it."""

    def test_each_hit_inside_the_block_counts_once(self) -> None:
        messages = [{"role": "user", "content": "Count my hits."}]
        with (
            ProviderServer() as server,
            exllm_py.Client(cache_strategy=ProductionStrategy(MemoryStore())) as client,
        ):

            def ask() -> None:
                client.chat("openai", messages, base_url=server.url, api_key="k")

            with watching_cache_hits() as hits:
                ask()  # a miss: stored, not counted
                ask()
                ask()
            ask()  # after the block: not counted
            assert len(server.requests) == 1
        assert hits.count == 2
