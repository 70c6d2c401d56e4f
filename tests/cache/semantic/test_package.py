"""The semantic package: its public names load on first use, and only those are attributes."""

from __future__ import annotations

import pytest

import exllm_py.cache.semantic as semantic
from exllm_py.cache.semantic import cache, guards


class TestLazyNames:
    """Each public name comes from its module when first asked for; any other name is missing."""

    @pytest.mark.parametrize(
        ("name", "module"),
        [("SemanticCache", cache), ("DEFAULT_THRESHOLD", guards), ("lexical_match", guards)],
    )
    def test_a_public_name_is_its_modules(
        self, name: str, module: object, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        # Not yet asked for: the package has to fetch it from its module.
        monkeypatch.delitem(vars(semantic), name, raising=False)
        assert getattr(semantic, name) is getattr(module, name)
        assert vars(semantic)[name] is getattr(module, name)  # kept for the next access

    def test_another_name_is_no_attribute_and_named(self) -> None:
        with pytest.raises(
            AttributeError, match=r"'exllm_py\.cache\.semantic' has no attribute 'Index'"
        ):
            semantic.Index  # noqa: B018 - the attribute access is what is tested
