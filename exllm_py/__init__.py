"""exllm_py: an LLM client whose calls run through one cache decision point.

>>> import exllm_py
>>> resp = exllm_py.chat("mock", [{"role": "user", "content": "Hi"}])
>>> resp.content
'mock response to: Hi'

The public names are imported on first use (PEP 562): the pytest plugin
imports this package in every test run, and a run whose tests never use the
client must not pay for importing it (httpx, structlog, the pipeline, the
providers and the caches).
"""

from __future__ import annotations

import importlib
import typing

# (typing imported whole: the package's namespace holds only its public names.)
if typing.TYPE_CHECKING:
    from exllm_py import errors, telemetry
    from exllm_py.assembly import StreamAssembler, assemble
    from exllm_py.cache.decorator import cached
    from exllm_py.client import Client, achat, astream, chat, configure, stream
    from exllm_py.embedding import aembed, embed
    from exllm_py.providers.mock import MockProvider
    from exllm_py.types import (
        LLMResponse,
        Message,
        StreamChunk,
        ToolCall,
        ToolCallDelta,
        Usage,
    )

__all__ = [
    "Client",
    "LLMResponse",
    "Message",
    "MockProvider",
    "StreamAssembler",
    "StreamChunk",
    "ToolCall",
    "ToolCallDelta",
    "Usage",
    "achat",
    "aembed",
    "assemble",
    "astream",
    "cached",
    "chat",
    "configure",
    "embed",
    "errors",
    "stream",
    "telemetry",
]
__version__ = "0.1.0"

# Public name -> the module that defines it (None: the name is a submodule).
_ORIGINS: dict[str, str | None] = {
    "Client": "exllm_py.client",
    "LLMResponse": "exllm_py.types",
    "Message": "exllm_py.types",
    "MockProvider": "exllm_py.providers.mock",
    "StreamAssembler": "exllm_py.assembly",
    "StreamChunk": "exllm_py.types",
    "ToolCall": "exllm_py.types",
    "ToolCallDelta": "exllm_py.types",
    "Usage": "exllm_py.types",
    "achat": "exllm_py.client",
    "aembed": "exllm_py.embedding",
    "assemble": "exllm_py.assembly",
    "astream": "exllm_py.client",
    "cached": "exllm_py.cache.decorator",
    "chat": "exllm_py.client",
    "configure": "exllm_py.client",
    "embed": "exllm_py.embedding",
    "errors": None,
    "stream": "exllm_py.client",
    "telemetry": None,
}


def __getattr__(name: str) -> typing.Any:
    origin = _ORIGINS.get(name)
    if name in _ORIGINS:
        value = (
            importlib.import_module(f"{__name__}.{name}")
            if origin is None
            else getattr(importlib.import_module(origin), name)
        )
    elif name.startswith("_"):
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    else:
        # A submodule nobody imported yet: ``import exllm_py`` used to import
        # most of them, and code may still reach them as attributes.
        try:
            value = importlib.import_module(f"{__name__}.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"{__name__}.{name}":
                raise
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
    # Kept, so the next access is a plain attribute read.
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
