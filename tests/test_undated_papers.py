"""Papers with no date of their own, on a real store (SQLite or PostgreSQL) with real indexes.

A paper known only from a Daily Papers page (a seed: title and abstract) is dated by the page's date line, the day
it was listed; a paper with no date at all matches no date filter, in every search mode, and gets no recency. The
day such a paper was loaded into the store is never its day (it used to be: every seed then looked brand new, matched
``year:<this year>`` and ranked first by recency). Their pages say what is not known instead of showing empty fields.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from paperfeed.papers import Paper, content_id
from paperfeed.search.engine import search, similar
from paperfeed.search.indexes import indexes_for, open_indexes
from paperfeed.search.registry import SearchSettings
from paperfeed.sources.seeds import parse_seed_page
from paperfeed.store import Store, open_store

ABSTRACT = "We generate protein backbones with a denoising diffusion model and fold them with a transformer."
DATED = Paper(
    id="2501.00001", title="Protein folding with diffusion models", abstract=ABSTRACT, version=1,
    authors=["Ada Lovelace"], categories=["q-bio.BM"], announced="2025-01-06", submitted="2025-01-03",
    listing_days={"2025-01-06": "new"}, source="test",
)  # fmt: skip
SEED_PAGE = (
    "new\n\nGet trending papers in your email inbox!\n\nSubscribe\n\nMar 14\n\n"
    "Diffusion models fold proteins\n\n" + ABSTRACT.replace("We", "Here we") + "\n"
).encode()
SEED_ID = content_id("Diffusion models fold proteins")
UNDATED = Paper(
    id=content_id("Folding proteins by diffusion"), title="Folding proteins by diffusion",
    abstract=ABSTRACT.replace("We generate", "This note generates"), source="test",
)  # fmt: skip


@pytest.fixture
def store(store_url: str, tmp_path: Path, embed_cache_dir: Path) -> Iterator[Store]:
    with open_store(store_url, migrate=True) as store:
        open_indexes(store, SearchSettings(tmp_path / "index", cache_dir=str(embed_cache_dir)))
        seed = [p for p in parse_seed_page(SEED_PAGE, "page.txt").items if isinstance(p, Paper)]
        store.upsert_papers([DATED, *seed, UNDATED])
        indexes_for(store).sync()
        yield store


@pytest.fixture(scope="session")
def embed_cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("undated-embeddings")


def test_the_seed_is_dated_by_its_page_and_the_undated_paper_has_no_day(store: Store) -> None:
    pks = store.pks_for_ids([DATED.id, SEED_ID, UNDATED.id])
    days = store.days_for_pks(list(pks.values()))
    assert {pid: days[pk] for pid, pk in pks.items()} == {
        DATED.id: "2025-01-06",
        SEED_ID: "2025-03-14",  # the page's date line (its year as sources/seeds.py infers it)
        UNDATED.id: None,
    }


FILTERS = [
    ("year:2026 protein diffusion", {}, set()),  # the year everything was loaded: matches nothing
    ("year:2025 protein diffusion", {}, {DATED.id, SEED_ID}),
    ("year:2024 protein diffusion", {}, set()),
    ("protein diffusion", {"date_from": "2025-03-01"}, {SEED_ID}),
    ("protein diffusion", {"date_to": "2025-02-01"}, {DATED.id}),
    ("protein diffusion", {"date_from": "2025-01-01", "date_to": "2026-12-31"}, {DATED.id, SEED_ID}),
    ("protein diffusion after:2026-01-01", {}, set()),
    ("protein diffusion", {}, {DATED.id, SEED_ID, UNDATED.id}),  # without a filter every paper is found
]


@pytest.mark.parametrize("mode", ["hybrid", "keyword", "dense"])
@pytest.mark.parametrize(("query", "filters", "expected"), FILTERS)
def test_date_filters_never_let_an_undated_paper_through(
    store: Store, mode: str, query: str, filters: dict[str, str], expected: set[str]
) -> None:
    found = {h.paper.id for h in search(store, query, 10, mode=mode, **filters).hits}  # type: ignore[arg-type]
    assert found == expected


def test_recent_similar_papers_leave_out_undated_ones(store: Store) -> None:
    assert {h.paper.id for h in similar(store, DATED.id, 5)} == {SEED_ID, UNDATED.id}
    assert [h.paper.id for h in similar(store, DATED.id, 5, recent_days=30)] == []
