"""The OpenTelemetry GenAI semantic conventions the OpenTelemetry bridge follows.

Sources: the GenAI attribute registry
(https://opentelemetry.io/docs/specs/semconv/registry/attributes/gen-ai/),
the GenAI metrics (``gen-ai-metrics.md``) and spans (``gen-ai-spans.md``)
of https://github.com/open-telemetry/semantic-conventions-genai, and the
enums of ``opentelemetry-semantic-conventions`` 0.66b2
(``GenAiSystemValues``, ``GenAiProviderNameValues``). The conventions are
in development; names and values here are the ones those sources give.

``gen_ai.system`` is the attribute the conventions named the provider by
until ``gen_ai.provider.name`` replaced it; the bridge sets both, so that
dashboards built on either keep working. They agree on every value we map
but xAI's.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Final

__all__ = [
    "GEN_AI_OPERATION_NAME",
    "GEN_AI_PROVIDER_NAME",
    "GEN_AI_REQUEST_MODEL",
    "GEN_AI_SYSTEM",
    "GEN_AI_TOKEN_TYPE",
    "OPERATION_CHAT",
    "TOKEN_BUCKETS",
    "TOKEN_INPUT",
    "TOKEN_OUTPUT",
    "TOKEN_USAGE",
    "provider_attributes",
]

GEN_AI_SYSTEM: Final = "gen_ai.system"
GEN_AI_PROVIDER_NAME: Final = "gen_ai.provider.name"
GEN_AI_REQUEST_MODEL: Final = "gen_ai.request.model"
GEN_AI_OPERATION_NAME: Final = "gen_ai.operation.name"
GEN_AI_TOKEN_TYPE: Final = "gen_ai.token.type"

#: ``gen_ai.operation.name`` of a chat completion (every call the cache sees is one).
OPERATION_CHAT: Final = "chat"

#: The histogram of tokens per provider call, unit ``{token}``, by ``gen_ai.token.type``.
TOKEN_USAGE: Final = "gen_ai.client.token.usage"
TOKEN_INPUT: Final = "input"
TOKEN_OUTPUT: Final = "output"
#: The bucket boundaries the conventions advise for ``gen_ai.client.token.usage``: powers of 4.
TOKEN_BUCKETS: Final = tuple(4**power for power in range(14))

# Our provider names -> (gen_ai.system, gen_ai.provider.name), from the registry's
# well-known values: "openai", "anthropic", "gcp.gemini" (the Gemini API our gemini
# adapter speaks; "gcp.vertex_ai" is Vertex), "groq", "mistral_ai", and xAI, which
# gen_ai.system spells "xai" and gen_ai.provider.name "x_ai". A provider the
# registry does not list (openrouter, ollama, lmstudio, mock, a custom adapter,
# "function" for @cached) keeps its own name: the conventions take custom values.
_WELL_KNOWN: Final = MappingProxyType(
    {
        "openai": ("openai", "openai"),
        "anthropic": ("anthropic", "anthropic"),
        "gemini": ("gcp.gemini", "gcp.gemini"),
        "groq": ("groq", "groq"),
        "mistral": ("mistral_ai", "mistral_ai"),
        "xai": ("xai", "x_ai"),
    }
)


def provider_attributes(provider: str) -> dict[str, str]:
    """``gen_ai.system`` and ``gen_ai.provider.name`` for one of our provider names."""
    system, name = _WELL_KNOWN.get(provider, (provider, provider))
    return {GEN_AI_SYSTEM: system, GEN_AI_PROVIDER_NAME: name}
