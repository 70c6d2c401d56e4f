"""Provider names → specs: the three wire formats, the OpenAI-compatible presets, and mock.

The Anthropic and Gemini adapters are imported when their provider is first
looked up: most processes call one wire format, and ``import exllm_py``
should not pay for the others.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping

from exllm_py.providers.config import ProviderSpec
from exllm_py.providers.mock import MOCK_BASE_URL
from exllm_py.providers.openai import OpenAIAdapter

__all__ = ["DEFAULT_EMBEDDING_MODELS", "PROVIDERS", "known_providers"]

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


def _anthropic() -> ProviderSpec:
    from exllm_py.providers.anthropic import AnthropicAdapter

    return ProviderSpec(
        name="anthropic",
        adapter=AnthropicAdapter(),
        base_url="https://api.anthropic.com",
        key_envs=("ANTHROPIC_API_KEY",),
        base_url_env="ANTHROPIC_BASE_URL",
        default_model="claude-3-5-haiku-latest",
    )


def _gemini() -> ProviderSpec:
    from exllm_py.providers.gemini import GeminiAdapter

    return ProviderSpec(
        name="gemini",
        adapter=GeminiAdapter(),
        base_url="https://generativelanguage.googleapis.com/v1beta",
        key_envs=("GEMINI_API_KEY", "GOOGLE_API_KEY"),
        base_url_env="GEMINI_BASE_URL",
        default_model="gemini-2.0-flash",
    )


class _Registry(Mapping[str, ProviderSpec]):
    """The specs by name: those given, and those built by a function on first lookup."""

    def __init__(
        self, specs: tuple[ProviderSpec, ...], later: Mapping[str, Callable[[], ProviderSpec]]
    ) -> None:
        self._specs = {spec.name: spec for spec in specs}
        self._later = dict(later)
        self._names = sorted({*self._specs, *self._later})
        self._lock = threading.Lock()

    def get(self, name: str, default: ProviderSpec | None = None) -> ProviderSpec | None:  # type: ignore[override]  # Mapping.get's overloads say the same
        # Every call looks its provider up: a plain dict read when it is built.
        spec = self._specs.get(name)
        if spec is None and name in self._later:
            spec = self._build(name)
        return default if spec is None else spec

    def __getitem__(self, name: str) -> ProviderSpec:
        spec = self.get(name)
        if spec is None:
            raise KeyError(name)
        return spec

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)

    def __contains__(self, name: object) -> bool:
        return name in self._specs or name in self._later

    def _build(self, name: str) -> ProviderSpec:
        with self._lock:  # one spec, and one adapter, per name
            spec = self._specs.get(name)
            if spec is None:
                spec = self._specs[name] = self._later[name]()
            return spec


PROVIDERS: Mapping[str, ProviderSpec] = _Registry(
    (
        _preset("openai", "https://api.openai.com/v1", "gpt-4o-mini"),
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
    ),
    {"anthropic": _anthropic, "gemini": _gemini},
)


#: The model ``embed()`` uses when a call names none. Providers absent here but
#: offering embeddings (see :mod:`exllm_py.providers.embeddings`) need ``model=...``.
DEFAULT_EMBEDDING_MODELS: Mapping[str, str] = {
    "gemini": "gemini-embedding-001",
    "mistral": "mistral-embed",
    "openai": "text-embedding-3-small",
}


def known_providers() -> str:
    """The provider names, comma-separated, for error messages."""
    return ", ".join(PROVIDERS)  # sorted already
