"""The request pipeline: an ordered list of plugs that every call runs through.

validate provider → validate options → fetch configuration → cache →
validate messages → validate option values → build request → execute over
HTTP → parse response → track cost.

Messages and the values of the options sent to the provider are validated
after the cache step on purpose: the cache key covers all of them, and only
validated calls are ever stored, so a hit proves they passed validation
already, and checking them again would cost a cache hit a third of its time.
A miss validates them before anything is built or sent; with an explicit
``cache_key`` (which covers neither) they are validated before the lookup.
Option names, the model and the cache controls are checked up front: an
unknown option (a typo) does not enter the key, and the controls steer the
lookup itself.

Each plug is a small callable with one job (:mod:`exllm_py.pipeline.plug`).
Plugs are pure: they read and fill in the :class:`~exllm_py.pipeline.call.Call`
and may halt the pipeline with a response. The two steps that are not pure,
the cache decision and the HTTP exchange, are markers that the runner's thin
sync and async shells carry out (:mod:`exllm_py.pipeline.runner`), so the
logic of every step is written once for ``chat``, ``achat``, ``stream`` and
``astream``.

May import: ``exllm_py.types``, ``errors``, ``request``, ``providers``, the
``CacheStrategy`` protocol and ``cache.keys``; never a concrete strategy.
"""

from exllm_py.pipeline.call import Call
from exllm_py.pipeline.runner import DEFAULT_PIPELINE, Pipeline

__all__ = ["DEFAULT_PIPELINE", "Call", "Pipeline"]
