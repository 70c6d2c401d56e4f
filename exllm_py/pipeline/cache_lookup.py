"""The cache step's pure half: the key and labels the strategy decides on."""

from __future__ import annotations

from exllm_py.cache.keys import digest, explicit_key
from exllm_py.cache.strategy import CacheLookup
from exllm_py.pipeline.call import Call
from exllm_py.pipeline.validate import check_messages, check_option_values

__all__ = ["derive_lookup"]


def derive_lookup(call: Call) -> CacheLookup:
    """The key from provider, base URL, model, messages and answer options, plus labels.

    An explicit ``cache_key`` replaces the derived one (hashed with its
    namespace, so it stays inside it).
    """
    config, control = call.config, call.cache
    assert config is not None, "configuration runs first"
    if control.key is not None:
        # An explicit key covers neither messages nor options: a hit proves nothing.
        check_messages(call)
        check_option_values(call)
        key = explicit_key(control.key, control.namespace)
    else:
        key = digest(
            call.provider,
            config.base_url,
            call.model,
            call.messages,
            call.answer_options,
            control.namespace,
        )
    # tuple.__new__ is what CacheLookup(...) calls, minus a Python-level frame
    # that costs this per-hit step a fifth of its own time.
    # The lookup holds the call (its ``caller``), so the call must not hold the
    # lookup: a reference cycle per call would leave every call to the garbage collector.
    return _new(CacheLookup, (key, control, call.provider, call.model, config.timeout, call))


_new = tuple.__new__
