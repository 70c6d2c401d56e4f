"""Tests of the mapping from HTTP error responses to exllm_py errors."""

from __future__ import annotations

import pickle
from datetime import UTC, datetime
from email.utils import format_datetime

import httpx
import orjson
import pytest

from exllm_py.errors import (
    AuthenticationError,
    ProviderError,
    RateLimitError,
    ServerError,
)
from exllm_py.providers.anthropic import AnthropicAdapter
from exllm_py.providers.gemini import GeminiAdapter
from exllm_py.providers.http_errors import (
    error_class_for,
    error_for_response,
    retry_after_seconds,
    stream_error,
)
from exllm_py.providers.openai import OpenAIAdapter
from tests.fakes import anthropic_error, gemini_error, openai_error

OPENAI = OpenAIAdapter()
# Built at run time so that no key-shaped literal sits in the repository.
OPENAI_KEY = "sk-" + "proj-" + "A1b2C3d4e5" * 5
GROQ_KEY = "gsk_" + "Zx9Wv8Ut7S" * 5


def error(
    status: int,
    body: object = None,
    headers: dict[str, str] | None = None,
    *,
    provider: str = "openai",
) -> ProviderError:
    content = body if isinstance(body, bytes) else orjson.dumps(body)
    return error_for_response(
        status, httpx.Headers(headers or {}), content, provider=provider, adapter=OPENAI
    )


class TestErrorClasses:
    """Each status class maps to its exception, carrying status, provider and decoded body."""

    @pytest.mark.parametrize(
        ("status", "error_class"),
        [
            (400, ProviderError),
            (401, AuthenticationError),
            (403, AuthenticationError),
            (404, ProviderError),
            (429, RateLimitError),
            (500, ServerError),
            (502, ServerError),
            (503, ServerError),
            (529, ServerError),
        ],
    )
    def test_status_to_class(self, status: int, error_class: type[ProviderError]) -> None:
        body = openai_error("nope")
        raised = error(status, body)
        assert type(raised) is error_class
        assert error_class_for(status) is error_class
        assert raised.status == status
        assert raised.provider == "openai"
        assert raised.body == body

    def test_message_names_provider_status_and_detail(self) -> None:
        raised = error(401, openai_error("Incorrect API key provided", code="invalid_api_key"))
        assert str(raised) == "openai answered 401 Unauthorized: Incorrect API key provided"

    def test_unregistered_status_has_no_reason_phrase(self) -> None:
        raised = error_for_response(
            529,
            httpx.Headers(),
            orjson.dumps(anthropic_error("Overloaded", type="overloaded_error")),
            provider="anthropic",
            adapter=AnthropicAdapter(),
        )
        assert str(raised) == "anthropic answered 529: Overloaded"

    def test_gemini_error_body(self) -> None:
        raised = error_for_response(
            400,
            httpx.Headers(),
            orjson.dumps(gemini_error("API key not valid. Please pass a valid API key.")),
            provider="gemini",
            adapter=GeminiAdapter(),
        )
        assert str(raised) == (
            "gemini answered 400 Bad Request: API key not valid. Please pass a valid API key."
        )

    def test_body_that_is_not_json_is_kept_as_text(self) -> None:
        raised = error(502, b"<html><body>Bad Gateway</body></html>")
        assert raised.body == "<html><body>Bad Gateway</body></html>"
        assert (
            str(raised) == "openai answered 502 Bad Gateway: <html><body>Bad Gateway</body></html>"
        )

    def test_empty_body(self) -> None:
        raised = error(503, b"")
        assert raised.body == ""
        assert str(raised) == "openai answered 503 Service Unavailable: the response body was empty"

    def test_long_detail_is_clipped(self) -> None:
        raised = error(500, b"x" * 5000)
        assert len(str(raised)) < 600

    def test_errors_survive_pickling(self) -> None:
        raised = error(429, openai_error("slow down"), {"retry-after": "3"})
        copy = pickle.loads(pickle.dumps(raised))
        assert isinstance(copy, RateLimitError)
        assert (copy.status, copy.provider, copy.retry_after) == (429, "openai", 3.0)


class TestNoSecretsInMessages:
    """Anything shaped like an API key is redacted from the message, whatever the error."""

    def test_echoed_openai_key_is_redacted(self) -> None:
        detail = f"Incorrect API key provided: {OPENAI_KEY}. Find your key online."
        raised = error(401, openai_error(detail))
        assert OPENAI_KEY not in str(raised)
        assert OPENAI_KEY[8:] not in str(raised)
        assert "Incorrect API key provided: [redacted]. Find your key online." in str(raised)

    def test_partly_masked_echo_is_redacted(self) -> None:
        masked = "sk-" + "proj-" + "*" * 40 + "Ab1C"
        raised = error(401, openai_error(f"Incorrect API key provided: {masked}."))
        assert (
            str(raised)
            == "openai answered 401 Unauthorized: Incorrect API key provided: [redacted]."
        )

    def test_key_in_a_stream_error_event_is_redacted(self) -> None:
        payload = {"error": {"message": f"key {GROQ_KEY} is revoked", "code": 401}}
        raised = stream_error("groq", payload)
        assert isinstance(raised, AuthenticationError)
        assert str(raised) == (
            "groq reported an error in the middle of the stream: key [redacted] is revoked"
        )

    def test_ordinary_text_is_untouched(self) -> None:
        raised = error(404, openai_error("The model `gpt-4o` does not exist."))
        assert str(raised) == "openai answered 404 Not Found: The model `gpt-4o` does not exist."

    @pytest.mark.parametrize("before", [470, 480, 490, 495, 498])
    def test_a_key_cut_by_the_length_limit_leaves_no_part_of_it(self, before: int) -> None:
        # Cut short, a key is neither whole (for its value) nor long enough for its shape.
        detail = "x" * (before - 1) + " " + OPENAI_KEY + " and more text"
        raised = error(401, openai_error(detail))
        assert "sk-" not in str(raised)
        assert str(raised).endswith("…")

    def test_a_long_message_is_still_cut_between_words(self) -> None:
        raised = error(400, openai_error("word " * 200))
        assert str(raised).endswith("word …")


class TestRetryAfter:
    """429s carry how long to wait, from whichever hint the provider gave."""

    def test_retry_after_seconds_header(self) -> None:
        raised = error(429, openai_error("Rate limit reached"), {"retry-after": "20"})
        assert isinstance(raised, RateLimitError)
        assert raised.retry_after == 20.0

    def test_retry_after_ms_header_wins(self) -> None:
        headers = {"retry-after": "1", "retry-after-ms": "1500"}
        raised = error(429, openai_error("Rate limit reached"), headers)
        assert isinstance(raised, RateLimitError)
        assert raised.retry_after == 1.5

    def test_http_date_is_measured_from_now(self) -> None:
        moment = datetime(2025, 1, 1, 12, 0, 30, tzinfo=UTC)
        now = datetime(2025, 1, 1, 12, 0, 0, tzinfo=UTC).timestamp()
        headers = {"retry-after": format_datetime(moment, usegmt=True)}
        assert retry_after_seconds(headers, now=lambda: now) == 30.0

    def test_http_date_in_the_past_means_now(self) -> None:
        headers = {"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}
        assert retry_after_seconds(headers, now=lambda: 2e9) == 0.0

    def test_gemini_retry_info_in_the_body(self) -> None:
        body = gemini_error(
            "Quota exceeded",
            code=429,
            status="RESOURCE_EXHAUSTED",
            details=[{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "13s"}],
        )
        raised = error(429, body, provider="gemini")
        assert isinstance(raised, RateLimitError)
        assert raised.retry_after == 13.0

    @pytest.mark.parametrize("value", ["soon", "nan", ""])
    def test_unreadable_hint_is_none(self, value: str) -> None:
        raised = error(429, openai_error("Rate limit reached"), {"retry-after": value})
        assert isinstance(raised, RateLimitError)
        assert raised.retry_after is None

    def test_no_hint_is_none(self) -> None:
        raised = error(429, openai_error("Rate limit reached"))
        assert isinstance(raised, RateLimitError)
        assert raised.retry_after is None


class TestEdgesOfTheMapping:
    """The boundaries and odd shapes of statuses, wait hints and stream errors."""

    def test_599_is_a_server_error_and_600_is_not(self) -> None:
        """5xx ends at 599."""
        assert error_class_for(599) is ServerError
        assert error_class_for(600) is ProviderError

    def test_wait_hints_below_a_second_are_kept(self) -> None:
        """``retry-after-ms: 250`` is a quarter second, ``retry-after: 0.5`` half of one."""
        assert retry_after_seconds({"retry-after-ms": "250"}) == 0.25
        assert retry_after_seconds({"retry-after": "0.5"}) == 0.5

    @pytest.mark.parametrize("body", ["Too many requests", {"error": "quota"}, None])
    def test_a_body_of_another_shape_gives_no_hint(self, body: object) -> None:
        """A text body, or an ``error`` that is not an object, means no hint, not a crash."""
        assert retry_after_seconds({}, body) is None

    def test_gemini_details_of_other_shapes_are_skipped(self) -> None:
        """A detail that is not an object does not hide the RetryInfo after it."""
        info = {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "3s"}
        assert retry_after_seconds({}, {"error": {"details": ["note", info]}}) == 3.0

    def test_a_stream_error_keeps_its_payload_as_body(self) -> None:
        """``.body`` is the event's payload, as for HTTP errors."""
        payload = {"error": {"type": "overloaded_error", "message": "Overloaded"}}
        assert stream_error("anthropic", payload, status=529).body == payload

    def test_a_documented_status_wins_over_the_payloads_code(self) -> None:
        """The status the provider documents for the error type is kept."""
        payload = {"error": {"code": 500, "message": "internal"}}
        assert stream_error("gemini", payload, status=503).status == 503

    @pytest.mark.parametrize("payload", ["boom", {"error": "overloaded"}, {"error": None}])
    def test_a_payload_of_another_shape_has_no_status(self, payload: object) -> None:
        """Text, or an ``error`` that is not an object: a plain ProviderError, no status."""
        error = stream_error("openai", payload)
        assert (type(error), error.status) == (ProviderError, None)


def google_stream_error(code: int, reason: str, metadata: dict[str, str] | None = None) -> object:
    """A Google error body whose ErrorInfo gives ``reason`` (``metadata`` when given)."""
    info: dict[str, object] = {"@type": "type.googleapis.com/google.rpc.ErrorInfo"}
    info["reason"] = reason
    if metadata is not None:
        info["metadata"] = metadata
    return gemini_error("denied", code=code, status="PERMISSION_DENIED", details=[info])


class TestStreamErrorReasons:
    """In a stream error, a Google reason naming the key or the project wins, as for HTTP errors."""

    def test_a_bad_key_reason_in_a_streamed_list_is_an_authentication_error(self) -> None:
        """Gemini streams its error as a one-element list; its reason is still read."""
        payload = [google_stream_error(400, "API_KEY_INVALID")]
        raised = stream_error("gemini", payload)
        assert (type(raised), raised.status) == (AuthenticationError, None)

    def test_a_bad_key_reason_wins_over_the_payloads_code(self) -> None:
        """A 400 whose reason is ``API_KEY_INVALID`` is about the key, not the request."""
        raised = stream_error("gemini", google_stream_error(400, "API_KEY_INVALID"))
        assert (type(raised), raised.status) == (AuthenticationError, 400)

    def test_a_bad_key_reason_wins_over_a_documented_status(self) -> None:
        """The reason names the key even when the caller passes the status itself."""
        payload = google_stream_error(400, "API_KEY_SERVICE_BLOCKED")
        raised = stream_error("gemini", payload, status=400)
        assert (type(raised), raised.status) == (AuthenticationError, 400)

    def test_other_reasons_keep_the_plain_mapping(self) -> None:
        """A reason that names neither key nor project leaves a plain ProviderError."""
        raised = stream_error("gemini", [google_stream_error(400, "BAD_FIELD")])
        assert (type(raised), raised.status) == (ProviderError, None)

    def test_a_disabled_api_in_a_streamed_list_says_what_to_enable(self) -> None:
        """The message of a listed ``SERVICE_DISABLED`` error names the API and the project."""
        metadata = {"service": "generativelanguage.googleapis.com", "consumer": "projects/42"}
        raised = stream_error("gemini", [google_stream_error(403, "SERVICE_DISABLED", metadata)])
        assert isinstance(raised, AuthenticationError)
        assert str(raised) == (
            "gemini reported an error in the middle of the stream: denied"
            " (enable generativelanguage.googleapis.com in Google Cloud project 42)"
        )


def gemini_403(details: list[object]) -> ProviderError:
    body = gemini_error("denied", code=403, status="PERMISSION_DENIED", details=details)
    return error_for_response(
        403, httpx.Headers(), orjson.dumps(body), provider="gemini", adapter=GeminiAdapter()
    )


class TestWhatToEnable:
    """A disabled API's message says what to enable where, with stand-ins for what Google omits."""

    def test_without_metadata_there_is_no_hint(self) -> None:
        """An ErrorInfo with no metadata object adds nothing to the provider's words."""
        info = {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "SERVICE_DISABLED"}
        raised = gemini_403([{**info, "metadata": "n/a"}])
        assert str(raised) == "gemini answered 403 Forbidden: denied"

    def test_empty_metadata_names_the_api_and_the_keys_project(self) -> None:
        """No service, consumer or activation URL: the hint still reads, without a link."""
        info = {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "SERVICE_DISABLED"}
        raised = gemini_403([{**info, "metadata": {}}])
        assert str(raised) == (
            "gemini answered 403 Forbidden: denied"
            " (enable the API in Google Cloud project the key's project)"
        )

    def test_the_error_info_is_found_after_other_details(self) -> None:
        """Google lists details in any order: a RetryInfo or a note before it hides nothing."""
        retry = {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "3s"}
        info = {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID"}
        raised = error_for_response(
            400,
            httpx.Headers(),
            orjson.dumps(gemini_error("API key not valid.", details=["note", retry, info])),
            provider="gemini",
            adapter=GeminiAdapter(),
        )
        assert (type(raised), raised.status) == (AuthenticationError, 400)
