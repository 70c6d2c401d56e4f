"""LocalEmbedder without its extra: making one says which extra to install.

The real model's tests need sentence-transformers and torch, which ``make
test`` never installs: they live in ``local_model_checks.py`` beside this
file, outside the default collection, and ``make bench-semantic`` runs them
in its own environment (``.venv-semantic``), before its benchmark.
"""

from __future__ import annotations

import sys

import pytest

from exllm_py.cache.embedders import LocalEmbedder


class TestWithoutTheExtra:
    """Without sentence-transformers, making one says which extra to install."""

    def test_the_import_error_names_the_extra(self, monkeypatch: pytest.MonkeyPatch) -> None:
        # None in sys.modules makes the import fail, as it does where the extra is missing.
        monkeypatch.setitem(sys.modules, "sentence_transformers", None)
        with pytest.raises(ImportError, match=r"pip install 'exllm_py\[local-embeddings\]'"):
            LocalEmbedder()
