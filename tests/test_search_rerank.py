"""The second stage of hybrid search: its features on hand-made candidates, and the order it gives."""

from __future__ import annotations

import math

import numpy as np
import pytest

from paperfeed.search import rerank

IDF = {"protein": 2.0, "fold": 1.0, "model": 0.5}


def _candidates(texts: list[list[str]], titles: list[list[str]] | None = None) -> rerank.Candidates:
    n = len(texts)
    vectors = np.eye(n, 4, dtype=np.float32)
    return rerank.Candidates(
        ids=[f"p{i}" for i in range(n)],
        fused=[1.0 - i / 10 for i in range(n)],
        keyword=[4.0, None, 2.0][:n],
        keyword_rank=[1, None, 2][:n],
        dense_rank=[None, 1, 2][:n],
        titles=titles or [[] for _ in range(n)],
        texts=texts,
        vectors=vectors,
        has_vector=np.array([True, True, False][:n]),
    )


def column(matrix: np.ndarray, name: str) -> np.ndarray:
    return matrix[:, rerank.FEATURES.index(name)]


def test_features_measure_the_query_terms_each_candidate_holds() -> None:
    c = _candidates(
        [["protein", "fold", "model"], ["protein"] + ["pad"] * 20 + ["fold"], ["model"]],
        titles=[["protein", "fold"], [], []],
    )
    m = rerank.features(["protein", "fold"], IDF, np.array([1, 0, 0, 0], dtype=np.float32), c)
    assert m.shape == (3, len(rerank.FEATURES))
    assert column(m, "coverage").tolist() == [1.0, 1.0, 0.0]
    assert column(m, "title").tolist() == [1.0, 0.0, 0.0]
    # Both terms within one passage only in the first; the second holds them 21 tokens apart.
    assert column(m, "window").tolist() == pytest.approx([1.0, 2 / 3, 0.0])
    assert column(m, "pairs").tolist() == [1.0, 0.0, 0.0]
    assert column(m, "keyword").tolist() == [1.0, 0.0, 0.5]
    assert column(m, "keyword_rank").tolist() == pytest.approx([1.0, 0.0, 1 / math.log2(3)])
    assert column(m, "cosine").tolist() == [1.0, 0.0, 0.0]  # the third has no vector
    assert column(m, "fused").tolist() == pytest.approx([1.0, 0.9, 0.8])


def test_no_candidates_no_rows() -> None:
    c = rerank.Candidates([], [], [], [], [], [], [], np.zeros((0, 4), dtype=np.float32), np.zeros(0, dtype=bool))
    assert rerank.features(["protein"], IDF, None, c).shape == (0, len(rerank.FEATURES))


def test_rerank_reorders_the_head_and_keeps_scores_falling() -> None:
    ranking = [("a", 0.9), ("b", 0.8), ("c", 0.7), ("d", 0.1)]
    matrix = np.zeros((3, len(rerank.FEATURES)))
    matrix[:, rerank.FEATURES.index("coverage")] = [0.1, 0.9, 0.5]
    weights = [1.0 if name == "coverage" else 0.0 for name in rerank.FEATURES]
    assert rerank.rerank(ranking, matrix, weights) == [("b", 0.9), ("c", 0.8), ("a", 0.7), ("d", 0.1)]
    # The fused score alone keeps the fused order.
    fused_only = [1.0 if name == "fused" else 0.0 for name in rerank.FEATURES]
    matrix[:, rerank.FEATURES.index("fused")] = [0.9, 0.8, 0.7]
    assert rerank.rerank(ranking, matrix, fused_only) == ranking
