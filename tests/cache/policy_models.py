"""Reference models of the eviction policies: plain lists and counts, slow and plainly right.

Each model answers what its policy should: which key goes next, given the
inserts, hits and removals so far. The stateful tests run a policy, or a
store holding one, side by side with its model.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from exllm_py.cache.stores.lfu import LFU
from exllm_py.cache.stores.policies import FIFO, LRU
from exllm_py.cache.stores.policy import EvictionPolicy

__all__ = ["FIFOModel", "LFUModel", "LRUModel", "PolicyModel", "paired"]


class PolicyModel(Protocol):
    """What the tests ask of a model: the policy's events, and the key that should go next."""

    def insert(self, key: str) -> None: ...

    def hit(self, key: str) -> None: ...

    def remove(self, key: str) -> None: ...

    def victim(self) -> str: ...


class LRUModel:
    """Keys in the order of their last store or read, oldest first."""

    def __init__(self) -> None:
        self.order: list[str] = []

    def insert(self, key: str) -> None:
        self.order.append(key)

    def hit(self, key: str) -> None:
        self.order.remove(key)
        self.order.append(key)

    def remove(self, key: str) -> None:
        self.order.remove(key)

    def victim(self) -> str:
        return self.order[0]


class FIFOModel(LRUModel):
    """Keys in the order they were stored; a read changes nothing."""

    def hit(self, key: str) -> None:
        pass


class LFUModel:
    """Each key's use count and the moment of its last use; the smallest pair goes."""

    def __init__(self) -> None:
        self.uses: dict[str, tuple[int, int]] = {}
        self.moment = 0

    def insert(self, key: str) -> None:
        self.uses[key] = (1, self._now())

    def hit(self, key: str) -> None:
        self.uses[key] = (self.uses[key][0] + 1, self._now())

    def remove(self, key: str) -> None:
        del self.uses[key]

    def victim(self) -> str:
        return min(self.uses, key=self.uses.__getitem__)

    def _now(self) -> int:
        self.moment += 1
        return self.moment


def paired() -> list[tuple[Callable[[], EvictionPolicy], Callable[[], PolicyModel]]]:
    """Each shipped policy beside its model."""
    return [(LRU, LRUModel), (LFU, LFUModel), (FIFO, FIFOModel)]
