"""Checks of the cache's settings: TTLs (per call and per store), sizes, intervals, clocks.

Each check raises :class:`~exllm_py.errors.ValidationError` (also a
``ValueError``) naming the argument, what was expected and what came, so a
bad setting fails where it is written, before any I/O, rather than as a
``TypeError`` or ``OverflowError`` after a paid provider call.

TTLs are capped at :data:`MAX_TTL` (ten years). Beyond that no cache entry
is meaningfully different from one that never expires (``None``), and the
larger values break somewhere: ``10**20`` is no JSON integer an entry can
carry, ``1e308`` seconds is no Redis ``PX``, ``inf`` no integer at all.
"""

from __future__ import annotations

import math
from typing import Any, Final

from exllm_py.errors import ValidationError

__all__ = [
    "MAX_TTL",
    "check_callable",
    "check_count",
    "check_seconds",
    "check_store",
    "check_ttl",
]

#: The longest TTL a call or a store accepts, in seconds (ten years); ``None`` never expires.
MAX_TTL: Final = 10 * 365 * 86_400


def check_ttl(name: str, value: Any) -> float | None:
    """``value`` if it is a TTL: ``None``, or seconds above 0 and at most :data:`MAX_TTL`."""
    if value is None:
        return None
    return check_seconds(name, value, maximum=MAX_TTL, none_means="never expires")


def check_seconds(name: str, value: Any, *, maximum: float, none_means: str | None = None) -> float:
    """``value`` if it is a finite number of seconds above 0 and at most ``maximum``.

    ``none_means`` says what ``None`` does for this argument, for the message.
    """
    if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
        raise ValidationError(
            f"{name} must be a positive number of seconds, got {value!r}{_or(none_means)}"
        )
    if not 0 < value <= maximum:
        raise ValidationError(
            f"{name} must be a positive number of seconds, at most {_duration(maximum)}, "
            f"got {value!r}{_or(none_means)}"
        )
    return value


def check_count(name: str, value: Any, *, minimum: int = 1) -> int:
    """``value`` if it is an ``int`` (not a bool) of at least ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError(f"{name} must be an integer, got {value!r}")
    if value < minimum:
        raise ValidationError(f"{name} must be at least {minimum}, got {value!r}")
    return value


def check_callable(name: str, value: Any, expected: str) -> None:
    """Refuse ``value`` unless it can be called; ``expected`` describes what it should be."""
    if not callable(value):
        raise ValidationError(f"{name} must be {expected}, got {value!r}")


#: What a CacheStore has (see :class:`~exllm_py.cache.stores.base.CacheStore`).
_STORE_ATTRIBUTES: Final = (
    "get",
    "set",
    "delete",
    "clear",
    "aget",
    "aset",
    "adelete",
    "stats",
    "default_ttl",
    "clock",
)


def check_store(name: str, value: Any) -> None:
    """Refuse ``value`` unless it has what a ``CacheStore`` has (a class, say, is not one)."""
    missing = [attribute for attribute in _STORE_ATTRIBUTES if not hasattr(value, attribute)]
    if missing or isinstance(value, type):
        lacks = f" (it has no {', '.join(missing)})" if missing else ""
        raise ValidationError(
            f"{name} must be a cache store such as MemoryStore() or RedisStore(url), "
            f"got {value!r}{lacks}"
        )


def _duration(seconds: float) -> str:
    if seconds == MAX_TTL:
        return f"{MAX_TTL:,} (ten years)"
    return f"{seconds:g}"


def _or(none_means: str | None) -> str:
    return "" if none_means is None else f" (or None: {none_means})"
