"""Every exception exllm_py raises, in one place.

The hierarchy::

    ExLLMError
    ├── ConfigurationError      unknown provider, missing API key, bad client settings
    │   └── MissingAPIKey           a call must reach the provider and has no key
    ├── ValidationError         bad messages or options (raised before any network I/O);
    │                           also a ValueError
    ├── ProviderError           the provider answered with an error (status, provider, body)
    │   ├── AuthenticationError     401 / 403
    │   ├── RateLimitError          429 (retry_after in seconds, when the provider said)
    │   ├── ServerError             5xx
    │   └── TimeoutError            no answer within the timeout; also a builtin TimeoutError
    ├── RecordingNotFound       replay-only mode and no recording matches the request
    ├── RecordingCorrupt        a cassette file cannot be read (names the file and the problem)
    ├── RecordingRefused        a cassette was not written: an API key's value is in it
    └── NetworkBlocked          --exllm-block-network refused a connection to a non-loopback host

Lower-level errors (httpx, orjson, OS) are translated at the boundary with
``raise ... from exc`` so the original cause stays attached.

No message carries a credential. :class:`ExLLMError` is the one place that
sees to it: its constructor replaces everything shaped like a key, a bearer
token or a URL password (:mod:`exllm_py.secret_patterns`) in the message, so
``str()`` and ``repr()`` never show one, and :meth:`ExLLMError.redact` hides
given exact values too: the pipeline calls it with the credentials a call
sent (a key with no known shape, a gateway token) before the error leaves
the call, wherever they stand: as sent, or percent-encoded as a provider
may echo them in a URL. It hides them from the exceptions chained to the
error (``__cause__``, ``__context__``) as well, since a traceback prints
those too: the httpx error behind a failed request may quote its headers.
``ProviderError.body`` is left as the provider sent it, for debugging: it
may hold whatever the provider echoed, the key included.
"""

from __future__ import annotations

import builtins
import contextlib
import functools
import re
from collections.abc import Iterable
from typing import Any

from exllm_py.secret_patterns import REDACTED, redact_secrets

__all__ = [
    "MIN_REDACTED_LENGTH",
    "AuthenticationError",
    "ConfigurationError",
    "ExLLMError",
    "MissingAPIKey",
    "NetworkBlocked",
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

        A value is hidden as sent and percent-encoded (``sk%2Dabc…``, each
        character escaped or not, in either case of hex). Values shorter
        than :data:`MIN_REDACTED_LENGTH` are left alone. The longest goes
        first, so a value inside another cannot leave half of it. The
        exceptions chained to this one (``__cause__`` and ``__context__``,
        all the way down) are redacted too: their string arguments and
        notes, and known credential shapes in them as well.
        """
        hidden = sorted(
            {value for value in values if value and len(value) >= MIN_REDACTED_LENGTH},
            key=len,
            reverse=True,
        )
        patterns = [_any_encoding(value) for value in hidden]
        _redact_chain(self, patterns)

    def _redacted(self, hidden: list[re.Pattern[str]]) -> None:
        """Hook for subclasses that keep the message elsewhere too."""


def _any_encoding(value: str) -> re.Pattern[str]:
    """A regex for ``value`` with any of its characters percent-encoded (any hex case)."""
    alternatives = []
    for character in value:
        escaped = "".join(f"%{byte:02x}" for byte in character.encode("utf-8"))
        plus = r"|\+" if character == " " else ""
        alternatives.append(f"(?:{re.escape(character)}|(?i:{escaped}){plus})")
    return re.compile("".join(alternatives))


def _redact_chain(error: ExLLMError, patterns: list[re.Pattern[str]]) -> None:
    seen: set[int] = set()
    stack: list[BaseException] = [error]
    while stack:
        current = stack.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        _redact_one(current, patterns)
        stack += [chained for chained in (current.__context__, current.__cause__) if chained]


def _redact_one(error: BaseException, patterns: list[re.Pattern[str]]) -> None:
    # An ExLLMError hid credential shapes from its message when it was made;
    # an exception from elsewhere (httpx, the OS) did not.
    shapes = not isinstance(error, ExLLMError)
    if not patterns and not shapes:
        return

    def hide(text: object) -> Any:
        if not isinstance(text, str):
            return text  # OSError's errno, a UnicodeError's bytes: left as they are
        return _hide(redact_secrets(text) if shapes else text, patterns)

    args = tuple(hide(arg) for arg in error.args)
    if any(new is not old for new, old in zip(args, error.args, strict=True)):
        # A type that does not let its args be replaced keeps them.
        with contextlib.suppress(AttributeError, TypeError):
            error.args = args
    if isinstance(error, OSError):
        # Its message is built from these, not from its args.
        for name in ("strerror", "filename", "filename2"):
            value = getattr(error, name)
            if isinstance(value, str):
                setattr(error, name, hide(value))
    notes = getattr(error, "__notes__", None)
    if isinstance(notes, list):
        notes[:] = [hide(note) for note in notes]
    if isinstance(error, ExLLMError):
        error._redacted(patterns)


def _hide(text: object, patterns: list[re.Pattern[str]]) -> Any:
    if not isinstance(text, str):
        return text
    for pattern in patterns:
        text = pattern.sub(REDACTED, text)
    return text


class ConfigurationError(ExLLMError):
    """The client or provider is not set up: unknown provider, missing key, bad setting."""


class MissingAPIKey(ConfigurationError):
    """A call must reach the provider and no API key was found.

    ``provider`` is the provider's name and ``env_var`` the environment
    variable to set. Raised only when the request would leave for the
    provider: a cached or recorded answer needs no key.
    """

    def __init__(self, message: str, *, provider: str = "", env_var: str = "") -> None:
        super().__init__(message)
        self.provider = provider
        self.env_var = env_var

    def __reduce__(self) -> tuple[Any, ...]:
        # Keyword-only arguments are not restored by the default pickling.
        rebuild = functools.partial(type(self), provider=self.provider, env_var=self.env_var)
        return (rebuild, self.args)


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

    def _redacted(self, hidden: list[re.Pattern[str]]) -> None:
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


class NetworkBlocked(ExLLMError):
    """``--exllm-block-network`` refused to let a connection or a name lookup leave the machine.

    ``host`` is the name or address asked for and ``port`` its port
    (``None`` for a name lookup). Raised before any packet is sent. Not an
    ``OSError`` on purpose: HTTP libraries turn those into their own
    connection errors (and retry them), which would bury the host's name.
    """

    def __init__(self, message: str, *, host: str = "", port: int | None = None) -> None:
        super().__init__(message)
        self.host = host
        self.port = port

    def __reduce__(self) -> tuple[Any, ...]:
        rebuild = functools.partial(type(self), host=self.host, port=self.port)
        return (rebuild, self.args)
