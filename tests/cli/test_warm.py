"""``exllm-cache warm``: a real DiskStore filled from a file of calls, or from recorded cassettes.

The calls go over loopback HTTP to the provider server; the proof that a
store is warm is a later client, in production, answered with no request
reaching the server.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from exllm_py import Client
from exllm_py.cache.nocache import NoCache
from exllm_py.cache.production import ProductionStrategy
from exllm_py.cache.stores.disk import DiskStore
from exllm_py.testing.strategy import TestStrategy, use_cassette
from tests.cli.conftest import Result
from tests.fakes import ProviderServer, json_reply, openai_completion, openai_error
from tests.fakes.provider_server import provider_server

__all__ = ["provider_server"]

KEY = {"OPENAI_API_KEY": "sk-warm-cli-0001"}


def ask(text: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": text}]


@pytest.fixture
def disk(tmp_path: Path) -> Path:
    return tmp_path / "store"


@pytest.fixture(autouse=True)
def _key(monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI's calls read the key from the environment, as a user's shell gives it."""
    monkeypatch.setenv("OPENAI_API_KEY", KEY["OPENAI_API_KEY"])


@pytest.fixture
def production(disk: Path) -> Iterator[Callable[[], Client]]:
    """Clients answering from the DiskStore through a production strategy, made on demand."""
    clients: list[Client] = []

    def build() -> Client:
        clients.append(Client(cache_strategy=ProductionStrategy(DiskStore(disk)), env=KEY))
        return clients[-1]

    yield build
    for client in clients:
        client.close()


def calls_file(tmp_path: Path, server: ProviderServer, questions: list[str]) -> Path:
    """A JSONL file of calls to the server, one per question, in both accepted shapes."""
    lines = []
    for index, question in enumerate(questions):
        options = {"base_url": f"{server.url}/v1", "model": "gpt-4o-mini"}
        if index % 2:
            lines.append(orjson.dumps(["openai", ask(question), options]))
        else:
            call = {"provider": "openai", "messages": ask(question), "options": options}
            lines.append(orjson.dumps(call))
    path = tmp_path / "calls.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n\n")
    return path


class TestFromAFileOfCalls:
    """``warm FILE.jsonl`` makes the calls not cached yet, and the store serves them later."""

    def test_the_calls_are_made_once_and_served_from_the_store_afterwards(
        self,
        cli: Callable[..., Result],
        tmp_path: Path,
        disk: Path,
        provider_server: ProviderServer,
        production: Callable[[], Client],
    ) -> None:
        questions = ["one", "two", "three"]
        path = calls_file(tmp_path, provider_server, questions)
        store = ("--store", "disk", "--path", str(disk))
        result = cli("warm", str(path), *store)
        assert result.code == 0, result.err
        assert result.out.startswith("warmed 3 of 3 calls (0 already cached, 0 empty, 0 failed)")
        assert len(provider_server.requests) == 3

        again = cli("warm", str(path), *store, "--json")
        assert again.json()["skipped"] == 3  # type: ignore[index]
        client = production()
        for question in questions:
            answer = client.chat(
                "openai", ask(question), model="gpt-4o-mini", base_url=f"{provider_server.url}/v1"
            )
            assert answer.metadata["from_cache"] is True
        assert len(provider_server.requests) == 3

    def test_a_dry_run_counts_what_it_would_send(
        self,
        cli: Callable[..., Result],
        tmp_path: Path,
        disk: Path,
        provider_server: ProviderServer,
    ) -> None:
        path = calls_file(tmp_path, provider_server, ["one", "two"])
        store = ("--store", "disk", "--path", str(disk))
        assert cli("warm", str(path), *store).code == 0
        path = calls_file(tmp_path, provider_server, ["one", "two", "three"])
        result = cli("warm", str(path), *store, "--dry-run")
        assert result.code == 0, result.err
        assert result.out.startswith("would send 1 of 3 calls (2 already cached in the disk store")
        assert len(provider_server.requests) == 2

    def test_a_failed_call_is_listed_and_fails_the_command(
        self,
        cli: Callable[..., Result],
        tmp_path: Path,
        disk: Path,
        provider_server: ProviderServer,
    ) -> None:
        """The others are still warmed; exit status 1, and the failure on stderr, keyless."""
        provider_server.enqueue(json_reply(openai_error("bad model"), status=400))
        path = calls_file(tmp_path, provider_server, ["only"])
        result = cli("warm", str(path), "--store", "disk", "--path", str(disk))
        assert result.code == 1
        assert "failed: calls[0] openai/gpt-4o-mini: ProviderError: " in result.err
        assert "bad model" in result.err
        assert KEY["OPENAI_API_KEY"] not in result.err + result.out

    @pytest.mark.parametrize(
        ("line", "expected"),
        [
            (b"{not json", ":1: not JSON"),
            (b'["openai", []]', ":1: a call is"),
            (b'{"provider": "openai", "messages": [], "prompt": "x"}', "unknown field(s) prompt"),
        ],
    )
    def test_a_bad_line_is_named_by_file_and_number(
        self,
        cli: Callable[..., Result],
        tmp_path: Path,
        disk: Path,
        line: bytes,
        expected: str,
        provider_server: ProviderServer,
    ) -> None:
        path = tmp_path / "calls.jsonl"
        path.write_bytes(line + b"\n")
        result = cli("warm", str(path), "--store", "disk", "--path", str(disk))
        assert result.code == 1
        assert f"{path}" in result.err
        assert expected in result.err
        assert provider_server.requests == []

    def test_an_invalid_call_stops_the_run_before_anything_is_sent(
        self,
        cli: Callable[..., Result],
        tmp_path: Path,
        disk: Path,
        provider_server: ProviderServer,
    ) -> None:
        """A call the pipeline would refuse (temperature 7) names its index; nothing goes out."""
        path = calls_file(tmp_path, provider_server, ["fine", "fine too"])
        bad = ["openai", ask("hot"), {"temperature": 7, "base_url": f"{provider_server.url}/v1"}]
        path.write_bytes(path.read_bytes() + orjson.dumps(bad) + b"\n")
        result = cli("warm", str(path), "--store", "disk", "--path", str(disk))
        assert result.code == 1
        assert "calls[2]" in result.err
        assert "temperature" in result.err
        assert provider_server.requests == []


class TestFromCassettes:
    """``warm --from-cassettes DIR`` stores what the suite recorded, under live calls' keys."""

    def record(self, server: ProviderServer, cassettes: Path, questions: list[str]) -> None:
        """Record one call per question, each in its own cassette, through the test cache."""
        with Client(cache_strategy=TestStrategy(NoCache()), env=KEY) as recorder:
            for question in questions:
                server.enqueue(json_reply(openai_completion(f"About {question}.")))
                with use_cassette(cassettes / "tests.test_app" / f"test_{question}.json"):
                    recorder.chat("openai", ask(question), base_url=f"{server.url}/v1")

    def test_recorded_answers_are_served_without_a_request(
        self,
        cli: Callable[..., Result],
        tmp_path: Path,
        disk: Path,
        provider_server: ProviderServer,
        production: Callable[[], Client],
    ) -> None:
        cassettes = tmp_path / "recorded"
        self.record(provider_server, cassettes, ["rome", "oslo"])
        recorded = len(provider_server.requests)
        args = ("--from-cassettes", str(cassettes), "--store", "disk", "--path", str(disk))
        result = cli("warm", *args, "--tag", "from-cassettes")
        assert result.code == 0, result.err
        assert result.out.startswith("stored 2 entries from 2 of 2 recorded interactions")
        client = production()
        for question in ["rome", "oslo"]:
            answer = client.chat("openai", ask(question), base_url=f"{provider_server.url}/v1")
            assert (answer.content, answer.metadata["from_cache"]) == (f"About {question}.", True)
        assert len(provider_server.requests) == recorded
        tagged = cli(
            "invalidate", "--store", "disk", "--path", str(disk), "--tag", "from-cassettes"
        )
        assert tagged.out.startswith("removed 2 entries")

    def test_the_json_report_counts_what_was_skipped_and_why(
        self,
        cli: Callable[..., Result],
        tmp_path: Path,
        disk: Path,
        provider_server: ProviderServer,
    ) -> None:
        cassettes = tmp_path / "recorded"
        self.record(provider_server, cassettes, ["rome"])
        provider_server.enqueue(json_reply(openai_error("nope"), status=400))
        with (
            Client(cache_strategy=TestStrategy(NoCache()), env=KEY, max_retries=0) as recorder,
            use_cassette(cassettes / "tests.test_app" / "test_error.json"),
            pytest.raises(Exception, match="nope"),
        ):
            recorder.chat("openai", ask("error"), base_url=f"{provider_server.url}/v1")
        args = ("--from-cassettes", str(cassettes), "--store", "disk", "--path", str(disk))
        DiskStore(disk).close()  # a dry run reads an existing store
        report: Any = cli("warm", *args, "--dry-run", "--json").json()
        assert (report["stored"], report["dry_run"]) == (1, True)
        assert report["skipped"] == {"error response": 1}

    def test_a_missing_directory_is_named(
        self, cli: Callable[..., Result], tmp_path: Path, disk: Path
    ) -> None:
        missing = tmp_path / "nowhere"
        result = cli(
            "warm", "--from-cassettes", str(missing), "--store", "disk", "--path", str(disk)
        )
        assert result.code == 1
        assert f"{missing} is not a directory of cassettes" in result.err


class TestUsage:
    """Options that do not go together are usage errors (status 2)."""

    def test_a_file_and_cassettes_at_once(self, cli: Callable[..., Result], tmp_path: Path) -> None:
        result = cli("warm", "calls.jsonl", "--from-cassettes", str(tmp_path), "--store", "disk")
        assert result.code == 2
        assert "warm takes FILE.jsonl or --from-cassettes DIR (one of them)" in result.err

    def test_tags_go_with_cassettes_only(self, cli: Callable[..., Result]) -> None:
        result = cli("warm", "calls.jsonl", "--tag", "t", "--store", "disk")
        assert result.code == 2
        assert "--cache-namespace and --tag go with --from-cassettes" in result.err

    def test_concurrency_is_a_positive_number(self, cli: Callable[..., Result]) -> None:
        result = cli("warm", "calls.jsonl", "--concurrency", "0", "--store", "disk")
        assert result.code == 2
        assert "'0' is not a whole number of 1 or more" in result.err


class TestTheStoreComesFirst:
    """Warming never costs the application's entries, its statistics or a paid answer."""

    def test_a_store_that_does_not_answer_stops_it_before_any_call(
        self, cli: Callable[..., Result], tmp_path: Path, provider_server: ProviderServer
    ) -> None:
        """Redis down: exit 1 naming the store, and no provider call paid for nothing."""
        path = calls_file(tmp_path, provider_server, ["one"])
        closed = "redis://127.0.0.1:1/0"
        result = cli("warm", str(path), "--store", "redis", "--redis", closed)
        assert result.code == 1
        assert "does not answer" in result.err
        assert "nothing was sent" in result.err
        assert provider_server.requests == []

    def test_the_byte_bound_of_the_environment_is_kept(
        self,
        cli: Callable[..., Result],
        tmp_path: Path,
        disk: Path,
        provider_server: ProviderServer,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        """``$EXLLM_CACHE_MAX_BYTES`` bounds what warming stores, as it bounds the application."""
        monkeypatch.setenv("EXLLM_CACHE_MAX_BYTES", "3K")
        path = calls_file(tmp_path, provider_server, [f"question {n}" for n in range(8)])
        assert cli("warm", str(path), "--store", "disk", "--path", str(disk)).code == 0
        assert 0 < DiskStore(disk).stats().bytes <= 3 * 1024

    def test_warming_from_cassettes_counts_no_hit_or_miss(
        self,
        cli: Callable[..., Result],
        tmp_path: Path,
        disk: Path,
        provider_server: ProviderServer,
    ) -> None:
        """The store's own counts (``exllm-cache stats``) see no traffic from housekeeping."""
        cassettes = tmp_path / "recorded"
        TestFromCassettes().record(provider_server, cassettes, ["rome", "oslo"])
        args = ("--from-cassettes", str(cassettes), "--store", "disk", "--path", str(disk))
        assert cli("warm", *args).code == 0
        assert cli("warm", *args).code == 0  # the second run finds both cached
        usage = DiskStore(disk).usage()
        assert (usage.hits, usage.misses) == (0, 0)

    def test_json_stays_json_when_the_store_warns(
        self,
        cli: Callable[..., Result],
        tmp_path: Path,
        disk: Path,
        provider_server: ProviderServer,
    ) -> None:
        """A store warning (a value that does not decode) goes to stderr, not into the JSON."""
        path = calls_file(tmp_path, provider_server, ["one"])
        store = ("--store", "disk", "--path", str(disk))
        assert cli("warm", str(path), *store).code == 0
        with sqlite3.connect(disk / "responses.sqlite3") as database:
            database.execute("UPDATE entries SET value = x'00'")
        result = cli("warm", str(path), *store, "--json")
        assert result.code == 0, result.err
        assert result.json()["warmed"] == 1  # type: ignore[index]
        assert "corrupt" in result.err


class TestTtl:
    """``--ttl`` says how long what warming stores lives (the store's 900 s otherwise)."""

    def lifetimes(self, disk: Path) -> set[float | None]:
        with sqlite3.connect(disk / "responses.sqlite3") as database:
            rows = database.execute("SELECT expires_at - stored_at FROM entries").fetchall()
        return {None if life is None else round(life) for (life,) in rows}

    def test_calls_without_a_ttl_of_their_own_get_it(
        self,
        cli: Callable[..., Result],
        tmp_path: Path,
        disk: Path,
        provider_server: ProviderServer,
    ) -> None:
        path = calls_file(tmp_path, provider_server, ["one", "two"])
        result = cli("warm", str(path), "--store", "disk", "--path", str(disk), "--ttl", "86400")
        assert result.code == 0, result.err
        assert self.lifetimes(disk) == {86400}

    def test_cassette_entries_can_live_for_ever(
        self,
        cli: Callable[..., Result],
        tmp_path: Path,
        disk: Path,
        provider_server: ProviderServer,
    ) -> None:
        cassettes = tmp_path / "recorded"
        TestFromCassettes().record(provider_server, cassettes, ["rome"])
        args = ("--from-cassettes", str(cassettes), "--store", "disk", "--path", str(disk))
        assert cli("warm", *args, "--ttl", "none").code == 0
        assert self.lifetimes(disk) == {None}

    def test_the_default_is_the_stores(
        self,
        cli: Callable[..., Result],
        tmp_path: Path,
        disk: Path,
        provider_server: ProviderServer,
    ) -> None:
        path = calls_file(tmp_path, provider_server, ["one"])
        assert cli("warm", str(path), "--store", "disk", "--path", str(disk)).code == 0
        assert self.lifetimes(disk) == {900}

    @pytest.mark.parametrize("ttl", ["0", "-5", "soon", "nan"])
    def test_a_bad_ttl_is_a_usage_error(self, cli: Callable[..., Result], ttl: str) -> None:
        result = cli("warm", "calls.jsonl", "--store", "disk", "--ttl", ttl)
        assert result.code == 2
        assert "is not a TTL" in result.err


class TestDryRunAgreesWithTheRun:
    """A dry run checks the calls as the run does, and counts a refresh as a call."""

    def test_a_refresh_would_be_sent_even_when_cached(
        self,
        cli: Callable[..., Result],
        tmp_path: Path,
        disk: Path,
        provider_server: ProviderServer,
    ) -> None:
        path = calls_file(tmp_path, provider_server, ["one"])
        store = ("--store", "disk", "--path", str(disk))
        assert cli("warm", str(path), *store).code == 0
        refresh = [
            "openai",
            ask("one"),
            {"base_url": f"{provider_server.url}/v1", "cache": "refresh"},
        ]
        path.write_bytes(path.read_bytes() + orjson.dumps(refresh) + b"\n")
        result = cli("warm", str(path), *store, "--dry-run")
        assert result.out.startswith("would send 1 of 2 calls (1 already cached")

    def test_a_bad_call_fails_the_dry_run_too(
        self,
        cli: Callable[..., Result],
        tmp_path: Path,
        disk: Path,
        provider_server: ProviderServer,
    ) -> None:
        path = tmp_path / "calls.jsonl"
        path.write_bytes(orjson.dumps(["nosuch", ask("q"), {}]) + b"\n")
        DiskStore(disk).close()
        result = cli("warm", str(path), "--store", "disk", "--path", str(disk), "--dry-run")
        assert result.code == 1
        assert "calls[0]" in result.err
        assert "nosuch" in result.err

    def test_a_dry_run_needs_an_existing_store(
        self,
        cli: Callable[..., Result],
        tmp_path: Path,
        disk: Path,
        provider_server: ProviderServer,
    ) -> None:
        path = calls_file(tmp_path, provider_server, ["one"])
        result = cli("warm", str(path), "--store", "disk", "--path", str(disk), "--dry-run")
        assert result.code == 1
        assert f"no disk store at {disk}" in result.err
        assert not disk.exists()
