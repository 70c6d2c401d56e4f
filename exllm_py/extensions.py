"""Names of the httpx request/response extensions that layers use to talk to each other.

httpx carries an ``extensions`` dict on every request and response; these
are the keys exllm_py puts there.
"""

from __future__ import annotations

__all__ = ["FROM_CACHE", "MISSING_KEY", "PROVIDER"]

#: Request: set by the pipeline when no API key was found: ``(provider, env var to set)``.
MISSING_KEY = "exllm.missing_key"
#: Request: set by the pipeline: the provider's name (``"openai"``), whatever the URL;
#: the test cache records it with the interaction.
PROVIDER = "exllm.provider"
#: Response: set by an HTTP-level cache on a replayed response: the metadata that
#: ends up in ``LLMResponse.metadata`` (a replay sets ``from_cache``,
#: ``cache_key``, ``cached_at`` in epoch seconds, ``recorded_at`` and ``cassette``).
FROM_CACHE = "exllm.from_cache"
