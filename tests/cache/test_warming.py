"""Cache warming: ``strategy.warm(calls)`` / ``awarm`` against the loopback provider server."""

from __future__ import annotations

import asyncio
import re
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from exllm_py import Client, MockProvider, telemetry
from exllm_py.cache import (
    MemoryStore,
    ProductionStrategy,
    WarmFailure,
    WarmProgress,
    WarmReport,
    warming,
)
from exllm_py.errors import ValidationError
from tests.fakes.payloads import openai_completion, openai_error
from tests.fakes.provider_server import (
    ProviderServer,
    RecordedRequest,
    Reply,
    default_reply,
    json_reply,
)

CHAT_PATH = re.compile(r".*/chat/completions")
API_KEY = "sk-warmtest-0123456789abcdefghijklmn"

#: Runs ``strategy.warm`` or ``strategy.awarm`` (on a loop of its own) with the same arguments.
Warm = Callable[..., WarmReport]


@pytest.fixture
def server() -> Iterator[ProviderServer]:
    with ProviderServer() as server:
        yield server


@pytest.fixture
def strategy() -> ProductionStrategy:
    return ProductionStrategy(MemoryStore(cleanup_interval=None))


@pytest.fixture(params=["warm", "awarm"])
def warm(request: pytest.FixtureRequest, strategy: ProductionStrategy) -> Warm:
    if request.param == "warm":
        return strategy.warm

    def awarm(*args: Any, **kwargs: Any) -> WarmReport:
        return asyncio.run(strategy.awarm(*args, **kwargs))

    return awarm


def question(text: str, server: ProviderServer, **options: Any) -> tuple[str, Any, Any]:
    """One call to warm, sent to the loopback server as OpenAI."""
    sent = {"base_url": server.url, "api_key": API_KEY, "model": "gpt-4o-mini", **options}
    return ("openai", [{"role": "user", "content": text}], sent)


def questions(count: int, server: ProviderServer, **options: Any) -> list[tuple[str, Any, Any]]:
    return [question(f"question {index}", server, **options) for index in range(count)]


def is_cached(strategy: ProductionStrategy, call: tuple[str, Any, Any]) -> bool:
    """Whether ``call`` made now is answered from the cache."""
    provider, messages, options = call
    with Client(cache_strategy=strategy) as client:
        return bool(client.chat(provider, messages, **options).metadata["from_cache"])


def answering(special: dict[str, Reply]) -> Callable[[RecordedRequest], Reply]:
    """A responder: the reply given for a user message's text, else the default answer."""

    def respond(request: RecordedRequest) -> Reply:
        text = request.body["messages"][-1]["content"]
        return special.get(text) or default_reply(request)

    return respond


def warming_threads() -> set[threading.Thread]:
    """The threads ``warm`` runs calls on that are alive now."""
    return {thread for thread in threading.enumerate() if thread.name.startswith("exllm-warm")}


class Gate:
    """Holds requests until ``parties`` are in flight together; records the most seen at once.

    ``peak`` counts requests at the server; ``peak_calls`` the calls the
    strategy was computing (``in_flight()``), which a call joins before its
    request is even built: an extra call shows there first.
    """

    def __init__(self, parties: int, strategy: ProductionStrategy) -> None:
        self._barrier = threading.Barrier(parties)
        self._strategy = strategy
        self._lock = threading.Lock()
        self._active = 0
        self.peak = 0
        self.peak_calls = 0

    def __call__(self, request: RecordedRequest) -> Reply:
        with self._lock:
            self._active += 1
            self.peak = max(self.peak, self._active)
        try:
            self._look()
            # Bounded only so that a run that never gathers the parties fails, not hangs.
            self._barrier.wait(timeout=10)
            self._look()
            return default_reply(request)
        finally:
            with self._lock:
                self._active -= 1  # before the reply leaves: its caller cannot send yet

    def _look(self) -> None:
        calls = self._strategy.in_flight()
        with self._lock:
            self.peak_calls = max(self.peak_calls, calls)


class TestWarming:
    """Each call is sent once and stored; what is cached already costs no request."""

    def test_every_call_is_sent_once_and_stored(
        self, warm: Warm, strategy: ProductionStrategy, server: ProviderServer
    ) -> None:
        calls = questions(5, server)
        report = warm(calls)
        assert (report.total, report.warmed, report.skipped, report.empty) == (5, 5, 0, 0)
        assert report.failed == 0
        sent = sorted(request.body["messages"][0]["content"] for request in server.requests)
        assert sent == [f"question {index}" for index in range(5)]
        assert all(is_cached(strategy, call) for call in calls)
        assert len(server.requests) == 5

    def test_a_second_run_sends_nothing(self, warm: Warm, server: ProviderServer) -> None:
        calls = questions(4, server)
        warm(calls)
        report = warm(calls)
        assert (report.warmed, report.skipped) == (0, 4)
        assert len(server.requests) == 4

    def test_a_run_sends_only_what_is_not_cached(self, warm: Warm, server: ProviderServer) -> None:
        calls = questions(6, server)
        warm(calls[:2])
        report = warm(calls)
        assert (report.warmed, report.skipped) == (4, 2)
        assert len(server.requests) == 6

    def test_identical_calls_in_one_run_are_paid_once(
        self, warm: Warm, server: ProviderServer
    ) -> None:
        report = warm([question("same", server)] * 4, concurrency=4)
        assert (report.warmed, report.skipped) == (1, 3)
        assert len(server.requests) == 1

    def test_refresh_sends_every_call_again(self, warm: Warm, server: ProviderServer) -> None:
        warm(questions(3, server))
        report = warm(questions(3, server, cache="refresh"))
        assert (report.warmed, report.skipped) == (3, 0)
        assert len(server.requests) == 6

    def test_calls_may_be_lists_as_json_lines_give_them(
        self, warm: Warm, strategy: ProductionStrategy, server: ProviderServer
    ) -> None:
        call = question("from a file", server)
        report = warm([list(call)])
        assert report.warmed == 1
        assert is_cached(strategy, call)

    def test_no_calls_make_an_empty_report(self, warm: Warm, server: ProviderServer) -> None:
        report = warm([])
        assert (report.total, report.warmed, report.skipped, report.failed) == (0, 0, 0, 0)
        assert server.requests == []

    def test_the_report_reads_as_one_line(self, warm: Warm, server: ProviderServer) -> None:
        calls = questions(3, server)
        warm(calls[:1])
        text = str(warm(calls))
        assert text.startswith("warmed 2 of 3 calls (1 already cached, 0 empty, 0 failed) in ")
        assert "\n" not in text


class TestClient:
    """Warming runs through the caller's client when given, which must use the strategy."""

    def test_the_callers_client_is_used_and_left_open(
        self, strategy: ProductionStrategy, server: ProviderServer
    ) -> None:
        with Client(cache_strategy=strategy) as client:
            report = strategy.warm(questions(2, server), client=client)
            provider, messages, options = questions(1, server)[0]
            answer = client.chat(provider, messages, **options)
        assert report.warmed == 2
        assert answer.metadata["from_cache"] is True
        assert len(server.requests) == 2

    async def test_the_callers_client_is_used_by_awarm(
        self, strategy: ProductionStrategy, server: ProviderServer
    ) -> None:
        async with Client(cache_strategy=strategy) as client:
            report = await strategy.awarm(questions(2, server), client=client)
            provider, messages, options = questions(1, server)[0]
            answer = await client.achat(provider, messages, **options)
        assert report.warmed == 2
        assert answer.metadata["from_cache"] is True

    def test_a_client_of_another_strategy_is_refused(
        self, warm: Warm, server: ProviderServer
    ) -> None:
        with (
            Client(cache_strategy=ProductionStrategy()) as other,
            pytest.raises(ValidationError, match="another cache strategy"),
        ):
            warm(questions(1, server), client=other)
        assert server.requests == []

    def test_the_refusal_names_the_other_strategy_and_the_fix(
        self, strategy: ProductionStrategy, server: ProviderServer
    ) -> None:
        with (
            Client(cache_strategy=ProductionStrategy()) as other,
            pytest.raises(ValidationError) as raised,
        ):
            strategy.warm(questions(1, server), client=other)
        assert str(raised.value) == (
            "warm client uses another cache strategy (ProductionStrategy), so the answers "
            "would not land in this one: pass Client(cache_strategy=strategy), or no client"
        )

    def test_something_else_than_a_client_is_refused(
        self, warm: Warm, server: ProviderServer
    ) -> None:
        with pytest.raises(ValidationError, match=r"warm client must be an exllm_py\.Client"):
            warm(questions(1, server), client="http://localhost")
        assert server.requests == []


class TestConcurrency:
    """At most ``concurrency`` calls are in flight at once, and that many are."""

    def test_warm_returns_with_no_thread_of_its_own_left_running(
        self, strategy: ProductionStrategy, server: ProviderServer
    ) -> None:
        before = warming_threads()
        report = strategy.warm(questions(6, server), concurrency=3)
        assert report.warmed == 6
        assert warming_threads() - before == set()

    @pytest.mark.parametrize("concurrency", [1, 3])
    def test_the_server_sees_at_most_concurrency_requests_at_once(
        self, warm: Warm, strategy: ProductionStrategy, server: ProviderServer, concurrency: int
    ) -> None:
        gate = Gate(concurrency, strategy)
        server.route(CHAT_PATH, gate)
        report = warm(questions(3 * concurrency, server, max_retries=0), concurrency)
        assert report.failures == ()
        assert server.failures == []
        # The barrier let requests through only in groups of `concurrency`, all in flight.
        assert gate.peak == concurrency
        assert gate.peak_calls == concurrency

    def test_four_at_a_time_by_default(
        self, warm: Warm, strategy: ProductionStrategy, server: ProviderServer
    ) -> None:
        gate = Gate(4, strategy)
        server.route(CHAT_PATH, gate)
        report = warm(questions(12, server, max_retries=0))
        assert report.warmed == 12
        assert (gate.peak, gate.peak_calls) == (4, 4)

    def test_a_bound_above_the_number_of_calls_runs_them_all(
        self, warm: Warm, strategy: ProductionStrategy, server: ProviderServer
    ) -> None:
        gate = Gate(2, strategy)
        server.route(CHAT_PATH, gate)
        report = warm(questions(2, server, max_retries=0), concurrency=50)
        assert report.warmed == 2
        assert gate.peak == 2

    @pytest.mark.parametrize("concurrency", [0, -1, 2.0, True, None])
    def test_a_bad_bound_is_refused(
        self, warm: Warm, server: ProviderServer, concurrency: Any
    ) -> None:
        with pytest.raises(ValidationError, match="warm concurrency must be"):
            warm(questions(1, server), concurrency)
        assert server.requests == []


class TestFailures:
    """A call that fails is reported with its index; the others are warmed all the same."""

    def test_a_provider_error_is_reported_and_the_rest_warmed(
        self, warm: Warm, strategy: ProductionStrategy, server: ProviderServer
    ) -> None:
        refused = json_reply(openai_error("this prompt is not allowed"), status=400)
        server.route(CHAT_PATH, answering({"question 2": refused}))
        calls = questions(5, server)
        report = warm(calls)
        assert (report.warmed, report.failed) == (4, 1)
        (failure,) = report.failures
        assert failure == WarmFailure(
            index=2,
            provider="openai",
            model="gpt-4o-mini",
            error_type="ProviderError",
            message=failure.message,
            status=400,
        )
        assert "this prompt is not allowed" in failure.message
        assert strategy.stats().entries == 4
        assert is_cached(strategy, calls[4])

    def test_a_failed_call_is_tried_again_by_the_next_run(
        self, warm: Warm, server: ProviderServer
    ) -> None:
        refused = json_reply(openai_error("not now"), status=400)
        server.route(CHAT_PATH, answering({"question 1": refused}))
        calls = questions(3, server)
        warm(calls)
        report = warm(calls)
        assert (report.skipped, report.failed) == (2, 1)
        assert report.failures[0].index == 1
        assert len(server.requests) == 4

    def test_failures_are_listed_by_index(self, warm: Warm, server: ProviderServer) -> None:
        refused = json_reply(openai_error("no"), status=400)
        server.route(CHAT_PATH, answering({f"question {i}": refused for i in (4, 1, 3)}))
        report = warm(questions(6, server), concurrency=3)
        assert [failure.index for failure in report.failures] == [1, 3, 4]
        assert report.warmed == 3

    def test_the_default_model_is_named_when_the_call_names_none(
        self, warm: Warm, server: ProviderServer
    ) -> None:
        server.route(CHAT_PATH, json_reply(openai_error("no"), status=400))
        provider, messages, options = question("q", server)
        del options["model"]
        (failure,) = warm([(provider, messages, options)]).failures
        assert failure.model == "gpt-4o-mini"

    def test_a_failure_never_shows_the_api_key(self, warm: Warm, server: ProviderServer) -> None:
        def echo_the_key(request: RecordedRequest) -> Reply:
            message = f"bad request from {request.headers['authorization']}"
            return json_reply(openai_error(message), status=400)

        server.route(CHAT_PATH, echo_the_key)
        report = warm(questions(1, server))
        (failure,) = report.failures
        assert API_KEY in server.last_request.headers["authorization"]
        assert "bad request from" in failure.message
        assert API_KEY not in str(failure)
        assert API_KEY not in repr(report)

    @pytest.mark.parametrize("key", ["gw8chars", "gateway-key-of-no-known-shape"])
    def test_a_key_of_no_known_shape_quoted_by_any_error_is_hidden(
        self, strategy: ProductionStrategy, key: str
    ) -> None:
        """Even an error from outside the pipeline (here the transport) never shows the call's key.

        A key is hidden by value from its eighth character up: no real key is shorter.
        """

        def quote_the_key(_messages: Any) -> str:
            raise RuntimeError(f"upstream refused key {key}")

        mock = MockProvider(quote_the_key)
        with Client(cache_strategy=strategy, mock=mock) as client:
            call = ("mock", [{"role": "user", "content": "q"}], {"api_key": key})
            (failure,) = strategy.warm([call], client=client).failures
        assert failure.error_type == "RuntimeError"
        assert failure.message == "upstream refused key [redacted]"

    def test_a_missing_key_fails_its_calls_only(self, warm: Warm, server: ProviderServer) -> None:
        provider, messages, options = question("no key", server)
        del options["api_key"]
        report = warm([(provider, messages, options), question("keyed", server)])
        assert (report.warmed, report.failed) == (1, 1)
        assert report.failures[0].error_type == "MissingAPIKey"
        assert "OPENAI_API_KEY" in report.failures[0].message
        assert len(server.requests) == 1


class TestEmptyAnswers:
    """An empty answer is paid but never stored: it counts as empty, and is sent again later."""

    def test_an_empty_answer_is_counted_apart(
        self, warm: Warm, strategy: ProductionStrategy, server: ProviderServer
    ) -> None:
        server.route(CHAT_PATH, answering({"question 0": json_reply(openai_completion(""))}))
        calls = questions(3, server)
        first = warm(calls)
        second = warm(calls)
        assert (first.warmed, first.empty) == (2, 1)
        assert (second.skipped, second.empty) == (2, 1)
        assert len(server.requests) == 4
        assert first.total == first.warmed + first.skipped + first.empty + first.failed


class TestValidation:
    """Every call is checked before any is sent; a bad one is named by its index."""

    @pytest.mark.parametrize(
        ("bad", "expected"),
        [
            ("openai", r"calls\[2\] must be a \(provider, messages, options\) tuple, got str"),
            (("openai", []), r"calls\[2\] must be .* tuple, got 2 items"),
            ((7, [{"role": "user", "content": "x"}], {}), r"calls\[2\]: the provider must be"),
            (("openai", [{"role": "user", "content": "x"}], [("model", "m")]), "options must"),
            (("nobody", [{"role": "user", "content": "x"}], {}), r"unknown provider 'nobody'"),
            (("openai", [{"role": "user", "content": "x"}], {"temprature": 1}), "temperature"),
            (("openai", [{"role": "user", "content": "x"}], {"temperature": 9}), "between 0"),
            (("openai", [], {}), r"calls\[2\]: messages is empty"),
            (("openai", [{"role": "robot", "content": "x"}], {}), "unknown role 'robot'"),
            (("openai", [{"role": "user", "content": "x"}], {"cache": False}), "cache=False"),
            (("openai", [{"role": "user", "content": "x"}], {"cache": "maybe"}), "cache must"),
        ],
    )
    def test_a_bad_call_is_named_and_nothing_is_sent(
        self,
        warm: Warm,
        strategy: ProductionStrategy,
        server: ProviderServer,
        bad: Any,
        expected: str,
    ) -> None:
        calls: list[Any] = [*questions(2, server), bad, question("after", server)]
        with pytest.raises(ValidationError, match=expected) as raised:
            warm(calls)
        assert str(raised.value).startswith("calls[2]")
        assert "nothing was sent" in str(raised.value)
        assert server.requests == []
        assert strategy.stats().entries == 0

    def test_every_bad_call_is_counted_the_first_described(
        self, warm: Warm, server: ProviderServer
    ) -> None:
        calls: list[Any] = [question("good", server), *[("openai", [], {})] * 8]
        with pytest.raises(ValidationError) as raised:
            warm(calls)
        message = str(raised.value)
        assert message.startswith("calls[1]: messages is empty")
        assert "also bad: calls[2], calls[3], calls[4], calls[5], calls[6] and 2 more" in message
        assert "(8 of 9 calls)" in message

    @pytest.mark.parametrize(
        ("bad", "named"),
        [
            (6, "also bad: calls[2], calls[3], calls[4], calls[5], calls[6] (6 of 7 calls)"),
            (7, "also bad: calls[2], calls[3], calls[4], calls[5], calls[6] and 1 more (7 of 8"),
        ],
    )
    def test_more_is_said_only_of_bad_calls_left_unnamed(
        self, warm: Warm, server: ProviderServer, bad: int, named: str
    ) -> None:
        """Five bad calls after the first are named; " and N more" only when N is at least one."""
        calls: list[Any] = [question("good", server), *[("openai", [], {})] * bad]
        with pytest.raises(ValidationError) as raised:
            warm(calls)
        assert named in str(raised.value)
        assert "more" not in str(raised.value).replace(named, "")

    @pytest.mark.parametrize("calls", ["openai", {"openai": []}, 42])
    def test_calls_must_be_a_list(self, warm: Warm, calls: Any) -> None:
        with pytest.raises(ValidationError, match="warm calls must be a list"):
            warm(calls)

    def test_a_generator_of_calls_is_read_once(self, warm: Warm, server: ProviderServer) -> None:
        report = warm(call for call in questions(3, server))
        assert (report.total, report.warmed) == (3, 3)

    def test_a_progress_that_cannot_be_called_is_refused(
        self, warm: Warm, server: ProviderServer
    ) -> None:
        with pytest.raises(ValidationError, match="warm progress"):
            warm(questions(1, server), progress="50%")
        assert server.requests == []


class TestProgress:
    """Progress is told after each call, in the caller's thread, ``done`` counting to ``total``."""

    def test_progress_counts_every_call_in_order(self, warm: Warm, server: ProviderServer) -> None:
        refused = json_reply(openai_error("no"), status=400)
        server.route(CHAT_PATH, answering({"question 3": refused}))
        calls = questions(6, server)
        warm(calls[:2])
        seen: list[WarmProgress] = []
        threads: set[int] = set()

        def progress(update: WarmProgress) -> None:
            seen.append(update)
            threads.add(threading.get_ident())

        report = warm(calls, concurrency=3, progress=progress)
        assert [update.done for update in seen] == [1, 2, 3, 4, 5, 6]
        assert {update.total for update in seen} == {6}
        assert sorted(update.index for update in seen) == list(range(6))
        outcomes = {update.index: update.outcome for update in seen}
        assert outcomes == {
            0: "skipped",
            1: "skipped",
            2: "warmed",
            3: "failed",
            4: "warmed",
            5: "warmed",
        }
        failed = next(update for update in seen if update.outcome == "failed")
        assert failed.failure == report.failures[0]
        assert threads == {threading.get_ident()}

    def test_a_progress_that_raises_is_dropped_and_warming_goes_on(
        self, warm: Warm, server: ProviderServer
    ) -> None:
        errors: list[dict[str, Any]] = []
        telemetry.attach(
            "test-warm-progress",
            [telemetry.CACHE_ERROR],
            lambda _event, _measurements, metadata: errors.append(metadata),
        )
        told: list[int] = []

        def progress(update: WarmProgress) -> None:
            told.append(update.done)
            if update.done == 2:
                raise RuntimeError("the terminal went away")

        try:
            report = warm(questions(5, server), concurrency=2, progress=progress)
        finally:
            telemetry.detach("test-warm-progress")
        assert told == [1, 2]
        assert report.warmed == 5
        assert len(server.requests) == 5
        assert report.progress_error == "RuntimeError: the terminal went away"
        reported = [meta for meta in errors if meta["reason"] == "warm_progress_failed"]
        assert len(reported) == 1
        assert reported[0]["error"] == "RuntimeError: the terminal went away"
        assert reported[0]["store"] == "MemoryStore"


class TestInterruption:
    """Only what is not an ``Exception`` stops a run, and then no further call starts."""

    def test_an_interrupt_stops_warm(
        self, strategy: ProductionStrategy, server: ProviderServer
    ) -> None:
        def progress(update: WarmProgress) -> None:
            raise KeyboardInterrupt  # as Ctrl-C would, while the caller draws its progress

        with pytest.raises(KeyboardInterrupt):
            strategy.warm(questions(4, server), concurrency=1, progress=progress)
        assert len(server.requests) == 1

    def test_an_interrupt_returns_at_once_and_the_calls_left_never_start(
        self, strategy: ProductionStrategy, server: ProviderServer
    ) -> None:
        arrived = threading.Event()
        release = threading.Event()
        outlived: list[bool] = []  # whether the held call was let go only by its bound

        def hold_question_1(request: RecordedRequest) -> Reply:
            question = request.body["messages"][-1]["content"]
            if question == "question 0":
                arrived.wait(10)  # answered once question 1 is under way, whatever the load
            if question == "question 1":
                arrived.set()
                outlived.append(not release.wait(10))
            return default_reply(request)

        def progress(update: WarmProgress) -> None:
            raise KeyboardInterrupt  # after question 0, with question 1 still under way

        server.route(CHAT_PATH, hold_question_1)
        before = warming_threads()
        try:
            with pytest.raises(KeyboardInterrupt):
                strategy.warm(questions(4, server), concurrency=2, progress=progress)
            assert outlived == []  # warm did not wait for the call under way
            assert arrived.wait(5), "question 1 never reached the server"
        finally:
            release.set()
        for thread in warming_threads() - before:
            thread.join(10)
        assert outlived == [False]
        sent = sorted(request.body["messages"][-1]["content"] for request in server.requests)
        assert sent == ["question 0", "question 1"]

    async def test_cancelling_awarm_stops_it(
        self, strategy: ProductionStrategy, server: ProviderServer
    ) -> None:
        arrived = threading.Event()
        release = threading.Event()

        def held(request: RecordedRequest) -> Reply:
            arrived.set()
            release.wait(10)
            return default_reply(request)

        server.route(CHAT_PATH, held)
        task = asyncio.create_task(strategy.awarm(questions(4, server), concurrency=1))
        try:
            await asyncio.to_thread(arrived.wait, 10)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
        finally:
            release.set()
        assert len(server.requests) == 1
        assert strategy.stats().entries == 0


class TestDryRun:
    """``warm(dry_run=True)`` checks and counts the calls, sends nothing, says what it would do."""

    def test_it_counts_the_calls_already_cached_and_sends_nothing(
        self, strategy: ProductionStrategy, server: ProviderServer
    ) -> None:
        calls = questions(3, server)
        strategy.warm(calls[:2])
        before = strategy.stats()
        report = strategy.warm(calls, dry_run=True)
        assert report == WarmReport(3, 0, 2, 0, (), 0.0, dry_run=True)
        assert str(report) == "would send 1 of 3 calls (2 already cached)"
        assert len(server.requests) == 2
        after = strategy.stats()
        assert (after.hits, after.misses) == (before.hits, before.misses)
        assert after.entries == 2  # asking whether a call is cached removed nothing

    def test_a_refresh_is_always_sent(
        self, strategy: ProductionStrategy, server: ProviderServer
    ) -> None:
        calls = questions(2, server)
        strategy.warm(calls)
        report = strategy.warm(questions(2, server, cache="refresh"), dry_run=True)
        assert (report.total, report.skipped) == (2, 0)
        assert str(report) == "would send 2 of 2 calls (0 already cached)"


class TestMessages:
    """A refused argument is named, with what was expected and what was given, in full."""

    @pytest.mark.parametrize(
        ("calls", "message"),
        [
            (42, "warm calls must be a list of (provider, messages, options) tuples, got int"),
            (
                [(7, [{"role": "user", "content": "x"}], {})],
                "calls[0]: the provider must be a name such as 'openai', got int; nothing was sent",
            ),
            (
                [("openai", [{"role": "user", "content": "x"}], [("model", "m")])],
                "calls[0]: the options must be a dict of chat() options such as "
                "{'model': 'gpt-4o-mini'}, got list; nothing was sent",
            ),
            (
                [("openai", [{"role": "user", "content": "x"}], {"cache": False})],
                "calls[0] has cache=False, which would store nothing: drop it "
                "(or use cache='refresh' to replace what is stored); nothing was sent",
            ),
        ],
        ids=["calls", "provider", "options", "cache-false"],
    )
    def test_a_bad_call(self, warm: Warm, calls: Any, message: str) -> None:
        with pytest.raises(ValidationError) as raised:
            warm(calls)
        assert str(raised.value) == message

    def test_a_bad_progress(self, warm: Warm) -> None:
        with pytest.raises(ValidationError) as raised:
            warm([], progress=3)
        assert str(raised.value) == "warm progress must be a function taking a WarmProgress, got 3"


class TestTheCallersClient:
    """The client given is the one that sends: its own transports answer."""

    def test_warm_sends_through_it(self, strategy: ProductionStrategy) -> None:
        mock = MockProvider("From the caller's mock.")
        with Client(cache_strategy=strategy, mock=mock) as client:
            report = strategy.warm(
                [("mock", [{"role": "user", "content": "q"}], {})], client=client
            )
        assert report.warmed == 1
        assert mock.calls == 1

    async def test_awarm_sends_through_it(self, strategy: ProductionStrategy) -> None:
        mock = MockProvider("From the caller's mock.")
        async with Client(cache_strategy=strategy, mock=mock) as client:
            calls = [("mock", [{"role": "user", "content": "q"}], {})]
            report = await strategy.awarm(calls, client=client)
        assert report.warmed == 1
        assert mock.calls == 1


class TestTheRun:
    """How a run reports itself and where its calls run."""

    def test_a_run_without_trouble_has_no_progress_error_and_a_true_elapsed(
        self, strategy: ProductionStrategy, server: ProviderServer
    ) -> None:
        started = time.perf_counter()
        report = strategy.warm(questions(2, server))
        took = time.perf_counter() - started
        assert report.progress_error is None
        assert 0.0 <= report.elapsed <= took

    def test_calls_run_on_threads_named_for_warming(self, strategy: ProductionStrategy) -> None:
        threads: list[str] = []

        def answer(_messages: Any) -> str:
            threads.append(threading.current_thread().name)
            return "An answer."

        with Client(cache_strategy=strategy, mock=MockProvider(answer)) as client:
            calls = [("mock", [{"role": "user", "content": f"q{n}"}], {}) for n in range(3)]
            strategy.warm(calls, client=client)
        assert len(threads) == 3
        assert all(name.startswith("exllm-warm") for name in threads), threads


class TestModuleFunctions:
    """``warming.warm`` and ``warming.awarm`` called directly send, four at a time, by default."""

    def test_warm_sends_four_at_a_time(
        self, strategy: ProductionStrategy, server: ProviderServer
    ) -> None:
        gate = Gate(4, strategy)
        server.route(CHAT_PATH, gate)
        report = warming.warm(strategy, questions(8, server, max_retries=0))
        assert (report.warmed, report.dry_run) == (8, False)
        assert gate.peak == 4

    async def test_awarm_sends_four_at_a_time(
        self, strategy: ProductionStrategy, server: ProviderServer
    ) -> None:
        gate = Gate(4, strategy)
        server.route(CHAT_PATH, gate)
        report = await warming.awarm(strategy, questions(8, server, max_retries=0))
        assert report.warmed == 8
        assert gate.peak == 4
