"""Reaching Redis: the optional ``redis`` package, clients that fail fast, namespaces, URLs.

The ``redis`` package is the ``exllm_py[redis]`` extra. Nothing here
imports it at module level: :func:`import_redis` does when a client is
built, and says what to install when it is missing, so the rest of
exllm_py (and the CLI) works without it.

Clients never retry and time out slightly before the caller's ``timeout``:
redis-py retries failed commands by default, with backoff, which would
multiply what a dead server costs each call; the circuit breaker does the
retrying instead. The slack covers the OS timer's overshoot and redis-py's
cleanup after a timed-out read (about a millisecond).

Namespaces are limited to ``[A-Za-z0-9_./-]``, so the ``SCAN`` pattern of
one namespace (``<namespace>:*``) never matches the keys of another (``a:*``
would otherwise also match namespace ``a:b``).
"""

from __future__ import annotations

import asyncio
import re
import threading
from types import ModuleType
from typing import TYPE_CHECKING, Any, Final

from exllm_py.errors import ConfigurationError
from exllm_py.forksafe import renew_after_fork
from exllm_py.secret_patterns import hide_url_credentials

if TYPE_CHECKING:
    import redis
    import redis.asyncio

__all__ = [
    "INSTALL_HINT",
    "LoopClients",
    "check_namespace",
    "connect",
    "connect_async",
    "import_redis",
    "redact_url_password",
]

#: The message of the ``ImportError`` raised when the ``redis`` package is missing.
INSTALL_HINT: Final = "RedisStore needs the redis package: pip install 'exllm_py[redis]'"

_NAMESPACE = re.compile(r"[A-Za-z0-9_./-]+")
# The userinfo's password runs to the last "@" before the path (it may hold an "@").
# Sockets time out this much before ``timeout``: a timed-out read overshoots its
# deadline by the OS timer's slack, and redis-py then drops the connection.
_SLACK_S = 0.002


def import_redis() -> ModuleType:
    """The ``redis`` package (with ``redis.asyncio``); ``ImportError`` with the fix if missing."""
    try:
        import redis
        import redis.asyncio
        import redis.asyncio.retry
        import redis.backoff
        import redis.retry
    except ImportError as exc:
        raise ImportError(INSTALL_HINT) from exc
    return redis


def connect(url: str, timeout: float) -> redis.Redis:
    """A sync client for ``url`` whose operations end within ``timeout`` seconds, never retrying.

    ``ConfigurationError`` if ``url`` is not a Redis URL. Connecting is lazy:
    an unreachable server fails the first command, not this call.
    """
    module = import_redis()
    client: redis.Redis = _from_url(module.Redis, url, timeout, module.retry)
    return client


def connect_async(url: str, timeout: float) -> redis.asyncio.Redis:
    """Async twin of :func:`connect` (a ``redis.asyncio`` client, for one event loop)."""
    module = import_redis()
    client: redis.asyncio.Redis = _from_url(
        module.asyncio.Redis, url, timeout, module.asyncio.retry
    )
    return client


class LoopClients:
    """One :func:`connect_async` client per event loop (a ``redis.asyncio`` client is bound to
    the loop that first used it). Thread-safe."""

    def __init__(self, url: str, timeout: float) -> None:
        self.url = url
        self.timeout = timeout
        self._lock = threading.Lock()
        renew_after_fork(self, "_lock")
        self._clients: dict[asyncio.AbstractEventLoop, redis.asyncio.Redis] = {}

    def __repr__(self) -> str:
        return f"<LoopClients {redact_url_password(self.url)} loops={len(self._clients)}>"

    def current(self) -> redis.asyncio.Redis:
        """The running loop's client, created on first use."""
        loop = asyncio.get_running_loop()
        client = self._clients.get(loop)
        if client is None:
            with self._lock:
                client = self._clients.get(loop)
                if client is None:
                    # Clients of loops that have ended cannot be closed any more: drop them.
                    for ended in [other for other in self._clients if other.is_closed()]:
                        del self._clients[ended]
                    client = self._clients[loop] = connect_async(self.url, self.timeout)
        return client

    async def aclose(self) -> None:
        """Close the running loop's client, if it has one."""
        with self._lock:
            client = self._clients.pop(asyncio.get_running_loop(), None)
        if client is not None:
            await client.aclose()


def check_namespace(namespace: str) -> str:
    """``namespace`` if it is one (letters, digits, ``_ . / -``); else ``ValueError``."""
    if not isinstance(namespace, str) or not _NAMESPACE.fullmatch(namespace):
        raise ValueError(
            f"Redis namespace must be letters, digits, '_', '.', '/' or '-', got {namespace!r} "
            "(':' is reserved as the separator between namespace and key)"
        )
    return namespace


def redact_url_password(url: str) -> str:
    """``url`` with its password replaced by ``***``, for messages, reprs and output.

    Both places redis-py reads a password from are covered: the userinfo
    (``redis://:pw@host``) and the ``password`` query parameter
    (``redis://host/0?password=pw``); the user name stays. This is
    :func:`~exllm_py.secret_patterns.hide_url_credentials` with ``***`` in
    place of each secret, so a URL too malformed to parse is cleaned all the same.
    """
    return hide_url_credentials(url, replacement="***", keep_user=True)


def _from_url(factory: Any, url: str, timeout: float, retry_module: ModuleType) -> Any:
    # ``factory`` is redis.Redis or redis.asyncio.Redis, ``retry_module`` the matching
    # ``retry`` module: the two clients share ``from_url`` but not their Retry class.
    backoff = import_redis().backoff.NoBackoff()
    socket_timeout = timeout - min(_SLACK_S, timeout / 4)
    try:
        return factory.from_url(
            url,
            socket_timeout=socket_timeout,
            socket_connect_timeout=socket_timeout,
            retry=retry_module.Retry(backoff, 0),
        )
    except ValueError as exc:
        # No "://" right before the credentials of the example: the error's
        # redaction would take them for a password and garble the hint.
        raise ConfigurationError(
            f"{redact_url_password(url)!r} is not a Redis URL ({exc}); expected "
            "redis://host:port/db (user:password@host when the server wants credentials), "
            "rediss://… for TLS or unix:///path/to/socket"
        ) from exc
