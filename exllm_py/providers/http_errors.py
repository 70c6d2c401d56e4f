"""From an HTTP error status to the matching :class:`~exllm_py.errors.ProviderError`.

401/403 → :class:`~exllm_py.errors.AuthenticationError`, 429 →
:class:`~exllm_py.errors.RateLimitError` (with ``retry_after``), 5xx →
:class:`~exllm_py.errors.ServerError`, anything else → ``ProviderError``.
Messages read like ``openai answered 401 Unauthorized: Incorrect API key
provided`` and never carry anything shaped like an API key
(:func:`~exllm_py.secret_patterns.redact_secrets`). Errors that arrive as
events inside a streamed 200 answer go through :func:`stream_error`.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from exllm_py.errors import AuthenticationError, ProviderError, RateLimitError, ServerError
from exllm_py.providers.adapter import ProviderAdapter
from exllm_py.providers.wire import decode_body, error_detail
from exllm_py.secret_patterns import redact_secrets

__all__ = [
    "error_class_for",
    "error_for_response",
    "retry_after_seconds",
    "stream_error",
]

# Gemini states the delay in its body: {"@type": "...RetryInfo", "retryDelay": "13s"}.
_RETRY_INFO = "type.googleapis.com/google.rpc.RetryInfo"


def error_for_response(
    status: int,
    headers: httpx.Headers,
    body: bytes,
    *,
    provider: str,
    adapter: ProviderAdapter,
) -> ProviderError:
    """The error to raise for a response with error ``status``; ``.body`` is its decoded body."""
    decoded = decode_body(body)
    detail = redact_secrets(adapter.error_message(decoded))
    status_text = f"{status} {httpx.codes.get_reason_phrase(status)}".rstrip()
    message = f"{provider} answered {status_text}: {detail}"
    error_class = error_class_for(status)
    if error_class is RateLimitError:
        return RateLimitError(
            message,
            status=status,
            provider=provider,
            body=decoded,
            retry_after=retry_after_seconds(headers, decoded),
        )
    return error_class(message, status=status, provider=provider, body=decoded)


def error_class_for(status: int) -> type[ProviderError]:
    """The :class:`~exllm_py.errors.ProviderError` subclass for an HTTP status."""
    if status in (401, 403):
        return AuthenticationError
    if status == 429:
        return RateLimitError
    if 500 <= status <= 599:
        return ServerError
    return ProviderError


def retry_after_seconds(
    headers: Mapping[str, str], body: Any = None, *, now: Callable[[], float] = time.time
) -> float | None:
    """How long the provider asked to wait, in seconds, or ``None`` when it did not say.

    Read from ``retry-after-ms`` (OpenAI), ``retry-after`` as seconds or as
    an HTTP date (RFC 9110), then Gemini's ``RetryInfo`` in the body.
    A date in the past means "now": 0.0.
    """
    milliseconds = _as_float(headers.get("retry-after-ms"))
    if milliseconds is not None:
        return max(milliseconds / 1000, 0.0)
    value = headers.get("retry-after")
    if value:
        seconds = _as_float(value)
        if seconds is not None:
            return max(seconds, 0.0)
        try:
            moment = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        return max(moment.timestamp() - now(), 0.0)
    return _gemini_retry_delay(body)


def _gemini_retry_delay(body: Any) -> float | None:
    error = body.get("error") if isinstance(body, Mapping) else None
    details = error.get("details") if isinstance(error, Mapping) else None
    for detail in details if isinstance(details, list) else ():
        if isinstance(detail, Mapping) and detail.get("@type") == _RETRY_INFO:
            delay = str(detail.get("retryDelay", ""))
            return _as_float(delay.removesuffix("s"))
    return None


def _as_float(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def stream_error(provider: str, payload: Any, status: int | None = None) -> ProviderError:
    """The error for an error event inside a 200 stream (the HTTP status came and went).

    ``status`` is the HTTP status the provider documents for the error type,
    when known; otherwise a numeric ``error.code`` in the payload is used.
    """
    error = payload.get("error") if isinstance(payload, Mapping) else None
    if status is None and isinstance(error, Mapping) and isinstance(error.get("code"), int):
        status = error["code"]
    detail = redact_secrets(error_detail(payload))
    message = f"{provider} reported an error in the middle of the stream: {detail}"
    error_class = error_class_for(status) if status is not None else ProviderError
    return error_class(message, status=status, provider=provider, body=payload)
