"""The HTTP exchange: thin sync/async shells around shared error translation.

Everything but the ``send`` / ``read`` calls themselves is shared:
:func:`translated_errors` turns httpx failures into exllm_py errors, and
:func:`raise_for_status` turns an error status into the matching
:class:`~exllm_py.errors.ProviderError`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import httpx

from exllm_py.errors import ProviderError, TimeoutError
from exllm_py.pipeline.call import Call
from exllm_py.providers.http_errors import error_for_response
from exllm_py.secret_patterns import hide_url_credentials

__all__ = ["asend", "raise_for_status", "send", "translated_errors"]


def send(http: httpx.Client, call: Call) -> httpx.Response:
    """Send the call's request; on an error status, read the body and raise."""
    request = call.http_request
    assert request is not None, "build runs first"
    with translated_errors(call):
        response = http.send(request, stream=call.stream)
        if response.status_code >= 400:
            try:
                response.read()
            finally:
                response.close()
    raise_for_status(call, response)
    return response


async def asend(http: httpx.AsyncClient, call: Call) -> httpx.Response:
    """Async twin of :func:`send`."""
    request = call.http_request
    assert request is not None, "build runs first"
    with translated_errors(call):
        response = await http.send(request, stream=call.stream)
        if response.status_code >= 400:
            try:
                await response.aread()
            finally:
                await response.aclose()
    raise_for_status(call, response)
    return response


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
    except httpx.TransportError as exc:
        raise ProviderError(
            f"could not reach {config.name} at {hide_url_credentials(config.base_url)}: {exc}",
            provider=config.name,
        ) from exc


def raise_for_status(call: Call, response: httpx.Response) -> None:
    if response.status_code < 400:
        return
    config = call.config
    assert config is not None, "configuration runs first"
    raise error_for_response(
        response.status_code,
        response.headers,
        response.content,
        provider=config.name,
        adapter=config.adapter,
    )
