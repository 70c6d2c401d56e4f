"""Retries of a failed attempt: which failures, how long to wait, and what is never retried.

A call is tried again, at most ``max_retries`` times (default 2; ``0``
turns retries off; a client option, and a per-call option that overrides
it), when an attempt failed before the provider answered with a success:

- the provider answered 408, 409, 429 or any 5xx, unless it also sent
  ``x-should-retry: false``; any other error status only when it sent
  ``x-should-retry: true`` (the header the official SDKs obey);
- the connection failed, broke off, or timed out before a status came
  back. A timeout is retried as the official SDKs retry it: each attempt
  has the call's whole ``timeout``, so a call may take longer than it.

Never retried, because the provider may have done the work and billed it:

- a response that arrived with a success (2xx) status, whatever goes wrong
  afterwards: a body that breaks off or is not JSON, or an error event in
  the middle of a stream. For a stream, the retry decision ends where the
  first byte of the body could reach the caller: the chunks already
  delivered were generated, and paid for;
- a wait the provider asked for (``retry-after-ms``, ``retry-after`` in
  seconds or as an HTTP date, Gemini's ``RetryInfo``) longer than
  :attr:`RetryPolicy.max_retry_after`: the error goes back at once, its
  ``retry_after`` telling how long the provider wants;
- what the library refuses on its own (a missing key, a bad URL scheme, a
  refused connection to a proxy, a test without a recording).

The wait before a retry is what the provider asked for, when it asked for
more than 0 s and at most ``max_retry_after``; otherwise an exponential
backoff (0.5 s, 1 s, 2 s, ... at most 8 s), each wait shortened by up to a
quarter at random, so that clients which failed together do not come back
together. A response replayed by the test cache is retried without waiting
(the recording holds each attempt, in order, as it was made).

The retries sit inside the call's provider exchange, below the cache
decision: a call that needed retries is one miss and at most one put, and
single-flight followers wait for the leader's last attempt rather than
retrying on their own, for at most their own call's timeout (a leader
whose first attempt timed out can outlast it). Each retry is reported as the telemetry event
``("exllm", "request", "retry")``.

:class:`RetryPolicy` and :class:`Failure` hold the decision without any I/O;
the sync and async shells in :mod:`exllm_py.pipeline.exchange` only send and
sleep.
"""

from __future__ import annotations

import random
import time
from collections.abc import Awaitable, Callable
from typing import Any, Final, Literal

import attrs
import httpx

from exllm_py import telemetry
from exllm_py.errors import ValidationError
from exllm_py.extensions import FROM_CACHE
from exllm_py.providers.http_errors import retry_after_seconds
from exllm_py.providers.wire import decode_body

__all__ = [
    "DEFAULT_MAX_RETRIES",
    "DEFAULT_RETRY_POLICY",
    "RETRIED_STATUSES",
    "Attempts",
    "Failure",
    "Retry",
    "RetryPolicy",
    "check_max_retries",
]

#: How many times a failed call is tried again unless the client or the call says otherwise.
DEFAULT_MAX_RETRIES: Final = 2
#: Error statuses retried without being asked to (besides every 5xx).
RETRIED_STATUSES: Final = frozenset({408, 409, 429})

# Transport failures that say nothing about the provider: our own malformed
# request, a URL scheme httpx cannot speak, a proxy that refused us. Trying
# again would fail the same way.
_NOT_RETRIED: Final = (httpx.UnsupportedProtocol, httpx.LocalProtocolError, httpx.ProxyError)

Reason = Literal["status", "timeout", "connection"]


def check_max_retries(name: str, value: Any) -> int:
    """``value`` if it is an ``int`` of 0 or more (not a bool), else ``ValidationError``."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValidationError(
            f"{name} must be a whole number of retries, 0 or more (0 turns retries off), "
            f"got {value!r}"
        )
    return value


@attrs.frozen
class Failure:
    """What went wrong with one attempt, as much as the retry decision needs.

    ``reason`` is ``"status"`` (an error status came back), ``"timeout"`` or
    ``"connection"``; ``retry_after`` the seconds the provider asked to
    wait; ``should_retry`` its ``x-should-retry`` header, when it sent one;
    ``replayed`` whether a recording answered (no time passes in a replay).
    """

    reason: Reason
    status: int | None = None
    retry_after: float | None = None
    should_retry: bool | None = None
    replayed: bool = False

    @classmethod
    def of_response(cls, response: httpx.Response) -> Failure:
        """The failure an error response stands for; its body must have been read."""
        headers = response.headers
        return cls(
            "status",
            response.status_code,
            retry_after_seconds(headers, decode_body(response.content)),
            _should_retry(headers.get("x-should-retry")),
            FROM_CACHE in response.extensions,
        )

    @classmethod
    def of_exception(cls, error: httpx.TransportError) -> Failure | None:
        """The failure a transport error stands for, or ``None`` when it is never retried."""
        if isinstance(error, _NOT_RETRIED):
            return None
        return cls("timeout" if isinstance(error, httpx.TimeoutException) else "connection")


def _should_retry(header: str | None) -> bool | None:
    # Only the two exact values count, as in the official SDKs.
    return {"true": True, "false": False}.get(header) if header is not None else None


@attrs.frozen
class Retry:
    """The decision to try again: which retry (1 for the first), after how long, and why."""

    attempt: int
    delay_s: float
    failure: Failure


def _check_delay(instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 1e9:
        raise ValidationError(
            f"RetryPolicy {attribute.name} must be a number of seconds, 0 or more, got {value!r}"
        )


def _check_callable(instance: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not callable(value):
        raise ValidationError(f"RetryPolicy {attribute.name} must be callable, got {value!r}")


async def _asleep(seconds: float) -> None:
    """``asyncio.sleep``, imported at the first async wait: sync callers never load asyncio."""
    import asyncio

    await asyncio.sleep(seconds)


@attrs.frozen
class RetryPolicy:
    """How a failed attempt is retried: the rule, the backoff, and the sleepers that wait.

    ``initial_delay`` is the first backoff, doubled each retry up to
    ``max_delay``; a provider's own ``retry-after`` is honoured up to
    ``max_retry_after`` (a longer one is not retried). ``jitter`` returns a
    float in [0, 1): the share of a quarter of the backoff taken off it;
    ``sleep`` and ``asleep`` wait, sync and async. All three are there to
    be replaced: tests pass a fixed jitter and sleepers that note the delay
    instead of waiting it.
    """

    initial_delay: float = attrs.field(default=0.5, validator=_check_delay)
    max_delay: float = attrs.field(default=8.0, validator=_check_delay)
    max_retry_after: float = attrs.field(default=60.0, validator=_check_delay)
    jitter: Callable[[], float] = attrs.field(
        default=random.random, validator=_check_callable, eq=False, repr=False
    )
    sleep: Callable[[float], object] = attrs.field(
        default=time.sleep, validator=_check_callable, eq=False, repr=False
    )
    asleep: Callable[[float], Awaitable[object]] = attrs.field(
        default=_asleep, validator=_check_callable, eq=False, repr=False
    )

    def decide(self, failure: Failure, retries_done: int, max_retries: int) -> Retry | None:
        """Whether to retry after ``failure``, with ``retries_done`` of ``max_retries`` spent."""
        if retries_done >= max_retries or not self.retryable(failure):
            return None
        return Retry(retries_done + 1, self.delay(failure, retries_done), failure)

    def retryable(self, failure: Failure) -> bool:
        """Whether ``failure`` may be retried at all (see the module's rule)."""
        asked = failure.retry_after
        if asked is not None and asked > self.max_retry_after:
            return False
        if failure.should_retry is not None:
            return failure.should_retry
        status = failure.status
        return status is None or status in RETRIED_STATUSES or status >= 500

    def delay(self, failure: Failure, retries_done: int) -> float:
        """Seconds to wait before retry number ``retries_done + 1``."""
        if failure.replayed:
            return 0.0
        asked = failure.retry_after
        if asked is not None and 0 < asked <= self.max_retry_after:
            return asked
        # The exponent is capped: 2.0 ** 1100 overflows, and max_delay is reached long before.
        backoff = min(self.initial_delay * 2.0 ** min(retries_done, 64), self.max_delay)
        return backoff * (1 - 0.25 * self.jitter())


DEFAULT_RETRY_POLICY: Final = RetryPolicy()


class Attempts:
    """One call's retries so far: asks the policy after each failure and reports each retry."""

    __slots__ = ("max_retries", "model", "policy", "provider", "retries")

    def __init__(self, policy: RetryPolicy, max_retries: int, provider: str, model: str) -> None:
        self.policy = policy
        self.max_retries = max_retries
        self.provider = provider
        self.model = model
        #: Retries made so far.
        self.retries = 0

    def after(self, failure: Failure | None) -> float | None:
        """Seconds to wait before trying again, or ``None``: the failure is final."""
        if failure is None:
            return None
        retry = self.policy.decide(failure, self.retries, self.max_retries)
        if retry is None:
            return None
        self.retries = retry.attempt
        telemetry.emit(
            telemetry.REQUEST_RETRY,
            {"attempt": retry.attempt, "delay_s": retry.delay_s},
            {
                "provider": self.provider,
                "model": self.model,
                "reason": failure.reason,
                "status": failure.status,
                "max_retries": self.max_retries,
                "replayed": failure.replayed,
            },
        )
        return retry.delay_s
