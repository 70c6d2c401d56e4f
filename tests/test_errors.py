"""Tests for exllm_py.errors: no error's message or repr ever shows a credential."""

from __future__ import annotations

import pickle

import pytest

from exllm_py.errors import (
    MIN_REDACTED_LENGTH,
    AuthenticationError,
    ConfigurationError,
    ExLLMError,
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
