"""The cache's lazy sub-packages: a public name loads from its module on first use.

``exllm_py.cache.embedders`` and ``exllm_py.cache.semantic`` import nothing
heavy until asked (numpy, an embedder's dependencies); any name they do not
offer is an ``AttributeError`` naming the package.
"""

from __future__ import annotations

from types import ModuleType

import pytest

import exllm_py.cache.embedders as embedders
import exllm_py.cache.semantic as semantic
from exllm_py.cache.embedders import local, provider
from exllm_py.cache.semantic import cache, guards


class TestLazyNames:
    """Each public name comes from its module when first asked for; any other name is missing."""

    @pytest.mark.parametrize(
        ("package", "name", "module"),
        [
            (embedders, "LocalEmbedder", local),
            (embedders, "ProviderEmbedder", provider),
            (semantic, "SemanticCache", cache),
            (semantic, "DEFAULT_THRESHOLD", guards),
            (semantic, "lexical_match", guards),
        ],
    )
    def test_a_public_name_is_its_modules(
        self, package: ModuleType, name: str, module: ModuleType, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        # Not yet asked for: the package has to fetch it from its module.
        monkeypatch.delitem(vars(package), name, raising=False)
        assert getattr(package, name) is getattr(module, name)
        assert vars(package)[name] is getattr(module, name)  # kept for the next access

    @pytest.mark.parametrize(
        ("package", "missing"), [(embedders, "OpenAIEmbedder"), (semantic, "Index")]
    )
    def test_another_name_is_no_attribute_and_named(
        self, package: ModuleType, missing: str
    ) -> None:
        named = package.__name__.replace(".", r"\.")
        with pytest.raises(AttributeError, match=rf"'{named}' has no attribute '{missing}'"):
            getattr(package, missing)
