"""How search ranks: the fusion of keyword and semantic scores and the recency preference, with their numbers.

Every number about ranking that paperfeed shows anyone is written here once; ``explain_ranking()`` (shown by
``paperfeed search --help`` and the search API's description) and the engine read them from here.

Fusion: each side's scores (BM25, cosine) are min-max normalised over its top candidates and combined as
``DENSE_WEIGHT * dense + KEYWORD_WEIGHT * keyword`` (a side that did not return a paper contributes 0). This beat
reciprocal-rank fusion on every dev collection; the dense weight was tuned on them (docs/benchmarks.md, "Fusion").

The relevance floor: the dense side has neighbours for anything, "qwxzv blorft" included, so two cosine thresholds
decide what a semantic neighbour is worth. A query whose nearest neighbour is below ``QUERY_FLOOR`` is about nothing
in the store: the dense side contributes nothing to it. Otherwise neighbours below ``DENSE_FLOOR`` are dropped, so
the count is of papers that are close, not of the whole candidate list. Keyword matches need no floor (they contain
the words). Both were calibrated on the IR collections (``bench/search_floor.py``, docs/benchmarks.md "Search
floor"): ``DENSE_FLOOR`` is the highest (in steps of 0.01) that keeps 99% of the relevant documents semantic search
ranks in its top 100, and ``QUERY_FLOOR`` the highest at which both together still keep 99% of them (it leaves
5.5% of made-up queries a neighbour there; a higher one would silence more of them but lose short paraphrases).

Recency (asked for per search, 0 = off): each score is multiplied by ``1 + recency * 2^(-age / half-life)``, so
recent papers rise and old ones keep their order among themselves.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import date

DENSE_WEIGHT = 0.6
DENSE_FLOOR = 0.28  # cosine of a neighbour to the query; see the calibration above
QUERY_FLOOR = 0.37  # cosine of the query's nearest neighbour
KEYWORD_WEIGHT = 1.0 - DENSE_WEIGHT
# Pseudo-relevance feedback on the dense side of hybrid search (0 docs = off): the query vector plus
# FEEDBACK_WEIGHT x the mean vector of the FEEDBACK_DOCS best fused hits searches the dense side again, and the two
# sides are fused once more (docs/benchmarks.md, "Search ideas").
FEEDBACK_DOCS = 0
FEEDBACK_WEIGHT = 0.5
# Similar papers fuse the same way: a paper's nearest neighbours by vector and by its most distinctive words
# (docs/benchmarks.md, "Similar papers": one weight for every collection).
SIMILAR_DENSE_WEIGHT = 0.6
RECENCY_HALF_LIFE_DAYS = 30.0
_UNDATED_AGE_DAYS = 10_000  # a paper without a day counts as very old

Ranking = list[tuple[str, float]]


def explain_ranking() -> str:
    """One sentence for people: how hybrid results are ordered, with the weights in force."""
    return (
        f"Hybrid ranking: {DENSE_WEIGHT:.0%} semantic similarity + {KEYWORD_WEIGHT:.0%} keyword (BM25) score, each "
        f"normalised over its candidates; preferring recent papers boosts them by an amount that halves every "
        f"{RECENCY_HALF_LIFE_DAYS:g} days of age."
    )


def fuse(
    keyword: Sequence[tuple[str, float]], dense: Sequence[tuple[str, float]], dense_weight: float = DENSE_WEIGHT
) -> Ranking:
    """The fused ranking of two (id, score) rankings, best first (ties by id)."""
    scores: dict[str, float] = {}
    for weight, ranking in ((1.0 - dense_weight, keyword), (dense_weight, dense)):
        if not ranking:
            continue
        values = [score for _, score in ranking]
        low, high = min(values), max(values)
        span = high - low
        for pid, score in ranking:
            # A side whose scores are all equal (e.g. a filter-only listing) counts fully for each of its papers.
            norm = (score - low) / span if span > 0 else 1.0
            scores[pid] = scores.get(pid, 0.0) + weight * norm
    return sorted(scores.items(), key=lambda item: (-item[1], item[0]))


def fuse_similar(keyword: Sequence[tuple[str, float]], dense: Sequence[tuple[str, float]]) -> Ranking:
    """Similar papers: the keyword and dense neighbour lists fused with ``SIMILAR_DENSE_WEIGHT``."""
    return fuse(keyword, dense, SIMILAR_DENSE_WEIGHT)


def prefer_recent(ranking: Ranking, days: Mapping[str, str | None], recency: float, today: date) -> Ranking:
    """``ranking`` re-scored by age (``days``: id -> ISO day); see the module docstring."""
    out = []
    for pid, score in ranking:
        day = days.get(pid)
        age = (today - date.fromisoformat(day[:10])).days if day else _UNDATED_AGE_DAYS
        out.append((pid, score * (1 + recency * math.pow(2, -max(age, 0) / RECENCY_HALF_LIFE_DAYS))))
    return sorted(out, key=lambda item: (-item[1], item[0]))


def newest_first(ranking: Ranking, days: Mapping[str, str | None]) -> Ranking:
    """``ranking`` by day, newest first; the same day (or none) keeps the ranking's order."""
    return sorted(ranking, key=lambda item: (days.get(item[0]) or "")[:10], reverse=True)  # stable: ties keep order
