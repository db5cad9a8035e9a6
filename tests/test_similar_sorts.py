"""Similar papers sorted by relevance, recency or popularity (``community/related.py``) on a real store (SQLite or
PostgreSQL), the real embedding model and real indexes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from paperfeed.community.related import SORTED_FROM, similar_papers
from paperfeed.errors import BadInput
from paperfeed.ingest.writer import ingest
from paperfeed.papers import Paper
from paperfeed.search.engine import similar
from paperfeed.search.indexes import indexes_for, open_indexes
from paperfeed.search.registry import SearchSettings
from paperfeed.sources.files import read_file
from paperfeed.store import Store, open_store
from support import FIXTURES

LISTINGS = FIXTURES / "files" / "arxiv_daily_listings.head50.jsonl.gz"
TOPICS = ["backbone design", "side-chain packing", "docking", "folding", "binder design", "sequence recovery"]
PROTEINS = [
    Paper(
        id=f"2501.0010{i}", title=f"Diffusion models for protein {topic}", version=1,
        abstract=f"A denoising diffusion model for protein {topic}, trained on structures from the PDB.",
        authors=["Ada Lovelace"], categories=["q-bio.BM"], announced=f"2025-0{i + 1}-06",
        listing_days={f"2025-0{i + 1}-06": "new"}, source="test",
    )
    for i, topic in enumerate(TOPICS)
]  # fmt: skip


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("embedding-cache")


@pytest.fixture
def proteins(store_url: str, tmp_path: Path, cache_dir: Path) -> Iterator[Store]:
    with open_store(store_url) as store:
        open_indexes(store, SearchSettings(tmp_path / "index", cache_dir=str(cache_dir)))
        ingest(store, read_file(LISTINGS))
        store.upsert_papers(PROTEINS)
        indexes_for(store).sync()
        yield store


def ids(hits: list) -> list[str]:  # type: ignore[type-arg]
    return [h.paper.id for h in hits]


def test_relevance_is_similar_itself(proteins: Store) -> None:
    assert ids(similar_papers(proteins, "2501.00100", 5)) == ids(similar(proteins, "2501.00100", 5))


def test_recency_lists_the_most_similar_papers_newest_first(proteins: Store) -> None:
    hits = similar_papers(proteins, "2501.00100", 5, sort="recency")
    pool = ids(similar(proteins, "2501.00100", SORTED_FROM))
    assert len(hits) == 5 and set(ids(hits)) <= set(pool)
    # The other protein papers are the closest and the newest (2025; the listings are from 2025-03 too, so compare
    # the days themselves).
    days = [h.paper.announced or min(h.paper.listing_days) for h in hits]
    assert days == sorted(days, reverse=True)
    assert ids(hits)[0] == "2501.00105"  # June: the newest protein paper


def test_popularity_puts_voted_and_discussed_papers_first_and_keeps_similarity_order_otherwise(
    proteins: Store,
) -> None:
    now = "2026-01-01T00:00:00Z"
    ada = proteins.create_user("ada", None, "x", "member", now)
    bob = proteins.create_user("bob", None, "x", "member", now)
    proteins.set_vote(ada.id, "2501.00103", True, now)
    proteins.set_vote(bob.id, "2501.00103", True, now)
    proteins.set_vote(ada.id, "2501.00104", True, now)
    by_relevance = ids(similar(proteins, "2501.00100", SORTED_FROM))
    hits = ids(similar_papers(proteins, "2501.00100", 6, sort="popularity"))
    assert hits[:2] == ["2501.00103", "2501.00104"]  # 2 upvotes, then 1
    rest = [pid for pid in by_relevance if pid not in hits[:2]]
    assert hits[2:] == rest[:4]


def test_an_unknown_sort_is_refused(proteins: Store) -> None:
    with pytest.raises(BadInput) as refused:
        similar_papers(proteins, "2501.00100", 5, sort="votes")
    assert refused.value.where == "sort"
