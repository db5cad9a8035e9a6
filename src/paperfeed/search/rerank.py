"""The second stage of hybrid search: the fused top candidates re-scored by a small learned linear model.

Why: min-max fusion adds two normalised scores and knows nothing else about a candidate. A few more signals are
cheap to compute for the ``DEPTH`` best fused papers and separate relevant ones better: how much of the query's
idf mass a paper holds (anywhere, in its title, in one passage, with the query's word pairs adjacent), its exact
cosine to the query, its rank on each side, and how close it is to the other best hits. ``WEIGHTS`` are a dozen
numbers learned offline by ``bench/train_rerank.py`` (one collection to learn from, the others to check on:
docs/benchmarks.md, "Search ideas"); nothing is downloaded and nothing is embedded here.

Pure functions over plain data: the engine gathers the inputs (``search.engine``), this module turns them into
features (``features``) and a new order (``rerank``). ``DEPTH = 0`` turns the stage off.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

DEPTH = 0  # fused candidates re-scored (0 = off); the rest keep their fused order below them
WINDOW = 16  # tokens in a passage for the "one passage" coverage
NEIGHBOURS = 3  # the best fused hits whose mean vector the neighbourhood feature compares with
FEATURES = (
    "fused",  # the first stage's fused score
    "keyword",  # BM25 / the best BM25 of the keyword side (0: not on it)
    "cosine",  # exact cosine of the paper's stored vector to the query's (0: no vector)
    "coverage",  # share of the query's idf mass the title + abstract hold
    "title",  # ... the title holds
    "window",  # ... the best WINDOW-token passage holds
    "pairs",  # share of the query's adjacent word pairs found adjacent
    "keyword_rank",  # 1 / log2(1 + rank) on the keyword side (0: not on it)
    "dense_rank",  # ... on the dense side
    "neighbourhood",  # cosine to the mean vector of the NEIGHBOURS best fused hits
    "length",  # log(1 + tokens) / log(1000)
)
WEIGHTS: tuple[float, ...] = (1.0,) + (0.0,) * (len(FEATURES) - 1)  # the fused order, until trained

Features = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Candidates:
    """The best fused papers and what the first stage knows of them, best first."""

    ids: Sequence[str]
    fused: Sequence[float]
    keyword: Sequence[float | None]  # BM25, None when the keyword side did not return the paper
    keyword_rank: Sequence[int | None]
    dense_rank: Sequence[int | None]
    titles: Sequence[Sequence[str]]  # analysed tokens (the keyword index's stemmer, stopwords out)
    texts: Sequence[Sequence[str]]  # title + abstract tokens
    vectors: npt.NDArray[np.float32]  # stored vectors, one row per paper (zeros where ``has_vector`` is False)
    has_vector: npt.NDArray[np.bool_]


def features(
    query: Sequence[str], idf: Mapping[str, float], query_vector: np.ndarray | None, c: Candidates
) -> Features:
    """One row per candidate, one column per name in ``FEATURES``. ``query``: the query's analysed tokens in
    order; ``idf``: log(N / df) of each over the keyword index."""
    n = len(c.ids)
    out = np.zeros((n, len(FEATURES)))
    if n == 0:
        return out
    terms = list(dict.fromkeys(t for t in query if idf.get(t, 0.0) > 0))
    mass = sum(idf[t] for t in terms) or 1.0
    pairs = {(a, b) for a, b in itertools.pairwise(query) if a != b}
    best_kw = max((s for s in c.keyword if s is not None), default=0.0) or 1.0
    cosine = np.zeros(n)
    if query_vector is not None:
        cosine = np.where(c.has_vector, c.vectors @ np.asarray(query_vector, dtype=np.float32), 0.0)
    top = np.flatnonzero(c.has_vector)[:NEIGHBOURS]
    neighbourhood = np.zeros(n)
    if len(top):
        centre = c.vectors[top].mean(axis=0)
        norm = float(np.linalg.norm(centre))
        if norm > 0:
            neighbourhood = np.where(c.has_vector, c.vectors @ (centre / norm), 0.0)
    for i in range(n):
        text, title = c.texts[i], set(c.titles[i])
        held = set(text)
        kw, kw_rank, dn_rank = c.keyword[i], c.keyword_rank[i], c.dense_rank[i]
        adjacent = set(itertools.pairwise(text)) if pairs else set()
        out[i] = (
            c.fused[i],
            (kw or 0.0) / best_kw,
            cosine[i],
            sum(idf[t] for t in terms if t in held) / mass,
            sum(idf[t] for t in terms if t in title) / mass,
            _best_window(text, idf, terms) / mass,
            len(pairs & adjacent) / len(pairs) if pairs else 0.0,
            1.0 / math.log2(1 + kw_rank) if kw_rank else 0.0,
            1.0 / math.log2(1 + dn_rank) if dn_rank else 0.0,
            neighbourhood[i],
            math.log1p(len(text)) / math.log(1000),
        )
    return out


def _best_window(text: Sequence[str], idf: Mapping[str, float], terms: Sequence[str]) -> float:
    """The most idf mass of distinct query terms inside any ``WINDOW`` consecutive tokens of ``text``."""
    wanted = set(terms)
    positions = [(i, t) for i, t in enumerate(text) if t in wanted]
    best, start = 0.0, 0
    inside: dict[str, int] = {}
    for end in range(len(positions)):
        pos, term = positions[end]
        inside[term] = inside.get(term, 0) + 1
        while pos - positions[start][0] >= WINDOW:
            old = positions[start][1]
            inside[old] -= 1
            if not inside[old]:
                del inside[old]
            start += 1
        best = max(best, sum(idf[t] for t in inside))
    return best


def scores(matrix: Features, weights: Sequence[float] = WEIGHTS) -> npt.NDArray[np.float64]:
    return matrix @ np.asarray(weights, dtype=np.float64)


def rerank(
    ranking: Sequence[tuple[str, float]], matrix: Features, weights: Sequence[float] = WEIGHTS
) -> list[tuple[str, float]]:
    """``ranking`` with its first ``len(matrix)`` entries re-ordered by the model (ties keep the fused order); the
    scores stay the fused ones, in falling order, so a score still falls with rank and pages stay consistent."""
    head = len(matrix)
    if head == 0:
        return list(ranking)
    learned = scores(matrix, weights)
    order = sorted(range(head), key=lambda i: (-learned[i], i))
    values = [score for _, score in ranking[:head]]
    return [(ranking[i][0], values[rank]) for rank, i in enumerate(order)] + list(ranking[head:])
