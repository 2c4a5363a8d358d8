"""The offline planner's sentence vectors: the knowledge base's MiniLM, loaded once and shared.

The model is the one :mod:`agents.knowledge` retrieves with (all-MiniLM-L6-v2 run by
onnxruntime); this module never loads a second copy. Vectors are memoised by text, so a
conversation's messages are embedded once however many times the planner re-reads them.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt

__all__ = ["DEFAULT_CACHE_DIR", "Embedder", "Vectors", "shared_embedder"]

Vectors = npt.NDArray[np.float32]
EmbedFn = Callable[[list[str]], Vectors]

DEFAULT_CACHE_DIR = Path(".resolve") / "knowledge" / "models"
"""Where the knowledge base keeps the ONNX graph under the default data directory."""

_MEMO_SIZE = 8192


class Embedder:
    """Unit vectors for texts, memoised (least recently used first out).

    Args:
        embed: Maps texts to L2-normalised rows.
        name: What the vectors come from (``onnx``, ``torch``, ``hashing``...).
    """

    def __init__(self, embed: EmbedFn, name: str) -> None:
        self._embed = embed
        self.name = name
        self._memo: OrderedDict[str, Vectors] = OrderedDict()
        self._lock = threading.Lock()

    def __call__(self, texts: Sequence[str]) -> Vectors:
        """One unit row per text, in order."""
        keys = [" ".join(t.lower().split()) or "-" for t in texts]
        with self._lock:
            missing = sorted({k for k in keys if k not in self._memo})
        if missing:
            # A few texts go one by one, so a text's vector never depends on which other
            # texts it was batched (and padded) with: the same conversation, the same numbers.
            if len(missing) <= 8:
                rows = np.concatenate(
                    [np.asarray(self._embed([t]), dtype=np.float32) for t in missing]
                )
            else:
                rows = np.asarray(self._embed(missing), dtype=np.float32)
            with self._lock:
                for key, row in zip(missing, rows, strict=True):
                    self._memo[key] = row
                while len(self._memo) > _MEMO_SIZE:
                    self._memo.popitem(last=False)
        with self._lock:
            found = []
            for key in keys:
                row = self._memo.get(key)
                if row is None:  # evicted by a concurrent call: embed it alone
                    row = np.asarray(self._embed([key]), dtype=np.float32)[0]
                else:
                    self._memo.move_to_end(key)
                found.append(row)
        return np.stack(found) if found else np.zeros((0, 384), dtype=np.float32)

    def one(self, text: str) -> Vectors:
        """The unit row of one text."""
        row: Vectors = self([text])[0]
        return row


_SHARED: Embedder | None = None
_SHARED_LOCK = threading.Lock()


def _wrap(function: object, name: str) -> Embedder:
    def embed(texts: list[str]) -> Vectors:
        rows = function(texts)  # type: ignore[operator]
        return np.asarray(rows, dtype=np.float32)

    return Embedder(embed, name)


def shared_embedder(
    cache_dir: str | Path | None = None, *, embedding_function: object | None = None
) -> Embedder:
    """The process-wide embedder, created on first use.

    Args:
        cache_dir: Where the ONNX graph lives (built there on first use); only the first call
            that creates the model uses it.
        embedding_function: An already loaded chromadb embedding function (the knowledge
            base's) to adopt instead of loading the model.

    Returns:
        The shared embedder.
    """
    global _SHARED
    with _SHARED_LOCK:
        if _SHARED is not None:
            return _SHARED
        if embedding_function is None:
            from agents.knowledge import local_embedding_function

            embedding_function = local_embedding_function(Path(cache_dir or DEFAULT_CACHE_DIR))
        name = str(getattr(embedding_function, "backend", "custom"))
        _SHARED = _wrap(embedding_function, name)
        return _SHARED
