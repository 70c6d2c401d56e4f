"""Every exception exllm_py raises, in one place.

The hierarchy::

    ExLLMError
    ├── ConfigurationError      unknown provider, missing API key, bad client settings
    ├── ValidationError         bad messages or options (raised before any network I/O);
    │                           also a ValueError
    ├── ProviderError           the provider answered with an error (status, provider, body)
    │   ├── AuthenticationError     401 / 403
    │   ├── RateLimitError          429 (retry_after in seconds, when the provider said)
    │   ├── ServerError             5xx
    │   └── TimeoutError            no answer within the timeout; also a builtin TimeoutError
    ├── RecordingNotFound       replay-only mode and no recording matches the request
    ├── RecordingCorrupt        a cassette file cannot be read (names the file and the problem)
    └── RecordingRefused        a cassette was not written: an API key's value is in it

Lower-level errors (httpx, orjson, OS) are translated at the boundary with
``raise ... from exc`` so the original cause stays attached.

No message carries a credential. :class:`ExLLMError` is the one place that
sees to it: its constructor replaces everything shaped like a key, a bearer
token or a URL password (:mod:`exllm_py.secret_patterns`) in the message, so
``str()`` and ``repr()`` never show one, and :meth:`ExLLMError.redact` hides
given exact values too: the pipeline calls it with the credentials a call
sent (a key with no known shape, a gateway token) before the error leaves
the call. ``ProviderError.body`` is left as the provider sent it, for
debugging: it may hold whatever the provider echoed, the key included.
"""

from __future__ import annotations

import builtins
from collections.abc import Iterable
from typing import Any

from exllm_py.secret_patterns import REDACTED, redact_secrets

__all__ = [
    "MIN_REDACTED_LENGTH",
    "AuthenticationError",
    "ConfigurationError",
    "ExLLMError",
    "ProviderError",
    "RateLimitError",
    "RecordingCorrupt",
    "RecordingNotFound",
    "RecordingRefused",
    "ServerError",
    "TimeoutError",
    "ValidationError",
]


#: Shorter values are not hidden by :meth:`ExLLMError.redact`: a key such as
#: ``"test"`` would blank every "test" out of the message, and no real
#: credential is that short. Shaped keys and URL passwords are hidden anyway.
MIN_REDACTED_LENGTH = 8


class ExLLMError(Exception):
    """Base class of every error raised by exllm_py; its message never shows a credential."""

    def __init__(self, *args: object) -> None:
        super().__init__(*(redact_secrets(arg) if isinstance(arg, str) else arg for arg in args))

    def redact(self, values: Iterable[str | None]) -> None:
        """Hide each of ``values`` (the credentials a call sent) from the message and notes.

        Values shorter than :data:`MIN_REDACTED_LENGTH` are left alone. The
        longest goes first, so a value inside another cannot leave half of it.
        """
        hidden = sorted(
            {value for value in values if value and len(value) >= MIN_REDACTED_LENGTH},
            key=len,
            reverse=True,
        )
        if hidden:
            self.args = tuple(_hide(arg, hidden) for arg in self.args)
            notes = getattr(self, "__notes__", None)
            if isinstance(notes, list):
                notes[:] = [_hide(note, hidden) for note in notes]
            self._redacted(hidden)

    def _redacted(self, hidden: list[str]) -> None:
        """Hook for subclasses that keep the message elsewhere too."""


def _hide(text: object, values: list[str]) -> Any:
    if not isinstance(text, str):
        return text
    for value in values:
        text = text.replace(value, REDACTED)
    return text


class ConfigurationError(ExLLMError):
    """The client or provider is not set up: unknown provider, missing key, bad setting."""


class ValidationError(ExLLMError, ValueError):
    """A call's messages or options, or a constructor's settings, are bad; raised before any I/O."""


class ProviderError(ExLLMError):
    """The provider answered with an error status.

    ``status`` is the HTTP status (``None`` when no response came back),
    ``provider`` the provider name and ``body`` the decoded error body
    (JSON when the provider sent JSON, else text). Unlike the message,
    ``body`` is not redacted: it is what the provider sent, echoed key and all.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        provider: str = "",
        body: Any = None,
    ) -> None:
        super().__init__(message)
        self.message: str = self.args[0]
        self.status = status
        self.provider = provider
        self.body = body

    def _redacted(self, hidden: list[str]) -> None:
        self.message = self.args[0]

    def __reduce__(self) -> tuple[Any, ...]:
        # Keyword-only arguments are not restored by the default pickling.
        return (_rebuild_provider_error, (type(self), self.message, self.__dict__))


def _rebuild_provider_error(
    cls: type[ProviderError], message: str, state: dict[str, Any]
) -> ProviderError:
    error = cls.__new__(cls)
    Exception.__init__(error, message)
    error.__dict__.update(state)
    return error


class AuthenticationError(ProviderError):
    """The provider refused the credentials (HTTP 401 or 403)."""


class RateLimitError(ProviderError):
    """The provider is rate limiting (HTTP 429); ``retry_after`` is in seconds or ``None``."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        provider: str = "",
        body: Any = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, status=status, provider=provider, body=body)
        self.retry_after = retry_after


class ServerError(ProviderError):
    """The provider failed on its side (HTTP 5xx)."""


class TimeoutError(ProviderError, builtins.TimeoutError):
    """No response from the provider within the call's timeout."""


class RecordingNotFound(ExLLMError):
    """Replay-only mode and the cassette holds no recording of this request.

    The message shows the request and a diff against the closest recorded one.
    """


class RecordingCorrupt(ExLLMError):
    """A cassette file cannot be used; the message names the file and the problem."""


class RecordingRefused(ExLLMError):
    """A cassette was not written because a configured API key's value appears in it."""
