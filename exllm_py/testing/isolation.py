"""Keeping tests apart, and ``live_api`` tests recorded, without undoing the user's choices.

The pytest plugin calls these around each test; they are plain functions so
the rules are readable (and testable) in one place:

- :func:`choose_strategy_env`: at the start of the run, ``EXLLM_CACHE_STRATEGY``
  becomes ``test`` only if the user left it unset. ``none`` or ``production``
  stays as the user set it.
- :func:`start_test`: before each test, the default client's cache is
  started afresh, only when it is a :class:`TestStrategy`'s own production
  cache (what the environment made). Neither the default client nor a
  strategy the user passed to ``exllm_py.configure()`` is ever replaced.
- :func:`recording_default_client`: a ``live_api`` test must record or replay
  whatever strategy the user chose, or CI (replay only, no keys) would reach
  the network. The recorder is installed by ``TestStrategy.wrap_transport``,
  so for the test's duration:

  * a default client whose strategy is not a ``TestStrategy`` (the user's
    ``none`` / ``production``, or a strategy given to ``configure()``) gets
    that same strategy wrapped as a ``TestStrategy``'s delegate: it still
    wraps the transport as it did, and the test's calls go through the
    recorder. When the test ends the user's strategy is put back, unchanged;
  * ``EXLLM_CACHE_STRATEGY`` reads ``test``, so a ``Client()`` the test
    creates records too. The user's value is restored when the test ends.
- :func:`sealed`: the test's cassette becomes the one in use, and every
  httpx and httpx2 request the test makes goes through the recorder, from
  clients of any strategy, SDKs, or raw clients alike
  (:mod:`~exllm_py.testing.interception`), except to the passthrough hosts.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator, MutableMapping
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from exllm_py.cache.strategy import CacheStrategy
    from exllm_py.testing.cassette import Cassette
    from exllm_py.testing.strategy import TestStrategy

# The strategy, the cassette and the interception are imported in the functions
# that use them: the plugin imports this module in every run (for
# choose_strategy_env), and a run with no live_api test needs none of them.

__all__ = [
    "STRATEGY_ENV",
    "choose_strategy_env",
    "recording_default_client",
    "sealed",
    "start_test",
]

#: The variable ``exllm_py.Client`` picks its default strategy from.
STRATEGY_ENV = "EXLLM_CACHE_STRATEGY"
_TEST = "test"

# The user's strategy last wrapped for a live_api test, and its wrapper. The
# same wrapper serves every test while the user's strategy stays the same, so
# the client swaps between two strategies it knows and builds no new
# transports (it keeps the httpx clients of the strategy it swapped out).
_last_wrapped: tuple[CacheStrategy, TestStrategy] | None = None


def choose_strategy_env(env: MutableMapping[str, str]) -> bool:
    """Set ``EXLLM_CACHE_STRATEGY=test`` in ``env`` unless the user chose a strategy.

    Returns whether it was set (the caller restores the previous state at
    the end of the run). Empty counts as unset, as it does for the client.
    """
    if env.get(STRATEGY_ENV, "").strip():
        return False
    env[STRATEGY_ENV] = _TEST
    return True


def start_test() -> None:
    """Give the coming test a fresh cache, if the default client's is a TestStrategy's own."""
    # The module global, not default_client(): nothing to reset if no client
    # exists yet, and none exists until something imported the client module
    # (so a plain test does not import it here).
    module = sys.modules.get("exllm_py.client")
    client = None if module is None else module._default
    if client is not None:
        from exllm_py.testing.strategy import TestStrategy

        strategy = client.cache_strategy
        if isinstance(strategy, TestStrategy):
            strategy.reset()


@contextmanager
def recording_default_client(env: MutableMapping[str, str] | None = None) -> Iterator[None]:
    """For a ``live_api`` test: route the default client and new clients through the recorder.

    See the module docstring; what the user configured is back when the block ends.
    """
    import exllm_py.client
    from exllm_py.testing.strategy import TestStrategy

    env = os.environ if env is None else env
    # Created first (if need be) from the user's own environment, so that the
    # strategy restored afterwards is the one the user chose.
    client = exllm_py.client.default_client()
    chosen = client.cache_strategy
    wrapper = None if isinstance(chosen, TestStrategy) else _wrapper_of(chosen)
    if wrapper is not None:
        client.cache_strategy = wrapper
    previous = env.get(STRATEGY_ENV)
    overridden = (previous or "").strip().lower() != _TEST
    if overridden:
        env[STRATEGY_ENV] = _TEST
    try:
        yield
    finally:
        if overridden:
            if previous is None:
                env.pop(STRATEGY_ENV, None)
            else:
                env[STRATEGY_ENV] = previous
        # Unless the test configured a strategy of its own meanwhile.
        if wrapper is not None and client.cache_strategy is wrapper:
            client.cache_strategy = chosen


def _wrapper_of(chosen: CacheStrategy) -> TestStrategy:
    """A TestStrategy delegating to ``chosen``: the one made for it before, if any."""
    from exllm_py.testing.strategy import TestStrategy

    global _last_wrapped
    last = _last_wrapped
    if last is None or last[0] is not chosen:
        last = _last_wrapped = (chosen, TestStrategy(chosen))
    return last[1]


@contextmanager
def sealed(cassette: Cassette, passthrough_hosts: frozenset[str] = frozenset()) -> Iterator[None]:
    """For a ``live_api`` test: ``cassette`` in use, and every httpx/httpx2 request through it.

    Requests to ``passthrough_hosts`` go to the network unrecorded (see
    :mod:`~exllm_py.testing.passthrough`). The libraries' own methods are
    back when the block ends.
    """
    from exllm_py.testing.interception import intercepting
    from exllm_py.testing.strategy import recording

    with recording(cassette, passthrough_hosts=passthrough_hosts), intercepting():
        yield
