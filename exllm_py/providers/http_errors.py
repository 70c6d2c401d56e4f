"""From an HTTP error status to the matching :class:`~exllm_py.errors.ProviderError`.

401/403, and a body whose Google ``ErrorInfo`` reason names the key or the
project (``API_KEY_INVALID`` comes as a 400) →
:class:`~exllm_py.errors.AuthenticationError`, 429 →
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
# Google says why in an ErrorInfo detail; its status alone can mislead (a bad
# key is a 400 INVALID_ARGUMENT).
_ERROR_INFO = "type.googleapis.com/google.rpc.ErrorInfo"
# ErrorInfo reasons that mean the key or the project must change, whatever the status.
_AUTH_REASONS = frozenset(
    {
        "API_KEY_INVALID",
        "API_KEY_SERVICE_BLOCKED",
        "API_KEY_HTTP_REFERRER_BLOCKED",
        "API_KEY_IP_ADDRESS_BLOCKED",
        "SERVICE_DISABLED",
    }
)


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
    info = _error_info(decoded)
    detail = redact_secrets(adapter.error_message(decoded) + _what_to_enable(info))
    status_text = f"{status} {httpx.codes.get_reason_phrase(status)}".rstrip()
    message = f"{provider} answered {status_text}: {detail}"
    error_class = error_class_for(status, reason=info.get("reason"))
    if error_class is RateLimitError:
        return RateLimitError(
            message,
            status=status,
            provider=provider,
            body=decoded,
            retry_after=retry_after_seconds(headers, decoded),
        )
    return error_class(message, status=status, provider=provider, body=decoded)


def error_class_for(status: int, *, reason: Any = None) -> type[ProviderError]:
    """The :class:`~exllm_py.errors.ProviderError` subclass for an HTTP status.

    ``reason`` is the body's own word, where the provider gives one (Google's
    ``ErrorInfo.reason``): a reason that names the credentials wins over the status.
    """
    if status in (401, 403) or reason in _AUTH_REASONS:
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


def _error_info(body: Any) -> Mapping[str, Any]:
    """The ``google.rpc.ErrorInfo`` detail of an error body, or ``{}``."""
    if isinstance(body, list) and body:
        body = body[0]  # Gemini's streamed errors come as a one-element list
    error = body.get("error") if isinstance(body, Mapping) else None
    details = error.get("details") if isinstance(error, Mapping) else None
    for detail in details if isinstance(details, list) else ():
        if isinstance(detail, Mapping) and detail.get("@type") == _ERROR_INFO:
            return detail
    return {}


def _what_to_enable(info: Mapping[str, Any]) -> str:
    """For an API disabled in the key's project: which API to enable, where, and how."""
    if info.get("reason") != "SERVICE_DISABLED":
        return ""
    metadata = info.get("metadata")
    if not isinstance(metadata, Mapping):
        return ""
    service = metadata.get("service") or "the API"
    project = str(metadata.get("consumer") or "").removeprefix("projects/") or "the key's project"
    hint = f" (enable {service} in Google Cloud project {project}"
    url = metadata.get("activationUrl")
    return f"{hint}: {url})" if url else f"{hint})"


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
    info = _error_info(payload)
    detail = redact_secrets(error_detail(payload) + _what_to_enable(info))
    message = f"{provider} reported an error in the middle of the stream: {detail}"
    reason = info.get("reason")
    if status is None and reason not in _AUTH_REASONS:
        error_class: type[ProviderError] = ProviderError
    else:
        error_class = error_class_for(status or 0, reason=reason)
    return error_class(message, status=status, provider=provider, body=payload)
