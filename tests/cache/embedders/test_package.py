"""The embedders package: its embedders load on first use, and only those are attributes."""

from __future__ import annotations

import pytest

import exllm_py.cache.embedders as embedders
from exllm_py.cache.embedders import local, provider


class TestLazyNames:
    """Each embedder comes from its module when first asked for; any other name is missing."""

    @pytest.mark.parametrize(
        ("name", "module"), [("LocalEmbedder", local), ("ProviderEmbedder", provider)]
    )
    def test_an_embedder_is_its_modules(
        self, name: str, module: object, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        # Not yet asked for: the package has to fetch it from its module.
        monkeypatch.delitem(vars(embedders), name, raising=False)
        assert getattr(embedders, name) is getattr(module, name)
        assert vars(embedders)[name] is getattr(module, name)  # kept for the next access

    def test_another_name_is_no_attribute_and_named(self) -> None:
        with pytest.raises(
            AttributeError, match=r"'exllm_py\.cache\.embedders' has no attribute 'OpenAIEmbedder'"
        ):
            embedders.OpenAIEmbedder  # noqa: B018 - the attribute access is what is tested
