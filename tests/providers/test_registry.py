"""The provider registry: every name known at once, each adapter built on first lookup."""

from __future__ import annotations

import subprocess
import sys

import pytest

from exllm_py.providers.anthropic import AnthropicAdapter
from exllm_py.providers.gemini import GeminiAdapter
from exllm_py.providers.registry import PROVIDERS, known_providers

NAMES = (
    "anthropic",
    "gemini",
    "groq",
    "lmstudio",
    "mistral",
    "mock",
    "ollama",
    "openai",
    "openrouter",
    "xai",
)


class TestNames:
    """Every provider is listed, sorted, whether its adapter is loaded yet or not."""

    def test_iteration_lists_every_name_sorted(self) -> None:
        assert tuple(PROVIDERS) == NAMES
        assert len(PROVIDERS) == len(NAMES)

    def test_known_providers_names_them_for_error_messages(self) -> None:
        assert known_providers() == ", ".join(NAMES)

    def test_membership_does_not_need_the_adapter(self) -> None:
        script = (
            "import sys; from exllm_py.providers.registry import PROVIDERS; "
            "print('gemini' in PROVIDERS, 'exllm_py.providers.gemini' in sys.modules)"
        )
        done = subprocess.run(
            [sys.executable, "-c", script], check=True, capture_output=True, text=True
        )
        assert done.stdout.split() == ["True", "False"]


class TestLookup:
    """A lookup gives the provider's one spec; an unknown name gives nothing."""

    def test_deferred_specs_carry_their_wire_formats(self) -> None:
        assert isinstance(PROVIDERS["anthropic"].adapter, AnthropicAdapter)
        assert isinstance(PROVIDERS["gemini"].adapter, GeminiAdapter)
        assert PROVIDERS["gemini"].key_envs == ("GEMINI_API_KEY", "GOOGLE_API_KEY")

    def test_every_lookup_returns_the_same_spec(self) -> None:
        assert PROVIDERS.get("gemini") is PROVIDERS["gemini"]

    def test_an_unknown_name(self) -> None:
        assert PROVIDERS.get("nope") is None
        assert PROVIDERS.get("nope", PROVIDERS["openai"]) is PROVIDERS["openai"]
        assert "nope" not in PROVIDERS
        with pytest.raises(KeyError, match="nope"):
            PROVIDERS["nope"]

    def test_an_unhashable_name_is_a_type_error(self) -> None:
        with pytest.raises(TypeError):
            PROVIDERS.get(["openai"])  # type: ignore[arg-type]

    def test_threads_looking_up_at_once_in_a_fresh_process_share_one_spec(self) -> None:
        # Fresh, so that the spec is built by one of the racing threads.
        script = (
            "import threading; from exllm_py.providers.registry import PROVIDERS\n"
            "start = threading.Barrier(8); seen = []\n"
            "def look():\n"
            "    start.wait(); seen.append(PROVIDERS['anthropic'])\n"
            "threads = [threading.Thread(target=look) for _ in range(8)]\n"
            "[t.start() for t in threads]; [t.join() for t in threads]\n"
            "print(len({id(spec) for spec in seen}), len(seen))"
        )
        done = subprocess.run(
            [sys.executable, "-c", script], check=True, capture_output=True, text=True
        )
        assert done.stdout.split() == ["1", "8"]
