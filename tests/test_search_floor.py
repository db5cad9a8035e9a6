"""Search answers honestly: a query about nothing in the store finds nothing (the relevance floor on the semantic
side), and the count is of matches only, exact or said to be a lower bound. Real store, model and indexes; the
corpus and its fixture are test_search_engine's."""

from __future__ import annotations

import pytest

import test_search_engine
from paperfeed.search.engine import search
from paperfeed.search.fusion import DENSE_FLOOR
from paperfeed.search.indexes import indexes_for
from paperfeed.search.query import parse_query
from paperfeed.store import Store

# The corpus fixtures of test_search_engine, used here as they are.
cache_dir = test_search_engine.cache_dir
search_store = test_search_engine.search_store
NONSENSE = ["qwxzv blorft", "zxqv wprtk mlorb", "fhqwhgads"]


def test_the_floor_is_calibrated_not_off() -> None:
    assert 0.1 < DENSE_FLOOR < 0.5


@pytest.mark.parametrize("query", NONSENSE)
@pytest.mark.parametrize("mode", ["hybrid", "dense", "keyword"])
def test_a_query_about_nothing_in_the_store_finds_nothing(search_store: Store, query: str, mode: str) -> None:
    results = search(search_store, query, 20, mode=mode)  # type: ignore[arg-type]
    assert (results.hits, results.total, results.exact) == ([], 0, True)
    # Without the floor the semantic side lists its nearest neighbours, however far: what the floor is for.
    if mode != "keyword":
        assert search(search_store, query, 20, mode=mode, dense_floor=-1, query_floor=-1).total > 0  # type: ignore[arg-type]


def test_meaning_still_finds_papers_above_the_floor(search_store: Store) -> None:
    hits = search(search_store, "generating protein structures with denoising models", 5, mode="dense").hits
    assert hits and hits[0].paper.id == "2501.00001"


def test_the_count_is_of_the_results_there_are(search_store: Store) -> None:
    results = search(search_store, "speech recognition languages", 1000)
    assert results.exact and results.total == len(results.hits) > 0
    page = search(search_store, "speech recognition languages", 2)
    assert page.total == results.total and len(page.hits) == 2


def test_more_keyword_matches_than_ranked_is_a_lower_bound(search_store: Store) -> None:
    matching = indexes_for(search_store).keyword.count(parse_query("model"))
    assert matching > 12
    results = search(search_store, "model", 5, depth=10, mode="keyword")
    assert (results.total, results.exact) == (matching, False)
    assert results.to_dict()["total_exact"] is False
