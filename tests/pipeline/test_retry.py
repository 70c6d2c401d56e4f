"""Retries on 429/5xx, timeouts and dropped connections, over real HTTP to the loopback server.

Each test scripts the provider server's answers, makes real calls with a
client whose retry policy notes its delays instead of sleeping them, and
asserts how many requests the server received, what the caller got, the
delays and the ``("exllm", "request", "retry")`` events.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from structlog.testing import capture_logs

from exllm_py import Client, StreamChunk, telemetry
from exllm_py.cache.nocache import NoCache
from exllm_py.errors import (
    AuthenticationError,
    ProviderError,
    RateLimitError,
    ServerError,
    TimeoutError,
    ValidationError,
)
from exllm_py.pipeline.retry import RetryPolicy
from tests.fakes.held_reply import HeldReply
from tests.fakes.payloads import SSEEvent, anthropic_error, openai_completion, openai_error
from tests.fakes.provider_server import (
    DEFAULT_TEXT,
    ProviderServer,
    disconnect_reply,
    json_reply,
    sse_reply,
)
from tests.pipeline.retry_parts import (
    AsyncBreakingTransport,
    BreakingTransport,
    NotedSleeps,
    RetryTap,
    backoff,
)

USER = [{"role": "user", "content": "Name a prime number."}]


@pytest.fixture
def client(sleeps: NotedSleeps) -> Iterator[Client]:
    with Client(cache_strategy=NoCache(), retry_policy=sleeps.policy()) as made:
        yield made


def ask(client: Client, server: ProviderServer, **options: Any) -> Any:
    return client.chat("openai", USER, base_url=server.url, **{"api_key": "k", **options})


async def _collect(chunks: AsyncIterator[StreamChunk], into: list[StreamChunk]) -> None:
    async for chunk in chunks:
        into.append(chunk)


def failing(status: int, **headers: str) -> Any:
    return json_reply(openai_error(f"failed with {status}"), status=status, headers=headers)


class TestRetriedStatuses:
    """408, 409, 429 and every 5xx are retried with backoff until an answer comes."""

    @pytest.mark.parametrize("status", [408, 409, 429, 500, 502, 503, 529])
    def test_one_failure_then_the_answer(
        self,
        client: Client,
        server: ProviderServer,
        sleeps: NotedSleeps,
        tap: RetryTap,
        status: int,
    ) -> None:
        server.enqueue(failing(status))
        answer = ask(client, server)
        assert answer.content == DEFAULT_TEXT
        assert len(server.requests) == 2
        assert server.requests[0].body == server.requests[1].body  # the same request again
        assert sleeps.delays == [backoff(1)]
        assert tap.reasons == [("status", status)]

    def test_backoff_doubles_and_the_last_error_is_raised(
        self, client: Client, server: ProviderServer, sleeps: NotedSleeps, tap: RetryTap
    ) -> None:
        server.enqueue(*(failing(503) for _ in range(5)))
        with pytest.raises(ServerError) as raised:
            ask(client, server, max_retries=4)
        assert raised.value.status == 503
        assert len(server.requests) == 5
        assert sleeps.delays == [backoff(1), backoff(2), backoff(3), backoff(4)]
        assert tap.attempts == [1, 2, 3, 4]
        assert {metadata["max_retries"] for _, metadata in tap.events} == {4}

    def test_two_retries_by_default(
        self, client: Client, server: ProviderServer, sleeps: NotedSleeps
    ) -> None:
        server.enqueue(*(failing(500) for _ in range(3)), failing(400))
        with pytest.raises(ServerError):
            ask(client, server)
        assert len(server.requests) == 3
        assert len(sleeps.delays) == 2

    def test_the_retry_event_names_the_call(
        self, client: Client, server: ProviderServer, tap: RetryTap
    ) -> None:
        server.enqueue(failing(429))
        ask(client, server, model="gpt-4o")
        ((measurements, metadata),) = tap.events
        assert measurements == {"attempt": 1, "delay_s": backoff(1)}
        assert metadata == {
            "provider": "openai",
            "model": "gpt-4o",
            "reason": "status",
            "status": 429,
            "max_retries": 2,
            "replayed": False,
        }


class TestLogged:
    """Each retry is also an info line through structlog, with no key in it."""

    def test_an_info_line_per_retry(self, client: Client, server: ProviderServer) -> None:
        server.enqueue(failing(503), failing(429))
        with capture_logs() as logs:
            telemetry.refresh_logging()
            ask(client, server, api_key="sk-secret-never-logged-0001")
        telemetry.refresh_logging()
        lines = [line for line in logs if line["event"] == "exllm.request.retry"]
        assert [(line["log_level"], line["attempt"], line["status"]) for line in lines] == [
            ("info", 1, 503),
            ("info", 2, 429),
        ]
        assert "sk-secret-never-logged-0001" not in repr(logs)


class TestNotRetried:
    """Client errors are not retried, and neither is anything the provider may have billed."""

    @pytest.mark.parametrize("status", [400, 401, 403, 404, 422])
    def test_client_errors_fail_at_once(
        self, client: Client, server: ProviderServer, sleeps: NotedSleeps, status: int
    ) -> None:
        server.enqueue(failing(status))
        with pytest.raises(ProviderError) as raised:
            ask(client, server)
        assert raised.value.status == status
        assert len(server.requests) == 1
        assert sleeps.delays == []

    def test_a_body_that_breaks_off_after_a_success_is_not_retried(
        self, server: ProviderServer, sleeps: NotedSleeps, tap: RetryTap
    ) -> None:
        transport = BreakingTransport(httpx.HTTPTransport())
        with Client(
            cache_strategy=NoCache(), transport=transport, retry_policy=sleeps.policy()
        ) as client:
            server.enqueue(json_reply(openai_completion("x" * 200_000)))
            with pytest.raises(ProviderError, match="could not reach openai"):
                ask(client, server)
        assert len(server.requests) == 1
        assert tap.events == []

    def test_a_stream_that_breaks_off_after_its_first_chunk_is_not_retried(
        self, server: ProviderServer, sleeps: NotedSleeps, tap: RetryTap
    ) -> None:
        transport = BreakingTransport(httpx.HTTPTransport())
        delivered: list[StreamChunk] = []
        with Client(
            cache_strategy=NoCache(), transport=transport, retry_policy=sleeps.policy()
        ) as client:
            chunks = client.stream("openai", USER, base_url=server.url, api_key="k")
            with pytest.raises(ProviderError, match="could not reach openai"):
                delivered.extend(chunks)
        assert delivered, "the caller got the first chunk before the break"
        assert len(server.requests) == 1
        assert tap.events == []

    async def test_an_async_stream_that_breaks_off_after_its_first_chunk_is_not_retried(
        self, server: ProviderServer, sleeps: NotedSleeps, tap: RetryTap
    ) -> None:
        """The async caller, too, gets the first chunk before the break, and no retry."""
        transport = AsyncBreakingTransport(httpx.AsyncHTTPTransport())
        delivered: list[StreamChunk] = []
        client = Client(
            cache_strategy=NoCache(), async_transport=transport, retry_policy=sleeps.policy()
        )
        try:
            chunks = client.astream("openai", USER, base_url=server.url, api_key="k")
            with pytest.raises(ProviderError, match="could not reach openai"):
                await _collect(chunks, delivered)
        finally:
            await client.aclose()
        assert delivered, "the caller got the first chunk before the break"
        assert len(server.requests) == 1
        assert tap.events == []

    def test_an_error_event_inside_a_successful_stream_is_not_retried(
        self, client: Client, server: ProviderServer, tap: RetryTap
    ) -> None:
        overloaded = anthropic_error("Overloaded", type="overloaded_error")
        server.enqueue(sse_reply([SSEEvent(overloaded, event="error")]))
        with pytest.raises(ServerError):
            list(client.stream("anthropic", USER, base_url=server.url, api_key="k"))
        assert len(server.requests) == 1
        assert tap.events == []

    def test_no_retries_when_the_budget_is_zero(
        self, client: Client, server: ProviderServer, sleeps: NotedSleeps
    ) -> None:
        server.enqueue(failing(429))
        with pytest.raises(RateLimitError):
            ask(client, server, max_retries=0)
        assert len(server.requests) == 1
        assert sleeps.delays == []


class TestProviderSays:
    """retry-after and x-should-retry are obeyed: waits within the cap, the header's verdict."""

    @pytest.mark.parametrize(
        ("headers", "delay"),
        [({"retry-after": "7"}, 7.0), ({"retry-after-ms": "1500"}, 1.5)],
    )
    def test_the_asked_wait_replaces_the_backoff(
        self,
        client: Client,
        server: ProviderServer,
        sleeps: NotedSleeps,
        headers: dict[str, str],
        delay: float,
    ) -> None:
        server.enqueue(failing(429, **headers))
        ask(client, server)
        assert sleeps.delays == [delay]
        assert len(server.requests) == 2

    def test_a_wait_beyond_the_cap_is_handed_back_not_slept(
        self, client: Client, server: ProviderServer, sleeps: NotedSleeps
    ) -> None:
        server.enqueue(failing(429, **{"retry-after": "3600"}))
        with pytest.raises(RateLimitError) as raised:
            ask(client, server)
        assert raised.value.retry_after == 3600.0
        assert len(server.requests) == 1
        assert sleeps.delays == []

    def test_the_cap_is_the_policys(self, server: ProviderServer, sleeps: NotedSleeps) -> None:
        with Client(
            cache_strategy=NoCache(), retry_policy=sleeps.policy(max_retry_after=3600)
        ) as client:
            server.enqueue(failing(429, **{"retry-after": "3600"}))
            ask(client, server)
        assert sleeps.delays == [3600.0]

    def test_should_retry_false_stops_a_retriable_status(
        self, client: Client, server: ProviderServer
    ) -> None:
        server.enqueue(failing(500, **{"x-should-retry": "false"}))
        with pytest.raises(ServerError):
            ask(client, server)
        assert len(server.requests) == 1

    def test_should_retry_true_retries_any_error_status(
        self, client: Client, server: ProviderServer
    ) -> None:
        server.enqueue(failing(400, **{"x-should-retry": "true"}))
        assert ask(client, server).content == DEFAULT_TEXT
        assert len(server.requests) == 2


class TestTransportFailures:
    """A dropped connection or a timeout before any answer is retried like a 5xx."""

    def test_a_dropped_connection_is_retried(
        self, client: Client, server: ProviderServer, tap: RetryTap
    ) -> None:
        server.enqueue(disconnect_reply())
        assert ask(client, server).content == DEFAULT_TEXT
        assert len(server.requests) == 2
        assert tap.reasons == [("connection", None)]

    def test_a_timeout_is_retried_and_each_attempt_has_the_whole_timeout(
        self, client: Client, server: ProviderServer, tap: RetryTap
    ) -> None:
        held = HeldReply()  # answers only once released: the first attempt times out
        server.enqueue(held)
        try:
            answer = ask(client, server, timeout=0.2)
        finally:
            held.release.set()
        assert answer.content == DEFAULT_TEXT
        assert len(server.requests) == 2
        assert tap.reasons == [("timeout", None)]

    def test_the_last_timeout_is_raised(self, client: Client, server: ProviderServer) -> None:
        held = [HeldReply() for _ in range(2)]
        server.enqueue(*held)
        try:
            with pytest.raises(TimeoutError):
                ask(client, server, timeout=0.2, max_retries=1)
        finally:
            for reply in held:
                reply.release.set()
        assert len(server.requests) == 2


class TestStreams:
    """A stream is retried until its status arrives; from there on, it is the caller's."""

    def test_a_stream_retries_an_error_status(
        self, client: Client, server: ProviderServer, tap: RetryTap
    ) -> None:
        server.enqueue(failing(503))
        chunks = list(client.stream("openai", USER, base_url=server.url, api_key="k"))
        assert "".join(chunk.content for chunk in chunks) == DEFAULT_TEXT
        assert len(server.requests) == 2
        assert tap.reasons == [("status", 503)]

    async def test_an_async_stream_retries_an_error_status(
        self, client: Client, server: ProviderServer, sleeps: NotedSleeps
    ) -> None:
        server.enqueue(failing(429))
        chunks = [
            chunk
            async for chunk in client.astream("openai", USER, base_url=server.url, api_key="k")
        ]
        await client.aclose()
        assert "".join(chunk.content for chunk in chunks) == DEFAULT_TEXT
        assert len(server.requests) == 2
        assert sleeps.delays == [backoff(1)]


class TestAsync:
    """achat retries as chat does, sleeping through the async sleeper."""

    async def test_achat_retries_then_answers(
        self, client: Client, server: ProviderServer, sleeps: NotedSleeps, tap: RetryTap
    ) -> None:
        server.enqueue(failing(500), failing(429, **{"retry-after": "2"}))
        answer = await client.achat("openai", USER, base_url=server.url, api_key="k")
        await client.aclose()
        assert answer.content == DEFAULT_TEXT
        assert len(server.requests) == 3
        assert sleeps.delays == [backoff(1), 2.0]
        assert tap.attempts == [1, 2]

    async def test_achat_raises_the_last_error(
        self, client: Client, server: ProviderServer
    ) -> None:
        server.enqueue(failing(500), failing(401))
        with pytest.raises(AuthenticationError):
            await client.achat("openai", USER, base_url=server.url, api_key="k")
        await client.aclose()
        assert len(server.requests) == 2

    async def test_achat_retries_a_dropped_connection(
        self, client: Client, server: ProviderServer, tap: RetryTap
    ) -> None:
        server.enqueue(disconnect_reply())
        answer = await client.achat("openai", USER, base_url=server.url, api_key="k")
        await client.aclose()
        assert answer.content == DEFAULT_TEXT
        assert len(server.requests) == 2
        assert tap.reasons == [("connection", None)]

    async def test_achat_retries_a_timeout(
        self, client: Client, server: ProviderServer, tap: RetryTap
    ) -> None:
        held = HeldReply()  # answers only once released: the first attempt times out
        server.enqueue(held)
        try:
            answer = await client.achat(
                "openai", USER, base_url=server.url, api_key="k", timeout=0.2
            )
            await client.aclose()
        finally:
            held.release.set()
        assert answer.content == DEFAULT_TEXT
        assert len(server.requests) == 2
        assert tap.reasons == [("timeout", None)]

    async def test_the_default_async_sleeper_serves_the_retry(self, server: ProviderServer) -> None:
        server.enqueue(failing(429, **{"retry-after-ms": "1"}))
        with Client(cache_strategy=NoCache(), retry_policy=RetryPolicy()) as client:
            answer = await client.achat("openai", USER, base_url=server.url, api_key="k")
            await client.aclose()
        assert answer.content == DEFAULT_TEXT
        assert len(server.requests) == 2


class TestBudget:
    """max_retries is the client's setting, which a call's own option overrides."""

    def test_the_clients_setting(self, server: ProviderServer, sleeps: NotedSleeps) -> None:
        with Client(
            cache_strategy=NoCache(), max_retries=0, retry_policy=sleeps.policy()
        ) as client:
            server.enqueue(failing(500))
            with pytest.raises(ServerError):
                ask(client, server)
        assert len(server.requests) == 1

    def test_a_calls_option_overrides_the_client(
        self, server: ProviderServer, sleeps: NotedSleeps
    ) -> None:
        with Client(
            cache_strategy=NoCache(), max_retries=0, retry_policy=sleeps.policy()
        ) as client:
            server.enqueue(failing(500))
            assert ask(client, server, max_retries=1).content == DEFAULT_TEXT
        assert len(server.requests) == 2

    def test_none_means_the_clients_setting(self, client: Client, server: ProviderServer) -> None:
        server.enqueue(failing(500))
        assert ask(client, server, max_retries=None).content == DEFAULT_TEXT
        assert len(server.requests) == 2


class TestValidation:
    """A bad max_retries is a ValidationError naming it, raised before any request."""

    @pytest.mark.parametrize("value", [-1, 1.5, True, "2"])
    def test_per_call(self, client: Client, server: ProviderServer, value: object) -> None:
        with pytest.raises(ValidationError, match="max_retries must be a whole number"):
            ask(client, server, max_retries=value)
        with pytest.raises(ValidationError, match="max_retries"):
            client.stream("openai", USER, base_url=server.url, api_key="k", max_retries=value)
        assert server.requests == []

    @pytest.mark.parametrize("value", [-3, 2.0, None, False])
    def test_on_the_client(self, value: object) -> None:
        with pytest.raises(ValidationError, match="Client max_retries"):
            Client(cache_strategy=NoCache(), max_retries=value)  # type: ignore[arg-type]

    @pytest.mark.parametrize(
        ("setting", "value"),
        [
            ("initial_delay", -0.5),
            ("initial_delay", "1"),
            ("max_delay", float("nan")),
            ("max_delay", 1e9),
            ("max_retry_after", True),
            ("sleep", "now"),
        ],
    )
    def test_the_policys_settings(self, setting: str, value: object) -> None:
        """A negative, non-numeric, boolean or billion-second setting names the setting."""
        with pytest.raises(ValidationError, match=f"RetryPolicy {setting}"):
            RetryPolicy(**{setting: value})  # type: ignore[arg-type]


class TestPolicySettings:
    """The policy's delays take any number of seconds from 0 up to, not including, a billion."""

    def test_a_zero_delay_retries_at_once(self, server: ProviderServer) -> None:
        """``initial_delay=0`` is a valid policy: the retry follows the failure without a sleep."""
        sleeps = NotedSleeps()
        policy = sleeps.policy(initial_delay=0, max_delay=999_999_999.0)
        with Client(cache_strategy=NoCache(), retry_policy=policy) as client:
            server.enqueue(failing(500))
            assert ask(client, server).content == DEFAULT_TEXT
        assert len(server.requests) == 2
        assert sleeps.delays == []
