"""The production store the environment names, for ``EXLLM_CACHE_STRATEGY=production``.

=========================  ==================================================
``EXLLM_CACHE_BACKEND``    ``memory`` (default), ``disk`` or ``redis``
``EXLLM_CACHE_DIR``        ``disk``: the store's directory (default: the
                           user cache dir, ``~/.cache/exllm_py`` on Linux)
``EXLLM_CACHE_MAX_BYTES``  ``memory`` and ``disk``: the bound on stored bytes,
                           a whole number, optionally with a ``K``, ``M`` or
                           ``G`` suffix (powers of 1024)
``EXLLM_REDIS_URL``        ``redis``: the server (default
                           ``redis://localhost:6379/0``)
=========================  ==================================================

A value that cannot be used is a ``ConfigurationError`` naming the
variable. The disk and Redis stores are imported only when named, so
neither ``sqlite3`` nor ``redis`` is loaded for the default.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from exllm_py.cache.stores.base import CacheStore
from exllm_py.cache.stores.memory import MemoryStore
from exllm_py.errors import ConfigurationError, ValidationError

__all__ = [
    "BACKEND_ENV",
    "DIR_ENV",
    "MAX_BYTES_ENV",
    "REDIS_URL_ENV",
    "byte_count",
    "store_from_env",
]

BACKEND_ENV: Final = "EXLLM_CACHE_BACKEND"
DIR_ENV: Final = "EXLLM_CACHE_DIR"
MAX_BYTES_ENV: Final = "EXLLM_CACHE_MAX_BYTES"
REDIS_URL_ENV: Final = "EXLLM_REDIS_URL"

_UNITS: Final = {"K": 1024, "M": 1024**2, "G": 1024**3}


def store_from_env(env: Mapping[str, str]) -> CacheStore:
    """The store ``EXLLM_CACHE_BACKEND`` names, set up from the variables beside it."""
    backend = env.get(BACKEND_ENV, "").strip().lower() or "memory"
    options: dict[str, Any] = {}
    if env.get(MAX_BYTES_ENV, "").strip() and backend != "redis":
        options["max_bytes"] = byte_count(env[MAX_BYTES_ENV])
    try:
        if backend == "memory":
            return MemoryStore(**options)
        if backend == "disk":
            from exllm_py.cache.stores.disk import DiskStore

            return DiskStore(env.get(DIR_ENV, "").strip() or None, **options)
        if backend == "redis":
            from exllm_py.cache.stores.redis import RedisStore

            return RedisStore(env.get(REDIS_URL_ENV, "").strip() or "redis://localhost:6379/0")
    except (ValidationError, ConfigurationError) as exc:
        raise ConfigurationError(f"{_names(backend)}: {exc}") from exc
    raise ConfigurationError(
        f"{BACKEND_ENV}={backend!r} is not a cache backend; use memory, disk or redis"
    )


def byte_count(text: str) -> int:
    """``EXLLM_CACHE_MAX_BYTES``'s value in bytes; ``ConfigurationError`` naming it if not one."""
    number, unit = text.strip(), 1
    if number[-1:].upper() in _UNITS:
        number, unit = number[:-1].strip(), _UNITS[number[-1].upper()]
    if not number.isdigit() or int(number) < 1:
        raise ConfigurationError(
            f"{MAX_BYTES_ENV}={text!r} is not a size; use a whole number of bytes "
            "of at least 1, optionally with K, M or G (such as 512M)"
        )
    return int(number) * unit


def _names(backend: str) -> str:
    """The variables behind a backend's settings, for a message about one of them."""
    return {
        "disk": f"{BACKEND_ENV}=disk with {DIR_ENV} / {MAX_BYTES_ENV}",
        "redis": f"{BACKEND_ENV}=redis with {REDIS_URL_ENV}",
    }.get(backend, f"{BACKEND_ENV}={backend} with {MAX_BYTES_ENV}")
