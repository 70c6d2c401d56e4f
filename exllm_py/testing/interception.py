"""Sealing a ``live_api`` test: the network transports of httpx and httpx2 go through the recorder.

For the duration of a ``live_api`` test, :func:`intercepting` replaces the
request methods of the transports at the network edge with hooks that run
the recording shells' own step (:func:`exllm_py.testing.transport.handle`
and its twins), with the original method as the next hop:

- ``httpx.HTTPTransport.handle_request`` and
  ``httpx.AsyncHTTPTransport.handle_async_request``;
- the same two of httpx2, when the process has imported it. If it has not,
  importing it costs more than a replayed test: it is patched instead the
  moment the test imports it (:class:`_PatchOnImport`), if it does;
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
import importlib.abc
import importlib.machinery
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from types import ModuleType
from typing import Any

from exllm_py.testing.core import CassetteSource, HostFilter, RecordingCore, is_decided
from exllm_py.testing.strategy import active_cassette, active_passthrough

__all__ = ["intercepting"]

# A shell step: (core, request, send) -> response, or its awaitable.
_Shell = Callable[..., Any]
# What a class held under a name before it was patched (_ABSENT: inherited).
_ABSENT = object()
# (class, method name, shell step, whether async): one method to patch.
_Target = tuple[type, str, _Shell, bool]


@contextmanager
def intercepting(
    cassette: CassetteSource = active_cassette, passthrough: HostFilter = active_passthrough
) -> Iterator[None]:
    """Route every httpx and httpx2 network request through the recorder while the block runs."""
    if (cassette, passthrough) == (active_cassette, active_passthrough):
        core = _ACTIVE_CORE
    else:
        core = RecordingCore(cassette, passthrough)
    patched: list[tuple[type, str, object]] = []

    def patch(targets: Sequence[_Target]) -> None:
        for owner, name, shell, is_async in targets:
            original = owner.__dict__.get(name, _ABSENT)
            setattr(owner, name, _hook(core, getattr(owner, name), shell, is_async))
            patched.append((owner, name, original))

    # None in sys.modules: an import of httpx2 fails (as when it is absent).
    on_import = None if "httpx2" in sys.modules else _PatchOnImport(lambda: patch(_httpx2()))
    try:
        patch(_targets())
        if on_import is not None:
            sys.meta_path.insert(0, on_import)
        yield
    finally:
        if on_import is not None:
            sys.meta_path.remove(on_import)
        for owner, name, original in reversed(patched):
            if original is _ABSENT:
                delattr(owner, name)
            else:
                setattr(owner, name, original)


class _PatchOnImport(importlib.abc.MetaPathFinder):
    """Runs ``then`` as soon as httpx2 is imported (the package, with its transports)."""

    def __init__(self, then: Callable[[], None]) -> None:
        self._then = then

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname != "httpx2":
            return None
        # The spec the other finders give, its loader followed by ``then``.
        for finder in sys.meta_path:
            find = getattr(finder, "find_spec", None)
            spec: importlib.machinery.ModuleSpec | None = (
                None if finder is self or find is None else find(fullname, path, target)
            )
            if spec is not None:
                if spec.loader is not None:
                    spec.loader = _Then(spec.loader, self._then)
                return spec
        return None


class _Then(importlib.abc.Loader):
    """A loader that runs ``then`` once its module is executed."""

    def __init__(self, loader: importlib.abc.Loader, then: Callable[[], None]) -> None:
        self._loader = loader
        self._then = then

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        return self._loader.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        self._loader.exec_module(module)
        self._then()

    def __getattr__(self, name: str) -> Any:
        # The rest of the loader's interface (resource readers, get_source…).
        return getattr(self._loader, name)


# The core every live_api test uses: it reads the active cassette when called.
_ACTIVE_CORE = RecordingCore(active_cassette, active_passthrough)


# A test patches the same methods with the same core as the test before it:
# keep the hooks (wrapping a method costs a replayed test as much as its match).
@functools.lru_cache(maxsize=32)
def _hook(core: RecordingCore, original: Callable[..., Any], shell: _Shell, is_async: bool) -> Any:
    return (_async_hook if is_async else _sync_hook)(core, original, shell)


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


def _targets() -> list[_Target]:
    """Every method to patch now: httpx's, exllm_py's, and httpx2's if it is imported."""
    import httpx

    from exllm_py.pipeline.credentials import CredentialGuard
    from exllm_py.testing import transport

    targets: list[_Target] = [
        (CredentialGuard, "handle_request", transport.handle, False),
        (CredentialGuard, "handle_async_request", transport.ahandle, True),
        (httpx.HTTPTransport, "handle_request", transport.handle, False),
        (httpx.AsyncHTTPTransport, "handle_async_request", transport.ahandle, True),
    ]
    if sys.modules.get("httpx2") is not None:
        targets += _httpx2()
    return targets


def _httpx2() -> list[_Target]:
    import httpx2

    from exllm_py.testing import httpx2_transport

    return [
        (httpx2.HTTPTransport, "handle_request", httpx2_transport.handle, False),
        (httpx2.AsyncHTTPTransport, "handle_async_request", httpx2_transport.ahandle, True),
    ]
