"""Learn the second stage's weights (``search/rerank.py``) on one collection and check them on the others.

    nice -n 5 python bench/train_rerank.py --train ../shared/data/ir/scifact-dev:train \
        --check ../shared/data/ir/cacm ../shared/data/ir/cisi ../shared/data/ir/med [--depth 50] [--folds 5]

Every collection (``DIR[:split]``, default split test) is loaded once as ``paperfeed bench quality`` loads it; each
query runs through the product's first stage (``engine.first_stage``: both sides' top 300, fused as shipped) and
the product's feature code (``engine.second_stage_features``) for the ``--depth`` best fused papers, so the script
learns on exactly what the search computes. The model is linear; its weights maximise mean nDCG@10 over the
training queries by coordinate ascent (Metzler & Croft's method for linear ranking models: one weight at a time,
a line search over a grid, a few rounds, L1-normalised), started from the fused order alone.

Printed: nDCG@10 of the fused order and of the learned one on the training collection (in-sample, and by
``--folds``-fold cross-validation over its queries: what a query it did not learn from gets) and on every
``--check`` collection (none of their queries seen), then the weights as the tuple ``rerank.WEIGHTS`` takes. The
extracted features are cached in ``--cache`` (a pickle per collection; delete it after changing a feature) so
fitting again is quick.
Evaluation data stays outside the repository: only the dozen learned numbers are shipped.
"""

from __future__ import annotations

import argparse
import pickle
import random
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import platformdirs

from paperfeed.search import rerank
from paperfeed.search.evaluation import BEIR_ID_PREFIX, load_collection

K = 10
EXTRACTED = 100  # candidates whose features are extracted and cached; --depth uses the first of them


@dataclass
class Queries:
    """A collection's queries as the learner sees them: features and gains of each query's fused head, padded."""

    name: str
    matrix: np.ndarray  # queries x depth x features (0 where padded)
    gains: np.ndarray  # queries x depth (graded gain of each candidate, 0 where padded)
    ideal: np.ndarray  # queries: the ideal DCG@K over all the query's judged documents
    valid: np.ndarray  # queries x depth: a real candidate


def extract(spec: str, depth: int, model: str, cache_dir: str, cache: Path) -> Queries:
    """The collection's queries with the features of their ``depth`` best fused papers (cached at
    ``EXTRACTED`` and cut: no feature of a paper depends on the papers below it)."""
    directory, _, split = spec.partition(":")
    split = split or "test"
    path = cache / f"rerank-{Path(directory).name}-{split}.pkl"
    if path.exists():
        found: Queries = pickle.loads(path.read_bytes())
        if found.matrix.shape[2] == len(rerank.FEATURES):
            return cut(found, depth)
    from paperfeed.ingest.writer import ingest
    from paperfeed.search.engine import DEPTH, first_stage, second_stage_features
    from paperfeed.search.indexes import open_indexes
    from paperfeed.search.query import parse_query
    from paperfeed.search.registry import SearchSettings
    from paperfeed.sources.files import read_file
    from paperfeed.store import open_store

    collection = load_collection(Path(directory), split)
    rows, gains, ideal = [], [], []
    with tempfile.TemporaryDirectory(prefix="paperfeed-rerank-") as tmp:
        settings = SearchSettings(Path(tmp) / "index", model, cache_dir)
        with (
            open_store(f"sqlite:///{Path(tmp) / 'rerank.db'}", migrate=True) as store,
            open_indexes(store, settings) as indexes,
        ):
            ingest(store, read_file(collection.corpus, "beir"))
            indexes.sync(summaries=False)
            for qid, text in collection.queries.items():
                first = first_stage(store, parse_query(text), DEPTH)
                matrix = second_stage_features(store, first, EXTRACTED)
                judged = collection.qrels[qid]
                rows.append(matrix)
                gains.append([judged.get(pid.removeprefix(BEIR_ID_PREFIX), 0) for pid, _ in first.fused[:EXTRACTED]])
                best = sorted(judged.values(), reverse=True)[:K]
                ideal.append(sum(g / np.log2(i + 2) for i, g in enumerate(best)))
    queries = _pad(collection.name, rows, gains, ideal, EXTRACTED)
    cache.mkdir(parents=True, exist_ok=True)
    path.write_bytes(pickle.dumps(queries))
    return cut(queries, depth)


def cut(q: Queries, depth: int) -> Queries:
    return Queries(q.name, q.matrix[:, :depth], q.gains[:, :depth], q.ideal, q.valid[:, :depth])


def _pad(name: str, rows: list[np.ndarray], gains: list[list[int]], ideal: list[float], depth: int) -> Queries:
    n, f = len(rows), len(rerank.FEATURES)
    matrix, gain, valid = np.zeros((n, depth, f)), np.zeros((n, depth)), np.zeros((n, depth), dtype=bool)
    for i, (m, g) in enumerate(zip(rows, gains, strict=True)):
        matrix[i, : len(m)], gain[i, : len(g)], valid[i, : len(m)] = m, g, True
    return Queries(name, matrix, gain, np.asarray(ideal), valid)


def subset(q: Queries, picked: np.ndarray) -> Queries:
    return Queries(q.name, q.matrix[picked], q.gains[picked], q.ideal[picked], q.valid[picked])


def ndcg(q: Queries, weights: np.ndarray) -> float:
    """Mean nDCG@K of the learned order of each query's head (ties: fused order)."""
    scores = np.where(q.valid, q.matrix @ weights, -np.inf)
    # Stable sort on the negated score keeps the fused order among ties, as rerank.rerank does.
    order = np.argsort(-scores, axis=1, kind="stable")[:, :K]
    top = np.take_along_axis(q.gains, order, axis=1)
    dcg = (top / np.log2(np.arange(2, top.shape[1] + 2))).sum(axis=1)
    return float(np.mean(np.where(q.ideal > 0, dcg / np.where(q.ideal > 0, q.ideal, 1), 0.0)))


def fit(q: Queries, rounds: int = 6, seed: int = 0) -> np.ndarray:
    """Coordinate ascent on mean nDCG@K from the fused order alone (weight 1 on ``fused``)."""
    f = q.matrix.shape[2]
    weights = np.zeros(f)
    weights[rerank.FEATURES.index("fused")] = 1.0
    best = ndcg(q, weights)
    rng = random.Random(seed)
    steps = [s * m for s in (-1, 1) for m in (0.01, 0.03, 0.1, 0.3, 1.0, 3.0)]
    for _ in range(rounds):
        improved = False
        for i in rng.sample(range(f), f):
            for step in steps:
                trial = weights.copy()
                trial[i] += step * max(abs(trial).sum(), 1e-9)
                value = ndcg(q, trial)
                if value > best + 1e-6:
                    best, weights, improved = value, trial, True
        if not improved:
            break
    return weights / abs(weights).sum()


def cross_validated(q: Queries, folds: int) -> float:
    """Mean nDCG@K over the queries, each scored by weights learned without its fold."""
    n = len(q.ideal)
    order = np.random.default_rng(0).permutation(n)
    total = 0.0
    for k in range(folds):
        held = order[k::folds]
        kept = np.setdiff1d(order, held)
        total += ndcg(subset(q, held), fit(subset(q, kept))) * len(held)
    return total / n


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--train", required=True, nargs="+", help="collections to learn from, DIR or DIR:split")
    parser.add_argument("--check", nargs="*", default=[], help="collections to check on (never learned from)")
    parser.add_argument("--depth", type=int, default=50, help="fused candidates re-scored")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--cache", type=Path, default=Path(__file__).parent / "results")
    parser.add_argument("--cache-dir", default=platformdirs.user_cache_dir("paperfeed", appauthor=False))
    parser.add_argument("--model", default="minilm-l6-int8")
    args = parser.parse_args(argv)
    train = [extract(s, args.depth, args.model, args.cache_dir, args.cache) for s in args.train]
    check = [extract(s, args.depth, args.model, args.cache_dir, args.cache) for s in args.check]
    pooled = Queries(
        "+".join(q.name for q in train),
        np.concatenate([q.matrix for q in train]),
        np.concatenate([q.gains for q in train]),
        np.concatenate([q.ideal for q in train]),
        np.concatenate([q.valid for q in train]),
    )
    weights = fit(pooled)
    fused = np.zeros(len(rerank.FEATURES))
    fused[rerank.FEATURES.index("fused")] = 1.0
    print(f"depth {args.depth}; learned on {pooled.name} ({len(pooled.ideal)} queries)\n")
    print("| collection | fused (first stage) | learned | note |\n|---|---:|---:|---|")
    for q in train:
        print(f"| {q.name} | {ndcg(q, fused):.3f} | {ndcg(q, weights):.3f} | in-sample |")
        if len(train) == 1:
            print(f"| {q.name} | {ndcg(q, fused):.3f} | {cross_validated(q, args.folds):.3f} | {args.folds}-fold CV |")
    for q in check:
        print(f"| {q.name} | {ndcg(q, fused):.3f} | {ndcg(q, weights):.3f} | held out |")
    print("\nWEIGHTS = (" + ", ".join(f"{w:.4f}" for w in weights) + ")  # " + ", ".join(rerank.FEATURES))
    print(f"train: {pooled.name}", file=sys.stderr)


if __name__ == "__main__":
    main()
