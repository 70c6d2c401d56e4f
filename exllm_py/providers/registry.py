"""Provider names → specs: the three wire formats, the OpenAI-compatible presets, and mock."""

from __future__ import annotations

from collections.abc import Mapping

from exllm_py.providers.anthropic import AnthropicAdapter
from exllm_py.providers.config import ProviderSpec
from exllm_py.providers.gemini import GeminiAdapter
from exllm_py.providers.mock import MOCK_BASE_URL
from exllm_py.providers.openai import OpenAIAdapter

__all__ = ["PROVIDERS", "known_providers"]

_openai = OpenAIAdapter()


def _preset(
    name: str, base_url: str, default_model: str | None = None, *, key_required: bool = True
) -> ProviderSpec:
    prefix = name.upper()
    return ProviderSpec(
        name=name,
        adapter=_openai,
        base_url=base_url,
        key_envs=(f"{prefix}_API_KEY",),
        base_url_env=f"{prefix}_BASE_URL",
        default_model=default_model,
        key_required=key_required,
    )


PROVIDERS: Mapping[str, ProviderSpec] = {
    spec.name: spec
    for spec in (
        _preset("openai", "https://api.openai.com/v1", "gpt-4o-mini"),
        ProviderSpec(
            name="anthropic",
            adapter=AnthropicAdapter(),
            base_url="https://api.anthropic.com",
            key_envs=("ANTHROPIC_API_KEY",),
            base_url_env="ANTHROPIC_BASE_URL",
            default_model="claude-3-5-haiku-latest",
        ),
        ProviderSpec(
            name="gemini",
            adapter=GeminiAdapter(),
            base_url="https://generativelanguage.googleapis.com/v1beta",
            key_envs=("GEMINI_API_KEY", "GOOGLE_API_KEY"),
            base_url_env="GEMINI_BASE_URL",
            default_model="gemini-2.0-flash",
        ),
        _preset("groq", "https://api.groq.com/openai/v1", "llama-3.1-8b-instant"),
        _preset("mistral", "https://api.mistral.ai/v1", "mistral-small-latest"),
        _preset("openrouter", "https://openrouter.ai/api/v1"),
        _preset("xai", "https://api.x.ai/v1", "grok-2-latest"),
        _preset("ollama", "http://localhost:11434/v1", key_required=False),
        _preset("lmstudio", "http://localhost:1234/v1", key_required=False),
        ProviderSpec(
            name="mock",
            adapter=_openai,
            base_url=MOCK_BASE_URL,
            key_envs=(),
            base_url_env=None,
            default_model="mock-1",
            key_required=False,
        ),
    )
}


def known_providers() -> str:
    """The provider names, comma-separated, for error messages."""
    return ", ".join(sorted(PROVIDERS))
