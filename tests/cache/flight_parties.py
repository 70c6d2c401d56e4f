"""Who takes part in a single-flight test, and how such a test waits for them.

Shared by the single-flight tests: a stand-in caller with a key and a
timeout, and a bounded poll for what happens in another thread.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import attrs

if TYPE_CHECKING:
    from exllm_py.cache.production import ProductionStrategy
    from tests.fakes.held_reply import HeldReply

__all__ = ["Asker", "asked_while_held", "eventually", "outcome_of"]


@attrs.frozen
class Asker:
    """A party to a flight: a key it sends and a timeout it allows."""

    key: str | None = "sk-alice"
    timeout: float | None = 30.0

    @property
    def caller(self) -> Asker:
        return self

    def credential(self) -> str | None:
        return self.key


def eventually(condition: Callable[[], bool], within: float = 5.0) -> None:
    """Wait for ``condition``, polling: what the test waits on happens in another thread."""
    deadline = time.monotonic() + within
    while not condition():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.005)


def outcome_of(call: Callable[[], object]) -> tuple[threading.Thread, list[object]]:
    """Run ``call`` in a thread; the list receives its answer or its error."""
    outcome: list[object] = []

    def run() -> None:
        try:
            outcome.append(call())
        except Exception as exc:
            outcome.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    return thread, outcome


def asked_while_held(
    held: HeldReply,
    strategy: ProductionStrategy,
    leader: Callable[[], Any],
    follower: Callable[[], Any],
) -> tuple[object, object]:
    """``leader`` is held at the server until ``follower`` waits on its flight; both outcomes."""
    lead, led = outcome_of(leader)
    follow: threading.Thread | None = None
    try:
        assert held.arrived.wait(5), "the leader's request never reached the server"
        follow, followed = outcome_of(follower)
        eventually(lambda: strategy.waiting() == 1)
    finally:
        held.release.set()
    for thread in (lead, follow):
        if thread is not None:
            thread.join(10)
            assert not thread.is_alive(), "a call is still running after 10 s"
    return led[0], followed[0]
