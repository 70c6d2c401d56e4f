"""The plug contract, and the markers for the two steps the runner carries out itself."""

from __future__ import annotations

from typing import Protocol

import attrs

from exllm_py.pipeline.call import Call
from exllm_py.types import LLMResponse

__all__ = ["CACHE", "EXECUTE", "Halt", "Marker", "Plug"]


@attrs.frozen
class Halt:
    """Returned by a plug to stop the pipeline with ``response`` (a cache hit does this)."""

    response: LLMResponse


class Plug(Protocol):
    """One step: reads and fills in the call, returns ``Halt`` to end the pipeline early.

    Plugs do no I/O, so the same plug serves sync and async calls.
    """

    def __call__(self, call: Call) -> Halt | None: ...


@attrs.frozen
class Marker:
    """A step the runner performs itself, because it differs between sync and async."""

    name: str


#: Consult the call's cache strategy, with the rest of the pipeline as the way to compute.
CACHE = Marker("cache")
#: Send the built request over HTTP.
EXECUTE = Marker("execute")
