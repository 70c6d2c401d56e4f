"""What ``import exllm_py`` loads before a call: what a call needs, and nothing else."""

from __future__ import annotations

import subprocess
import sys

import pytest

import exllm_py.cache
import exllm_py.cache.stores

# Loaded by the first use of what needs them, never by importing the client.
DEFERRED = (
    "asyncio",  # async calls only: their event loop has loaded it already
    "difflib",  # the hint for a mistyped option
    "exllm_py.providers.anthropic",
    "exllm_py.providers.gemini",
    "exllm_py.cache.production",
    "exllm_py.cache.stores.memory",
    "exllm_py.cache.stores.redis",
    "exllm_py.cache.health",
    "exllm_py.cache.warming",
    "structlog",
)


def _loaded_after(statement: str) -> set[str]:
    """The modules a fresh interpreter holds after running ``statement``."""
    script = f"import sys; {statement}; print('\\n'.join(sys.modules))"
    done = subprocess.run(
        [sys.executable, "-c", script], check=True, capture_output=True, text=True
    )
    return set(done.stdout.split())


class TestImportingTheClient:
    """Importing the client loads the pipeline and one wire format, not the rest."""

    @pytest.mark.parametrize(
        "statement", ["from exllm_py import Client", "import exllm_py; exllm_py.chat"]
    )
    def test_deferred_modules_stay_unloaded(self, statement: str) -> None:
        loaded = _loaded_after(statement)
        assert "exllm_py.client" in loaded
        assert loaded.isdisjoint(DEFERRED), sorted(loaded.intersection(DEFERRED))

    def test_no_credential_pattern_is_compiled_until_one_is_needed(self) -> None:
        script = (
            "from exllm_py import Client; from exllm_py import secret_patterns as s; "
            "print(s._patterns.cache_info().currsize); s.redact_secrets('x'); "
            "print(s._patterns.cache_info().currsize, len(s.PATTERNS) > 0)"
        )
        done = subprocess.run(
            [sys.executable, "-c", script], check=True, capture_output=True, text=True
        )
        assert done.stdout.split() == ["0", "1", "True"]

    def test_a_mock_call_loads_the_production_cache_but_no_other_wire_format(self) -> None:
        loaded = _loaded_after(
            "import exllm_py; exllm_py.chat('mock', [{'role': 'user', 'content': 'Hi'}])"
        )
        assert "exllm_py.cache.production" in loaded
        assert "exllm_py.providers.anthropic" not in loaded
        assert "exllm_py.providers.gemini" not in loaded


@pytest.mark.parametrize("package", [exllm_py.cache, exllm_py.cache.stores])
class TestLazyPackages:
    """The cache packages resolve every public name on first use, and refuse others."""

    def test_every_name_in_all_resolves_to_its_definition(self, package: object) -> None:
        for name in package.__all__:  # type: ignore[attr-defined]
            value = getattr(package, name)
            assert value.__name__ == name

    def test_dir_lists_every_public_name(self, package: object) -> None:
        assert set(package.__all__) <= set(dir(package))  # type: ignore[attr-defined]

    def test_an_unknown_name_is_an_attribute_error_naming_it(self, package: object) -> None:
        with pytest.raises(AttributeError, match="no_such_store"):
            package.no_such_store  # type: ignore[attr-defined]  # noqa: B018
