"""The HTTP exchange: thin sync/async shells around shared error translation and retries.

Everything but the ``send`` / ``read`` / ``sleep`` calls themselves is
shared: :class:`~exllm_py.pipeline.retry.Attempts` decides whether a failed
attempt is tried again and after how long (:mod:`exllm_py.pipeline.retry`
states the rule), :func:`translated_errors` turns httpx failures into
exllm_py errors, and an error status becomes the matching
:class:`~exllm_py.errors.ProviderError`.

Every request is sent streaming, so that the status is known before the
body is read: the retry decision is made on the status alone, and a body
that breaks off after a success status is never retried. A call that asked
for the whole answer has its body read here; a stream's body is read by the
caller, past the point of retrying.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import httpx

from exllm_py.errors import ProviderError, TimeoutError
from exllm_py.pipeline.call import Call
from exllm_py.pipeline.retry import Attempts, Failure
from exllm_py.providers.http_errors import error_for_response
from exllm_py.secret_patterns import hide_url_credentials

__all__ = ["asend", "send", "translated_errors"]


def send(http: httpx.Client, call: Call) -> httpx.Response:
    """Send the call's request, retrying as the call allows; on a final error status, raise."""
    request, attempts = _start(call)
    while True:
        with translated_errors(call):
            try:
                response = http.send(request, stream=True)
            except httpx.TransportError as exc:
                delay = attempts.after(Failure.of_exception(exc))
                if delay is None:
                    raise
            else:
                if response.status_code < 400 and call.stream:
                    return response  # its body is the caller's to read: past retrying
                try:
                    response.read()
                finally:
                    response.close()
                if response.status_code < 400:
                    return response
                delay = attempts.after(Failure.of_response(response))
                if delay is None:
                    raise _error(call, response)
        if delay:
            call.retry_policy.sleep(delay)


async def asend(http: httpx.AsyncClient, call: Call) -> httpx.Response:
    """Async twin of :func:`send`."""
    request, attempts = _start(call)
    while True:
        with translated_errors(call):
            try:
                response = await http.send(request, stream=True)
            except httpx.TransportError as exc:
                delay = attempts.after(Failure.of_exception(exc))
                if delay is None:
                    raise
            else:
                if response.status_code < 400 and call.stream:
                    return response  # its body is the caller's to read: past retrying
                try:
                    await response.aread()
                finally:
                    await response.aclose()
                if response.status_code < 400:
                    return response
                delay = attempts.after(Failure.of_response(response))
                if delay is None:
                    raise _error(call, response)
        if delay:
            await call.retry_policy.asleep(delay)


def _start(call: Call) -> tuple[httpx.Request, Attempts]:
    request = call.http_request
    assert request is not None, "build runs first"
    attempts = Attempts(call.retry_policy, call.retry_budget(), call.provider, call.model)
    return request, attempts


@contextmanager
def translated_errors(call: Call) -> Iterator[None]:
    """Translate httpx's timeouts and transport failures at the boundary."""
    config = call.config
    assert config is not None, "configuration runs first"
    try:
        yield
    except httpx.TimeoutException as exc:
        raise TimeoutError(
            f"{config.name} did not answer within {config.timeout}s "
            f"({type(exc).__name__}); pass a larger timeout=... if the model needs longer",
            provider=config.name,
        ) from exc
    except httpx.ProxyError as exc:
        raise ProviderError(
            f"could not reach {config.name} at {hide_url_credentials(config.base_url)} "
            f"through the proxy HTTPS_PROXY, HTTP_PROXY or ALL_PROXY names (NO_PROXY lists "
            f"the hosts that go direct): {exc}",
            provider=config.name,
        ) from exc
    except httpx.TransportError as exc:
        raise ProviderError(
            f"could not reach {config.name} at {hide_url_credentials(config.base_url)}: {exc}",
            provider=config.name,
        ) from exc


def _error(call: Call, response: httpx.Response) -> ProviderError:
    config = call.config
    assert config is not None, "configuration runs first"
    return error_for_response(
        response.status_code,
        response.headers,
        response.content,
        provider=config.name,
        adapter=config.adapter,
    )
