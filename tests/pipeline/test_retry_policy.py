"""The retry decision without I/O: which failures, how long to wait, and the budget.

:class:`~exllm_py.pipeline.retry.Failure` is read from the ``httpx.Response``
and exception values the exchange sees; the policy decides from it alone.
"""

from __future__ import annotations

import httpx
import pytest

from exllm_py.extensions import FROM_CACHE
from exllm_py.pipeline.retry import Failure, Retry, RetryPolicy
from tests.fakes.payloads import gemini_error, openai_error

REQUEST = httpx.Request("POST", "https://api.example.test/v1/chat/completions")


def response(status: int, headers: dict[str, str] | None = None, **extensions: object) -> Failure:
    made = httpx.Response(
        status, json=openai_error("no"), headers=headers, extensions=dict(extensions)
    )
    return Failure.of_response(made)


def fixed(jitter: float) -> RetryPolicy:
    return RetryPolicy(jitter=lambda: jitter)


class TestWhatIsRetried:
    """408, 409, 429, 5xx and transport failures are retried; other statuses are not."""

    @pytest.mark.parametrize("status", [408, 409, 429, 500, 503, 529, 599])
    def test_retried_statuses(self, status: int) -> None:
        assert RetryPolicy().retryable(response(status))

    @pytest.mark.parametrize("status", [400, 401, 403, 404, 413, 422])
    def test_client_errors(self, status: int) -> None:
        assert not RetryPolicy().retryable(response(status))

    @pytest.mark.parametrize(
        ("error", "reason"),
        [
            (httpx.ConnectError("refused"), "connection"),
            (httpx.RemoteProtocolError("server disconnected"), "connection"),
            (httpx.ReadError("reset"), "connection"),
            (httpx.ReadTimeout("slow"), "timeout"),
            (httpx.ConnectTimeout("slow"), "timeout"),
            (httpx.PoolTimeout("busy"), "timeout"),
        ],
    )
    def test_transport_failures(self, error: httpx.TransportError, reason: str) -> None:
        failure = Failure.of_exception(error)
        assert failure is not None
        assert failure.reason == reason
        assert RetryPolicy().retryable(failure)

    @pytest.mark.parametrize(
        "error",
        [
            httpx.UnsupportedProtocol("ftp://"),
            httpx.LocalProtocolError("bad header"),
            httpx.ProxyError("407"),
        ],
    )
    def test_failures_of_our_own_making(self, error: httpx.TransportError) -> None:
        assert Failure.of_exception(error) is None

    @pytest.mark.parametrize(("value", "expected"), [("true", True), ("false", False)])
    def test_should_retry_header_decides(self, value: str, expected: bool) -> None:
        assert RetryPolicy().retryable(response(400, {"x-should-retry": value})) is expected
        assert RetryPolicy().retryable(response(503, {"x-should-retry": value})) is expected

    def test_only_the_exact_header_values_count(self) -> None:
        assert response(400, {"x-should-retry": "yes"}).should_retry is None
        assert not RetryPolicy().retryable(response(400, {"x-should-retry": "TRUE"}))

    def test_a_wait_beyond_the_cap_is_not_retried_even_if_asked_to(self) -> None:
        failure = response(429, {"retry-after": "61", "x-should-retry": "true"})
        assert not RetryPolicy().retryable(failure)
        assert RetryPolicy(max_retry_after=61).retryable(failure)


class TestDelays:
    """Backoff 0.5 s doubling to 8 s, shortened by up to a quarter; asked waits honoured."""

    @pytest.mark.parametrize(
        ("retries_done", "expected"),
        [(0, 0.5), (1, 1.0), (2, 2.0), (3, 4.0), (4, 8.0), (5, 8.0), (10_000, 8.0)],
    )
    def test_exponential_backoff_without_jitter(self, retries_done: int, expected: float) -> None:
        assert fixed(0.0).delay(response(503), retries_done) == expected

    @pytest.mark.parametrize("jitter", [0.0, 0.3, 0.999])
    def test_jitter_shortens_by_up_to_a_quarter(self, jitter: float) -> None:
        assert fixed(jitter).delay(response(503), 1) == pytest.approx(1.0 * (1 - 0.25 * jitter))

    def test_the_backoff_is_the_policys(self) -> None:
        policy = RetryPolicy(initial_delay=0.1, max_delay=0.3, jitter=lambda: 0.0)
        delays = [policy.delay(response(500), done) for done in range(4)]
        assert delays == [0.1, 0.2, 0.3, 0.3]

    @pytest.mark.parametrize(
        ("headers", "asked"),
        [
            ({"retry-after": "3"}, 3.0),
            ({"retry-after": "2.5"}, 2.5),
            ({"retry-after-ms": "250"}, 0.25),
            ({"retry-after-ms": "250", "retry-after": "9"}, 0.25),
            ({"retry-after": "60"}, 60.0),
        ],
    )
    def test_the_asked_wait(self, headers: dict[str, str], asked: float) -> None:
        assert fixed(0.9).delay(response(429, headers), 3) == asked

    def test_gemini_asks_in_its_body(self) -> None:
        body = gemini_error("Quota exceeded", code=429, status="RESOURCE_EXHAUSTED")
        body["error"]["details"] = [
            {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "13s"}
        ]
        failure = Failure.of_response(httpx.Response(429, json=body))
        assert fixed(0.0).delay(failure, 0) == 13.0

    @pytest.mark.parametrize("headers", [{"retry-after": "0"}, {"retry-after": "soon"}, {}])
    def test_no_usable_wait_falls_back_to_the_backoff(self, headers: dict[str, str]) -> None:
        assert fixed(0.0).delay(response(429, headers), 2) == 2.0

    def test_a_replayed_failure_is_retried_at_once(self) -> None:
        failure = response(429, {"retry-after": "30"}, **{FROM_CACHE: {"cassette": "c.json"}})
        assert failure.replayed
        assert RetryPolicy().delay(failure, 0) == 0.0


class TestBudget:
    """decide() retries until max_retries are spent, numbering the retries from 1."""

    def test_numbered_until_spent(self) -> None:
        policy, failure = fixed(0.0), response(500)
        decisions = [policy.decide(failure, done, 3) for done in range(4)]
        assert decisions == [
            Retry(1, 0.5, failure),
            Retry(2, 1.0, failure),
            Retry(3, 2.0, failure),
            None,
        ]

    def test_zero_means_never(self) -> None:
        assert RetryPolicy().decide(response(503), 0, 0) is None

    def test_a_final_status_spends_nothing(self) -> None:
        assert RetryPolicy().decide(response(401), 0, 5) is None
