"""Tests for exllm_py.errors: no error's message or repr ever shows a credential."""

from __future__ import annotations

import pickle
import traceback
from urllib.parse import quote

import httpx
import pytest

from exllm_py.errors import (
    MIN_REDACTED_LENGTH,
    AuthenticationError,
    ConfigurationError,
    ExLLMError,
    MissingAPIKey,
    NetworkBlocked,
    ProviderError,
    RateLimitError,
    RecordingCorrupt,
    RecordingNotFound,
    RecordingRefused,
    ServerError,
    TimeoutError,
    ValidationError,
)

# Built at run time so that no key-shaped literal sits in the repository.
PROJECT_KEY = "sk-" + "proj-" + "A1b2C3d4e5F6g7H8i9J0_k-L" * 4
# A key with no known prefix (Mistral's, a gateway's): only its value can find it.
SHAPELESS_KEY = "Zq7" + "mW2xR9tY4uK1pL8s" * 2

ERROR_CLASSES = [
    ExLLMError,
    ConfigurationError,
    ValidationError,
    ProviderError,
    AuthenticationError,
    RateLimitError,
    ServerError,
    TimeoutError,
    RecordingNotFound,
    RecordingCorrupt,
    RecordingRefused,
    MissingAPIKey,
    NetworkBlocked,
]


class TestKeyShapesNeverShow:
    """Every ExLLMError hides key-shaped strings and URL passwords in its message and repr."""

    @pytest.mark.parametrize("error_class", ERROR_CLASSES)
    def test_a_key_in_the_message_is_redacted(self, error_class: type[ExLLMError]) -> None:
        error = error_class(f"the provider said: bad key {PROJECT_KEY}.")
        assert PROJECT_KEY not in str(error)
        assert PROJECT_KEY not in repr(error)
        assert "bad key [redacted]." in str(error)

    @pytest.mark.parametrize("error_class", ERROR_CLASSES)
    def test_a_url_password_in_the_message_is_redacted(self, error_class: type[ExLLMError]) -> None:
        error = error_class("could not reach http://alice:S3cret@host/v1")
        assert "S3cret" not in str(error)
        assert "S3cret" not in repr(error)

    def test_provider_error_keeps_the_raw_body_but_not_in_its_message(self) -> None:
        body = {"error": {"message": f"bad key {PROJECT_KEY}"}}
        error = AuthenticationError(f"openai answered 401: bad key {PROJECT_KEY}", body=body)
        assert PROJECT_KEY not in error.message
        assert error.body == body  # documented: .body is what the provider sent

    def test_redaction_survives_pickling(self) -> None:
        error = RateLimitError(f"slow down {PROJECT_KEY}", status=429, retry_after=2.0)
        copy = pickle.loads(pickle.dumps(error))
        assert PROJECT_KEY not in str(copy)
        assert copy.retry_after == 2.0


class TestRedactValues:
    """``redact`` hides the exact credentials a call sent, whatever their shape."""

    def test_a_shapeless_key_is_hidden_from_message_repr_and_notes(self) -> None:
        error = AuthenticationError(f"gateway answered 401: unknown key {SHAPELESS_KEY}")
        error.add_note(f"key was {SHAPELESS_KEY}")
        assert SHAPELESS_KEY in str(error)  # no shape gives it away
        error.redact([SHAPELESS_KEY, None, ""])
        assert SHAPELESS_KEY not in str(error)
        assert SHAPELESS_KEY not in repr(error)
        assert SHAPELESS_KEY not in error.message
        assert error.__notes__ == ["key was [redacted]"]

    def test_a_value_inside_a_longer_one_leaves_nothing_of_the_longer(self) -> None:
        longer = SHAPELESS_KEY + "-and-more-of-it"
        error = ConfigurationError(f"token {longer}")
        error.redact([SHAPELESS_KEY, longer])
        assert str(error) == "token [redacted]"

    def test_values_too_short_to_be_credentials_are_left_alone(self) -> None:
        short = "x" * (MIN_REDACTED_LENGTH - 1)
        error = ValidationError(f"the text {short} stays")
        error.redact([short])
        assert str(error) == f"the text {short} stays"


def _traceback(error: BaseException) -> str:
    return "".join(traceback.format_exception(error))


class TestRedactTheChain:
    """A traceback prints the chained exceptions too: ``redact`` hides the values there as well."""

    def test_the_cause_of_raise_from(self) -> None:
        request = httpx.Request("POST", "https://gateway.example/v1")
        try:
            try:
                raise httpx.ConnectError(f"proxy refused Bearer {SHAPELESS_KEY}", request=request)
            except httpx.ConnectError as exc:
                raise ProviderError("could not reach the gateway") from exc
        except ProviderError as caught:
            error = caught
        cause = error.__cause__
        error.redact([SHAPELESS_KEY])
        assert SHAPELESS_KEY not in _traceback(error)
        assert "proxy refused Bearer [redacted]" in _traceback(error)
        # The chain itself is untouched: same cause, context still suppressed.
        assert error.__cause__ is cause
        assert isinstance(cause, httpx.ConnectError)
        assert cause.request is request
        assert error.__suppress_context__

    def test_the_context_of_an_error_raised_while_handling_another(self) -> None:
        try:
            try:
                raise RuntimeError(f"first failure with {SHAPELESS_KEY}")
            except RuntimeError:
                raise ConfigurationError("second failure") from None
        except ConfigurationError as caught:
            error = caught
        error.__suppress_context__ = False  # shown, as without "from None"
        error.redact([SHAPELESS_KEY])
        assert SHAPELESS_KEY not in _traceback(error)

    def test_key_shapes_in_a_foreign_cause_are_hidden(self) -> None:
        error = ProviderError("could not reach openai")
        error.__cause__ = ValueError(f"bad header Authorization: Bearer {PROJECT_KEY}")
        error.redact([])
        assert PROJECT_KEY not in _traceback(error)

    def test_exceptions_whose_args_are_not_strings(self) -> None:
        error = ProviderError("could not read the answer")
        decode = UnicodeDecodeError("utf-8", b"\xff" + SHAPELESS_KEY.encode(), 0, 1, "bad")
        os_error = ConnectionRefusedError(111, f"refused {SHAPELESS_KEY}")
        key_error = KeyError(42)
        error.__cause__ = decode
        decode.__context__ = os_error
        os_error.__cause__ = key_error
        key_error.__context__ = error  # a cycle ends the walk, not the program
        error.redact([SHAPELESS_KEY])
        assert decode.args[1] == b"\xff" + SHAPELESS_KEY.encode()  # bytes: left as they are
        assert str(os_error) == "[Errno 111] refused [redacted]"
        assert key_error.args == (42,)


class TestRedactEncodedValues:
    """A provider may echo a key URL-encoded: that form is hidden too."""

    KEY = "gw+Zq8rT2m/Vx91Lk=Pq-x"

    @pytest.mark.parametrize(
        "shown",
        [
            quote(KEY),
            quote(KEY, safe=""),
            quote(KEY, safe="").replace("%2B", "%2b").replace("%3D", "%3d"),
            KEY.replace("-", "%2D"),
        ],
    )
    def test_a_percent_encoded_echo(self, shown: str) -> None:
        assert shown != self.KEY
        error = AuthenticationError(f"401: unknown key={shown}")
        error.redact([self.KEY])
        assert str(error) == "401: unknown key=[redacted]"
        assert error.message == "401: unknown key=[redacted]"


class TestStructuredErrors:
    """MissingAPIKey and NetworkBlocked keep what they name through pickling (pytest -n)."""

    def test_missing_api_key(self) -> None:
        error = MissingAPIKey("no key", provider="openai", env_var="OPENAI_API_KEY")
        assert isinstance(error, ConfigurationError)
        copy = pickle.loads(pickle.dumps(error))
        assert (str(copy), copy.provider, copy.env_var) == ("no key", "openai", "OPENAI_API_KEY")

    def test_network_blocked(self) -> None:
        error = NetworkBlocked("blocked", host="api.example.com", port=443)
        assert not isinstance(error, OSError)
        copy = pickle.loads(pickle.dumps(error))
        assert (str(copy), copy.host, copy.port) == ("blocked", "api.example.com", 443)
