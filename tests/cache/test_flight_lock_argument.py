"""ProductionStrategy's ``lock`` is checked like every other object argument."""

from __future__ import annotations

from typing import Any

import pytest

from exllm_py.cache.distributed_lock import RedisFlightLock
from exllm_py.cache.production import ProductionStrategy
from exllm_py.cache.stores.memory import MemoryStore
from exllm_py.errors import ValidationError


class _OnlyRun:
    def run(self, *args: Any) -> None:
        raise AssertionError("never called")


@pytest.mark.parametrize(
    ("lock", "said"),
    [
        (RedisFlightLock, "RedisFlightLock"),  # the class, not an instance
        (object(), "it has no run, arun"),
        (_OnlyRun(), "it has no arun"),
        ("redis://localhost", "it has no run, arun"),
    ],
)
def test_a_lock_that_is_not_a_flight_lock_is_refused_at_once(lock: Any, said: str) -> None:
    """Refused when the strategy is made, not on its first miss."""
    with pytest.raises(ValidationError, match="ProductionStrategy lock must be a flight lock") as e:
        ProductionStrategy(MemoryStore(cleanup_interval=None), lock=lock)
    assert said in str(e.value)
