"""Checks of settings: TTLs, timeouts, sizes, intervals, clocks, and the objects passed in.

Each check raises :class:`~exllm_py.errors.ValidationError` (also a
``ValueError``) naming the argument, what was expected and what came, so a
bad setting fails where it is written, before any I/O, rather than as a
``TypeError`` or ``OverflowError`` after a paid provider call. The cache's
stores and strategies use them, and so do the client and its per-call options.

TTLs are capped at :data:`MAX_TTL` (ten years). Beyond that no cache entry
is meaningfully different from one that never expires (``None``), and the
larger values break somewhere: ``10**20`` is no JSON integer an entry can
carry, ``1e308`` seconds is no Redis ``PX``, ``inf`` no integer at all.

Timeouts and waits are capped at :data:`MAX_TIMEOUT` (a week): sockets and
locks refuse timeouts much beyond ~1e9 seconds (``OverflowError``), and
waiting without end is what ``timeout=None`` is for, where it is offered.
A store's own operations are capped lower, at :data:`MAX_STORE_TIMEOUT`
(a minute).

Bounds are compared with the value as given, and only floats are asked
whether they are NaN, so an ``int`` too large for a float (``10**400``) is
refused as out of bounds rather than raising ``OverflowError``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Final, TypeGuard

from exllm_py.errors import ValidationError

__all__ = [
    "MAX_STORE_TIMEOUT",
    "MAX_TIMEOUT",
    "MAX_TTL",
    "check_callable",
    "check_count",
    "check_has",
    "check_instance",
    "check_seconds",
    "check_store",
    "check_strategy",
    "check_text",
    "check_ttl",
    "is_number",
    "shown",
]

#: The longest TTL a call or a store accepts, in seconds (ten years); ``None`` never expires.
MAX_TTL: Final = 10 * 365 * 86_400
#: The longest timeout or wait a call, a client or a lock accepts, in seconds (a week).
MAX_TIMEOUT: Final = 7 * 86_400
#: The longest timeout of one store operation (a Redis command), in seconds (a minute):
#: a cache slower than that is no faster than the provider it saves a call to.
MAX_STORE_TIMEOUT: Final = 60


def check_ttl(name: str, value: Any) -> float | None:
    """``value`` if it is a TTL: ``None``, or seconds above 0 and at most :data:`MAX_TTL`."""
    if value is None:
        return None
    return check_seconds(name, value, maximum=MAX_TTL, none_means="never expires")


def check_seconds(name: str, value: Any, *, maximum: float, none_means: str | None = None) -> float:
    """``value`` if it is a finite number of seconds above 0 and at most ``maximum``.

    ``none_means`` says what ``None`` does for this argument, for the message.
    """
    if not is_number(value):
        raise ValidationError(
            f"{name} must be a positive number of seconds, got {shown(value)}{_or(none_means)}"
        )
    # Compared as they are: an int too large for a float (10**400) is out of
    # bounds, not an OverflowError.
    if not 0 < value <= maximum:
        raise ValidationError(
            f"{name} must be a positive number of seconds, at most {_duration(maximum)}, "
            f"got {shown(value)}{_or(none_means)}"
        )
    return value


def is_number(value: Any) -> TypeGuard[int | float]:
    """Whether ``value`` is an ``int`` (not a bool) or a ``float`` other than NaN.

    Only floats are asked ``isnan``: converting a huge ``int`` to ask would
    raise ``OverflowError``.
    """
    if isinstance(value, float):
        return not math.isnan(value)
    return isinstance(value, int) and not isinstance(value, bool)


def shown(value: Any) -> str:
    """``repr(value)`` for a message; an ``int`` too long to print usefully is summarized."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 256:
        # Printing it in full could take more digits than str() allows (4,300).
        digits = int(value.bit_length() * math.log10(2)) + 1
        return f"{'-' if value < 0 else ''}an integer of about {digits:,} digits"
    return repr(value)


def check_count(name: str, value: Any, *, minimum: int = 1) -> int:
    """``value`` if it is an ``int`` (not a bool) of at least ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError(f"{name} must be an integer, got {value!r}")
    if value < minimum:
        raise ValidationError(f"{name} must be at least {minimum}, got {shown(value)}")
    return value


def check_text(name: str, value: Any) -> str:
    """``value`` if it is a non-empty ``str``."""
    if not isinstance(value, str) or not value:
        raise ValidationError(f"{name} must be a non-empty string, got {value!r}")
    return value


def check_instance(name: str, value: Any, kind: type | tuple[type, ...], expected: str) -> None:
    """Refuse ``value`` unless it is a ``kind``; the message shows its type, never its contents."""
    if not isinstance(value, kind):
        raise ValidationError(f"{name} must be {expected}, got {type(value).__name__}")


def check_callable(name: str, value: Any, expected: str) -> None:
    """Refuse ``value`` unless it can be called; ``expected`` describes what it should be."""
    if not callable(value):
        raise ValidationError(f"{name} must be {expected}, got {value!r}")


def check_has(name: str, value: Any, attributes: Sequence[str], expected: str) -> None:
    """Refuse ``value`` unless it is an object (not a class) with every one of ``attributes``.

    ``expected`` describes what it should be; the message lists what it lacks.
    """
    missing = [attribute for attribute in attributes if not hasattr(value, attribute)]
    if missing or isinstance(value, type):
        lacks = f" (it has no {', '.join(missing)})" if missing else ""
        raise ValidationError(f"{name} must be {expected}, got {value!r}{lacks}")


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

#: What a CacheStrategy has (see :class:`~exllm_py.cache.strategy.CacheStrategy`).
_STRATEGY_ATTRIBUTES: Final = (
    "fetch",
    "afetch",
    "wrap_transport",
    "wrap_async_transport",
    "stats",
)


def check_store(name: str, value: Any) -> None:
    """Refuse ``value`` unless it has what a ``CacheStore`` has (a class, say, is not one)."""
    check_has(
        name, value, _STORE_ATTRIBUTES, "a cache store such as MemoryStore() or RedisStore(url)"
    )


def check_strategy(name: str, value: Any) -> None:
    """Refuse ``value`` unless it has what a ``CacheStrategy`` has (a class, say, is not one)."""
    check_has(
        name,
        value,
        _STRATEGY_ATTRIBUTES,
        "a cache strategy such as ProductionStrategy(), TestStrategy() or NoCache()",
    )


def _duration(seconds: float) -> str:
    if seconds == MAX_TTL:
        return f"{MAX_TTL:,} (ten years)"
    if seconds == MAX_TIMEOUT:
        return f"{MAX_TIMEOUT:,} (a week)"
    if seconds == MAX_STORE_TIMEOUT:
        return f"{MAX_STORE_TIMEOUT} (a minute)"
    return f"{seconds:g}"


def _or(none_means: str | None) -> str:
    return "" if none_means is None else f" (or None: {none_means})"
