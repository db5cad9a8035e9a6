"""Hybrid search end to end on a real store (SQLite or PostgreSQL), the real embedding model and real indexes.

The corpus is the first 150 real arXiv papers of the listings fixture plus a few hand-made ones; embeddings go
through a cache shared by the whole test session, so the model embeds each text once.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from paperfeed.errors import BadInput
from paperfeed.ingest.writer import ingest
from paperfeed.papers import Paper
from paperfeed.search import fusion
from paperfeed.search.engine import EVALUATION_MAX_QUERY, MAX_DEPTH, MAX_QUERY, search, similar, similar_to_text
from paperfeed.search.indexes import indexes_for, open_indexes
from paperfeed.search.registry import SearchSettings
from paperfeed.sources.files import read_file
from paperfeed.store import Store, open_store
from support import FIXTURES

LISTINGS = FIXTURES / "files" / "arxiv_daily_listings.head50.jsonl.gz"

HAND_MADE = [
    Paper(
        id="2501.00001", title="Protein folding with diffusion models", version=1,
        abstract="We generate protein backbones with a denoising diffusion model and fold them with a transformer.",
        authors=["Ada Lovelace", "Alan Turing"], categories=["q-bio.BM", "cs.LG"], announced="2025-01-06",
        listing_days={"2025-01-06": "new"}, source="test",
    ),
    Paper(
        id="2401.00002", title="Graph neural networks for traffic forecasting", version=1,
        abstract="Road sensors form a graph; message passing predicts congestion an hour ahead.",
        authors=["Grace Hopper"], categories=["cs.LG"], announced="2024-01-08",
        listing_days={"2024-01-08": "new"}, source="test",
    ),
    Paper(
        id="2502.00003", title="A survey of speech recognition for low-resource languages", version=1,
        abstract="Automatic speech recognition systems for languages with little transcribed audio are reviewed.",
        authors=["Alan Turing"], categories=["cs.CL"], announced="2025-02-03",
        listing_days={"2025-02-03": "new"}, source="test",
    ),
]  # fmt: skip


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("embedding-cache")


@pytest.fixture
def search_store(store_url: str, tmp_path: Path, cache_dir: Path) -> Iterator[Store]:
    with open_store(store_url) as store:
        open_indexes(store, SearchSettings(tmp_path / "index", cache_dir=str(cache_dir)))
        ingest(store, read_file(LISTINGS))
        store.upsert_papers([Paper(**{**p.__dict__}) for p in HAND_MADE])
        indexes_for(store).sync()
        yield store


def ids(results: list) -> list[str]:  # type: ignore[type-arg]
    return [h.paper.id for h in results]


def first_listing(n: int) -> dict:  # type: ignore[type-arg]
    with gzip.open(LISTINGS, "rt") as f:
        for i, line in enumerate(f):
            if i == n:
                return json.loads(line)  # type: ignore[no-any-return]
    raise IndexError(n)


def test_every_mode_finds_a_paper_by_its_title(search_store: Store) -> None:
    record = first_listing(7)
    for mode in ("hybrid", "keyword", "dense"):
        results = search(search_store, record["title"], 5, mode=mode)  # type: ignore[arg-type]
        assert results.hits[0].paper.id == record["id"], mode


def test_meaning_without_shared_words_is_found_by_the_dense_side(search_store: Store) -> None:
    query = "anticipating jams on highways"
    assert "2401.00002" not in ids(search(search_store, query, 5, mode="keyword").hits)
    assert ids(search(search_store, query, 3, mode="hybrid").hits)[0] == "2401.00002"


def test_a_typo_in_a_title_still_finds_the_paper(search_store: Store) -> None:
    results = search(search_store, "protien foldng with difusion modles", 3)
    assert ids(results.hits)[0] == "2501.00001"


@pytest.mark.parametrize("query", ["2501.00001", "arXiv:2501.00001v1", "https://arxiv.org/abs/2501.00001"])
def test_an_arxiv_id_or_url_goes_straight_to_the_paper(search_store: Store, query: str) -> None:
    assert ids(search(search_store, query, 10).hits) == ["2501.00001"]


def test_an_unknown_arxiv_id_says_so(search_store: Store) -> None:
    results = search(search_store, "2512.99999", 10)
    assert results.hits == [] and "not in this paperfeed" in results.notes[0]


def test_filters_apply_to_both_sides(search_store: Store) -> None:
    for query, check in [
        ("machine learning cat:cs.CL", lambda p: "cs.CL" in p.categories),
        ("models author:Turing", lambda p: any("Turing" in a for a in p.authors)),
        ("models year:2025", lambda p: (p.announced or "").startswith("2025")),
        ("models after:2025-01-01 before:2025-01-31", lambda p: "2025-01-01" <= (p.announced or "") <= "2025-01-31"),
    ]:
        hits = search(search_store, query, 50).hits
        assert hits, query
        assert all(check(h.paper) for h in hits), query


def test_exclusions_and_phrases_hold_for_semantic_candidates(search_store: Store) -> None:
    hits = search(search_store, "speech recognition -languages", 50).hits
    assert all("languages" not in (h.paper.title + h.paper.abstract).lower() for h in hits)
    hits = search(search_store, '"diffusion model"', 50).hits
    assert hits and all("diffusion model" in (h.paper.title + " " + h.paper.abstract).lower() for h in hits)


def test_dense_feedback_keeps_every_filter_and_moves_the_dense_side(
    search_store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    without = search(search_store, "protein structure", 20)
    monkeypatch.setattr(fusion, "FEEDBACK_DOCS", 3)
    monkeypatch.setattr(fusion, "FEEDBACK_WEIGHT", 1.0)
    moved = search(search_store, "protein structure", 20)
    assert ids(moved.hits)[0] == ids(without.hits)[0] == "2501.00001"
    assert [h.dense_rank for h in moved.hits] != [h.dense_rank for h in without.hits]
    hits = search(search_store, "machine learning cat:cs.CL -speech", 50).hits
    assert hits and all("cs.CL" in h.paper.categories for h in hits)
    assert all("speech" not in (h.paper.title + h.paper.abstract).lower() for h in hits)
    assert search(search_store, "protein structure", 5, mode="dense").hits  # single modes are left as they are


def test_a_filtered_dense_search_sees_a_paper_added_since_the_last_one(search_store: Store) -> None:
    # The dense side keeps which papers pass a filter in memory: an added, deleted or recategorised paper counts
    # at once.
    query = "protein backbones folded by a transformer cat:q-bio.BM"
    assert ids(search(search_store, query, 10, mode="dense").hits) == ["2501.00001"]
    twin = HAND_MADE[0]
    added = Paper(**{**twin.__dict__, "id": "2501.00009", "title": twin.title + " and sampling"})
    search_store.upsert_papers([added])
    indexes_for(search_store).sync()
    assert set(ids(search(search_store, query, 10, mode="dense").hits)) == {"2501.00001", "2501.00009"}
    search_store.upsert_papers([], deleted=["2501.00001"])
    indexes_for(search_store).sync()
    assert ids(search(search_store, query, 10, mode="dense").hits) == ["2501.00009"]
    search_store.upsert_papers([Paper(**{**added.__dict__, "version": 2, "categories": ["cs.LG"]})])
    assert ids(search(search_store, query, 10, mode="dense").hits) == []  # recategorised: even before its re-index
    assert "2501.00009" in ids(search(search_store, query.replace("q-bio.BM", "cs.LG"), 10, mode="dense").hits)


def test_a_search_sees_vectors_another_process_wrote(store_url: str, tmp_path: Path, cache_dir: Path) -> None:
    # A web node and the worker (or `paperfeed index`): two stores on one database, each with its own indexes.
    settings = SearchSettings(tmp_path / "index", cache_dir=str(cache_dir))
    with open_store(store_url) as web, open_store(store_url) as worker:
        open_indexes(web, settings)
        open_indexes(worker, settings)
        ingest(worker, read_file(LISTINGS))
        indexes_for(worker).sync()
        query = "protein backbones folded by a transformer"
        assert "2501.00001" not in ids(search(web, query, 10, mode="dense").hits)
        worker.upsert_papers([HAND_MADE[0]])
        indexes_for(worker).sync()
        wait = getattr(indexes_for(web).dense, "wait_for_reload", None)  # pgvector: the database is the index
        assert wait is None or wait(30)
        assert ids(search(web, query, 10, mode="dense").hits)[0] == "2501.00001"


def test_highlights_mark_matches_and_escape_text(search_store: Store) -> None:
    search_store.upsert_papers([Paper(id="2503.00004", title="Bounds for <b>sparse</b> & dense graphs", source="t")])
    indexes_for(search_store).sync()
    hit = search(search_store, "sparse graphs", 5).hits[0]
    assert hit.paper.id == "2503.00004"
    assert "&lt;b&gt;" in hit.title_html and "<mark>" in hit.title_html and "&amp;" in hit.title_html


def test_indexes_follow_updates_and_deletions(search_store: Store) -> None:
    new_title = "Quantum annealing schedules for protein design"
    search_store.upsert_papers([Paper(**{**HAND_MADE[0].__dict__, "version": 2, "title": new_title})])
    report = indexes_for(search_store).sync()
    assert report.keyword_updated == 1 and report.vectors_updated == 1
    assert ids(search(search_store, "quantum annealing", 3, mode="keyword").hits)[0] == "2501.00001"
    search_store.upsert_papers([], deleted=["2501.00001"])
    indexes_for(search_store).sync()
    for mode in ("keyword", "dense", "hybrid"):
        assert "2501.00001" not in ids(search(search_store, new_title, 10, mode=mode).hits)  # type: ignore[arg-type]


def test_nothing_is_embedded_twice(search_store: Store) -> None:
    indexes = indexes_for(search_store)
    indexes.store.upsert_papers([Paper(**{**HAND_MADE[1].__dict__, "doi": "10.1/new"})])  # text unchanged
    assert indexes.sync().embedded == 0


def test_a_killed_sync_resumes_where_it_stopped(store_url: str, tmp_path: Path, cache_dir: Path) -> None:
    with open_store(store_url) as store:
        open_indexes(store, SearchSettings(tmp_path / "index", cache_dir=str(cache_dir)))
        ingest(store, read_file(LISTINGS))
        indexes = indexes_for(store)

        class Killed(Exception):
            pass

        def die(n: int) -> None:
            raise Killed

        with pytest.raises(Killed):
            indexes.sync_vectors(progress=die, batch=20)
        assert indexes.pending()["vectors"] == 30
        assert indexes.sync_vectors(batch=20).vectors_updated == 30
        assert indexes.pending() == {"keyword": 50, "vectors": 0}


def test_changing_the_model_re_embeds_everything(store_url: str, tmp_path: Path, cache_dir: Path) -> None:
    with open_store(store_url) as store:
        open_indexes(store, SearchSettings(tmp_path / "index", cache_dir=str(cache_dir)))
        ingest(store, read_file(LISTINGS))
        indexes_for(store).sync()
    with open_store(store_url) as store:
        open_indexes(store, SearchSettings(tmp_path / "index", "minilm-l6-int8-fast", str(cache_dir)))
        indexes = indexes_for(store)
        assert indexes.pending()["vectors"] == 50
        assert indexes.sync().vectors_updated == 50
        record = first_listing(3)
        assert ids(search(store, record["title"], 3, mode="dense").hits)[0] == record["id"]


def test_similar_papers(search_store: Store) -> None:
    search_store.upsert_papers(
        [Paper(id="pf-aaaaaaaaaaaa", title="Protein folding with diffusion models", abstract="A copy.", source="t")]
    )
    indexes_for(search_store).sync()
    hits = similar(search_store, "2501.00001", 5)
    assert "2501.00001" not in ids(hits) and "pf-aaaaaaaaaaaa" not in ids(hits)  # itself and its other versions
    assert len(hits) == 5
    like = similar_to_text(search_store, "Denoising diffusion generates protein backbone structures.", 3)
    assert ids(like)[0] == "2501.00001"


def test_similar_papers_fuse_the_vector_neighbours_with_the_distinctive_word_neighbours(search_store: Store) -> None:
    hits = similar(search_store, "2501.00001", 10)
    assert all(h.keyword_rank is not None or h.dense_rank is not None for h in hits)
    assert any(h.keyword_rank is not None for h in hits) and any(h.dense_rank is not None for h in hits)
    scores = [h.score for h in hits]
    assert scores == sorted(scores, reverse=True)


def test_similar_papers_of_a_paper_without_a_vector_share_its_distinctive_words(search_store: Store) -> None:
    # Just added, the index job has not embedded it: similar() never embeds, the keyword side answers alone.
    search_store.upsert_papers(
        [
            Paper(
                id="2503.00009", title="Denoising diffusion for protein backbone design", version=1,
                abstract="Protein backbones sampled by diffusion are folded and scored.", source="test",
            )
        ]
    )  # fmt: skip
    indexes_for(search_store).sync_keyword()
    hits = similar(search_store, "2503.00009", 5)
    assert ids(hits)[0] == "2501.00001"
    assert all(h.dense_rank is None and h.keyword_rank is not None for h in hits)


def test_similar_papers_within_recent_days_are_all_recent(search_store: Store) -> None:
    assert similar(search_store, "2501.00001", 5, recent_days=1) == []  # the corpus is from 2025 and before


@pytest.mark.parametrize(
    ("limit", "offset"), [(100, 100_000_000), (10**12, 0), (1, MAX_DEPTH), (MAX_DEPTH + 1, 0), (10, 10**30)]
)
def test_no_search_reaches_past_the_maximum_depth(search_store: Store, limit: int, offset: int) -> None:
    # Every door checks its page, and the one search function checks again: the index's top-k allocates memory in
    # proportion to offset + limit, so an unchecked page of 10^8 made it ask for hundreds of gigabytes.
    with pytest.raises(BadInput) as refused:
        search(search_store, "learning", limit, offset=offset)
    assert refused.value.where == "offset"
    assert len(search(search_store, "learning", 10, offset=MAX_DEPTH - 10).hits) <= 10


@pytest.mark.parametrize(("limit", "recent_days"), [(10**9, None), (0, None), (5, 10**9), (5, -1)])
def test_similar_papers_refuse_limits_out_of_range(search_store: Store, limit: int, recent_days: int | None) -> None:
    with pytest.raises(BadInput):
        similar(search_store, "2501.00001", limit, recent_days=recent_days)


def test_long_queries_are_refused_except_for_evaluation_runs(search_store: Store) -> None:
    # CISI's test queries run to 2,023 characters: an evaluation asks for a longer bound, every door keeps the cap.
    paragraph = "the retrieval of scientific documents by their meaning " * 40
    with pytest.raises(BadInput) as refused:
        search(search_store, paragraph, 10)
    assert refused.value.where == "q" and str(MAX_QUERY) in str(refused.value)
    assert search(search_store, paragraph, 10, max_query=EVALUATION_MAX_QUERY).hits
