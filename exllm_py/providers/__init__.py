"""Providers: one module per wire format, each a pure adapter (no I/O).

``openai`` (chat completions, also used by the OpenAI-compatible presets in
``registry``), ``anthropic`` (messages), ``gemini`` (generateContent),
``mock`` (an in-process transport answering in the OpenAI format, offline),
plus ``sse`` (event-stream decoding), ``wire`` (what the adapters share:
JSON POSTs, message text, tool arguments), ``http_errors`` (status →
exception) and ``pricing`` (USD per million tokens). ``reading`` undoes the
adapters: a recorded request read back into the calls that send it.

May import: ``exllm_py.types``, ``request``, ``errors``; never the pipeline,
cache or testing packages.
"""

from exllm_py.providers.adapter import ProviderAdapter
from exllm_py.providers.config import ProviderConfig, ProviderSpec

__all__ = ["ProviderAdapter", "ProviderConfig", "ProviderSpec"]
