"""A ``live_api`` test that must record but has no API key: the missing-key error, explained.

The pipeline fails a call with :class:`~exllm_py.errors.MissingAPIKey` only
when the request would leave for the provider. Inside a ``live_api`` test
that happens when the cassette records: in mode ``once`` the test has no
cassette yet, in ``new_episodes`` this request has no recording. The bare
"set OPENAI_API_KEY" then hides the real choice: set the key to record, or
get the recording from whoever made it, since replay-only (``none``, the
default under CI) would fail here too. :func:`explaining_missing_keys`
restates the error with that choice; the pytest plugin wraps each
``live_api`` test's body in it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from exllm_py.errors import MissingAPIKey
from exllm_py.testing.cassette import Cassette, RecordMode
from exllm_py.testing.strategy import active_cassette

__all__ = ["explain_missing_key", "explaining_missing_keys"]


@contextmanager
def explaining_missing_keys() -> Iterator[None]:
    """Restate a ``MissingAPIKey`` raised in the block when the cassette in use records."""
    try:
        yield
    except MissingAPIKey as exc:
        cassette = active_cassette()
        if cassette is None or not cassette.records:
            raise
        # Same class, so `except ConfigurationError` still catches it; the
        # traceback is the original's, which pytest shows from the test down.
        raise explain_missing_key(exc, cassette).with_traceback(exc.__traceback__) from None


def explain_missing_key(error: MissingAPIKey, cassette: Cassette) -> MissingAPIKey:
    """``error`` restated for a test whose ``cassette`` records: why the key, and the way out."""
    provider, env_var = error.provider or "the provider", error.env_var
    test = cassette.test_id or "the test"
    mode = cassette.mode
    if mode is RecordMode.ONCE:
        why = f"{test} has no cassette yet ({cassette.path}), and record mode 'once' records it"
    elif mode is RecordMode.NEW_EPISODES:
        why = f"{cassette.path} has no recording of this request, and mode 'new_episodes' adds it"
    else:
        why = f"record mode {mode.value!r} calls the provider for every request of {test}"
    set_it = f"set {env_var}" if env_var else "set its API key"
    lines = [
        f"no API key for {provider}, and recording needs one: {why}.",
        f"To record, {set_it} (or pass api_key=... to the call) and run again.",
    ]
    if mode in (RecordMode.ONCE, RecordMode.NEW_EPISODES):
        lines.append(
            "With --record-mode=none (replay only, the default under CI) this test would "
            "fail here too, with RecordingNotFound: there is nothing recorded to replay. "
            "Record it once where the key is set, and commit the cassette."
        )
    else:
        lines.append("To replay what the cassette holds instead, use --record-mode=none.")
    return MissingAPIKey("\n".join(lines), provider=error.provider, env_var=error.env_var)
