"""Integers too large for a float are refused as out of bounds, naming the argument.

``10**400`` is a valid ``int`` that ``float()`` (and so ``math.isnan``)
cannot take: every check compares it as it is and raises ``ValidationError``,
never ``OverflowError``, through every public entry point.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

import exllm_py
from exllm_py import Client
from exllm_py.cache.arguments import MAX_STORE_TIMEOUT, check_count, check_seconds, check_ttl
from exllm_py.cache.production import ProductionStrategy
from exllm_py.cache.stores.breaker import CircuitBreaker
from exllm_py.cache.stores.memory import MemoryStore
from exllm_py.cache.stores.redis import RedisStore
from exllm_py.cache.stores.tiered import TieredStore
from exllm_py.errors import ValidationError

MESSAGES = [{"role": "user", "content": "hi"}]
HUGE = [10**400, -(10**400), 10**5000]


def _memory() -> MemoryStore:
    return MemoryStore(cleanup_interval=None)


ENTRY_POINTS: dict[str, Callable[[Any], object]] = {
    "cache_ttl": lambda value: exllm_py.chat("mock", MESSAGES, cache_ttl=value),
    "timeout": lambda value: exllm_py.chat("mock", MESSAGES, timeout=value),
    "Client timeout": lambda value: Client(timeout=value),
    "MemoryStore default_ttl": lambda value: MemoryStore(default_ttl=value),
    "MemoryStore cleanup_interval": lambda value: MemoryStore(cleanup_interval=value),
    "MemoryStore max_entries": lambda value: MemoryStore(max_entries=-abs(value)),
    "TieredStore l1_ttl": lambda value: TieredStore(_memory(), _memory(), l1_ttl=value),
    "RedisStore default_ttl": lambda value: RedisStore(default_ttl=value),
    "RedisStore timeout": lambda value: RedisStore(timeout=value),
    "CircuitBreaker cooldown": lambda value: CircuitBreaker(cooldown=value),
}


@pytest.mark.parametrize("value", HUGE, ids=["1e400", "-1e400", "1e5000"])
@pytest.mark.parametrize("name", sorted(ENTRY_POINTS))
def test_a_huge_integer_is_a_validation_error_naming_the_argument(name: str, value: int) -> None:
    """Not an OverflowError, and not a message thousands of digits long."""
    with pytest.raises(ValidationError, match=name) as raised:
        ENTRY_POINTS[name](value)
    message = str(raised.value)
    assert "digits" in message
    assert len(message) < 300


@pytest.mark.parametrize("name", ["cache_ttl", "timeout"])
async def test_a_huge_integer_per_async_call_is_a_validation_error(name: str) -> None:
    with pytest.raises(ValidationError, match=name):
        await exllm_py.achat("mock", MESSAGES, **{name: 10**400})


def test_a_per_call_huge_ttl_fails_before_the_provider_is_called() -> None:
    strategy = ProductionStrategy(_memory())
    mock = exllm_py.MockProvider("Paris.")
    with (
        Client(cache_strategy=strategy, mock=mock) as client,
        pytest.raises(ValidationError, match="cache_ttl"),
    ):
        client.chat("mock", MESSAGES, cache_ttl=10**400)
    assert mock.calls == 0


@pytest.mark.parametrize(
    "check",
    [
        lambda value: check_ttl("ttl", value),
        lambda value: check_seconds("wait", value, maximum=10.0),
        lambda value: check_count("count", -value),
    ],
)
def test_every_check_refuses_a_huge_integer(check: Callable[[int], object]) -> None:
    with pytest.raises(ValidationError):
        check(10**400)


def test_small_integers_are_still_shown_in_full() -> None:
    with pytest.raises(ValidationError, match="100000000000000000000"):
        check_ttl("ttl", 10**20)


def test_integers_within_bounds_are_accepted() -> None:
    assert check_ttl("ttl", 60) == 60
    assert check_seconds("wait", 1, maximum=10.0) == 1
    assert MemoryStore(default_ttl=3600, cleanup_interval=None).default_ttl == 3600


class TestStoreTimeoutCap:
    """RedisStore's per-operation cap is the one in arguments.py (a minute)."""

    def test_the_cap_itself_is_accepted(self) -> None:
        store = RedisStore(timeout=MAX_STORE_TIMEOUT)
        assert store.timeout == MAX_STORE_TIMEOUT
        store.close()

    def test_beyond_the_cap_is_refused_saying_so(self) -> None:
        with pytest.raises(ValidationError, match=r"RedisStore timeout .* at most 60 \(a minute\)"):
            RedisStore(timeout=MAX_STORE_TIMEOUT + 0.5)


@pytest.mark.parametrize("value", HUGE, ids=["1e400", "-1e400", "1e5000"])
def test_range_checked_options_refuse_a_huge_integer(value: int) -> None:
    """temperature, top_p and the penalties: refused, not an OverflowError."""
    from exllm_py.pipeline.validate import _number

    with pytest.raises(ValidationError, match="temperature must be between"):
        _number("temperature", value, 0.0, 2.0)
