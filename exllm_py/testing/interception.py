"""Sealing a ``live_api`` test: the network transports of httpx and httpx2 go through the recorder.

For the duration of a ``live_api`` test, :func:`intercepting` replaces the
request methods of the transports at the network edge with hooks that run
the recording shells' own step (:func:`exllm_py.testing.transport.handle`
and its twins), with the original method as the next hop:

- ``httpx.HTTPTransport.handle_request`` and
  ``httpx.AsyncHTTPTransport.handle_async_request``;
- the same two of httpx2, when it is installed (it is imported then, not before);
- both methods of exllm_py's own network edge,
  :class:`~exllm_py.pipeline.credentials.CredentialGuard`. It refuses a
  request that has no API key, which a recorded answer does not need: the
  recorder must come before it, or a ``Client(cache_strategy=ProductionStrategy())``
  built in the test could not replay without a key.

Classes are patched, not instances, so clients created before the test
(a session fixture, an SDK client at import time) are sealed too, whatever
wraps them. A request already handled on its way out (recorded, or let
through to a passthrough host, by a ``RecordingTransport`` or an outer
hook: :func:`~exllm_py.testing.core.is_decided`) goes straight to the
original method, so nothing is recorded or counted twice.
Everything patched is put back exactly as it was when the block ends, so
tests that are not ``live_api`` run the libraries' own methods.

Transports that never reach the network (``httpx.MockTransport``, ASGI and
WSGI transports, exllm_py's mock provider) are not patched.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from exllm_py.testing.clients import httpx2_installed
from exllm_py.testing.core import CassetteSource, HostFilter, RecordingCore, is_decided
from exllm_py.testing.strategy import active_cassette, active_passthrough

__all__ = ["intercepting"]

# A shell step: (core, request, send) -> response, or its awaitable.
_Shell = Callable[..., Any]
# What a class held under a name before it was patched (_ABSENT: inherited).
_ABSENT = object()


@contextmanager
def intercepting(
    cassette: CassetteSource = active_cassette, passthrough: HostFilter = active_passthrough
) -> Iterator[None]:
    """Route every httpx and httpx2 network request through the recorder while the block runs."""
    core = RecordingCore(cassette, passthrough)
    patched: list[tuple[type, str, object]] = []
    try:
        for owner, name, shell, is_async in _targets():
            original = owner.__dict__.get(name, _ABSENT)
            method = getattr(owner, name)
            hook = _async_hook if is_async else _sync_hook
            setattr(owner, name, hook(core, method, shell))
            patched.append((owner, name, original))
        yield
    finally:
        for owner, name, original in reversed(patched):
            if original is _ABSENT:
                delattr(owner, name)
            else:
                setattr(owner, name, original)


def _sync_hook(core: RecordingCore, original: Callable[..., Any], shell: _Shell) -> Any:
    @functools.wraps(original)
    def handle_request(transport: Any, request: Any) -> Any:
        if is_decided():
            return original(transport, request)
        return shell(core, request, functools.partial(original, transport))

    return handle_request


def _async_hook(core: RecordingCore, original: Callable[..., Any], shell: _Shell) -> Any:
    @functools.wraps(original)
    async def handle_async_request(transport: Any, request: Any) -> Any:
        if is_decided():
            return await original(transport, request)
        return await shell(core, request, functools.partial(original, transport))

    return handle_async_request


def _targets() -> list[tuple[type, str, _Shell, bool]]:
    """(class, method name, shell step, whether async) for every method to patch."""
    import httpx

    from exllm_py.pipeline.credentials import CredentialGuard
    from exllm_py.testing import transport

    targets: list[tuple[type, str, _Shell, bool]] = [
        (CredentialGuard, "handle_request", transport.handle, False),
        (CredentialGuard, "handle_async_request", transport.ahandle, True),
        (httpx.HTTPTransport, "handle_request", transport.handle, False),
        (httpx.AsyncHTTPTransport, "handle_async_request", transport.ahandle, True),
    ]
    if httpx2_installed():
        import httpx2

        from exllm_py.testing import httpx2_transport

        targets += [
            (httpx2.HTTPTransport, "handle_request", httpx2_transport.handle, False),
            (httpx2.AsyncHTTPTransport, "handle_async_request", httpx2_transport.ahandle, True),
        ]
    return targets
