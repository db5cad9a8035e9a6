"""Searches while the keyword index catches up with a large ingest, and similar papers that are not embedded yet.

On a real store (SQLite or PostgreSQL) and real indexes; the embedding model is a counting stand-in (a hash of the
words), so the tests can tell whether anything was embedded on the request path. Nothing here asserts a duration:
promptness is measured as the share of searches that answered while the catch-up was still running.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pytest
import tantivy

from paperfeed.papers import Paper
from paperfeed.search import indexes as indexes_module
from paperfeed.search import models
from paperfeed.search.embed import Vectors, normalise
from paperfeed.search.engine import search, similar
from paperfeed.search.indexes import SearchIndexes, open_indexes
from paperfeed.search.keyword import KeywordDoc, KeywordIndex
from paperfeed.search.registry import SearchSettings
from paperfeed.store import Store, open_store

MODEL = "counting-test"
TOPICS = ["graph", "protein", "speech", "robot", "galaxy", "quantum", "market"]


class CountingModel:
    """Bag-of-words vectors (hashed into 32 dimensions); counts the texts it is asked to embed."""

    name = MODEL
    dim = 32

    def __init__(self) -> None:
        self.embedded = 0

    def embed(self, texts: Sequence[str]) -> Vectors:
        self.embedded += len(texts)
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in text.lower().split():
                out[row, int(hashlib.sha1(word.encode()).hexdigest(), 16) % self.dim] += 1.0
        return normalise(out + 1e-3)


@pytest.fixture
def model(monkeypatch: pytest.MonkeyPatch) -> CountingModel:
    counting = CountingModel()
    monkeypatch.setitem(models.MODELS, MODEL, lambda: counting)
    monkeypatch.setattr(models, "_LOADED", {})
    return counting


@pytest.fixture
def indexed(store_url: str, tmp_path: Path, model: CountingModel) -> Iterator[tuple[Store, SearchIndexes]]:
    with open_store(store_url) as store, open_indexes(store, SearchSettings(tmp_path / "index", MODEL)) as indexes:
        yield store, indexes


def papers(start: int, count: int) -> list[Paper]:
    return [
        Paper(
            id=f"2611.{i:05d}",
            title=f"Learning {TOPICS[i % len(TOPICS)]} models number {i}",
            abstract=f"We study {TOPICS[i % len(TOPICS)]} data with method{i % 13} and baseline{i % 5}.",
            authors=["Ada Lovelace"],
            categories=["cs.LG"],
            announced="2026-11-02",
            listing_days={"2026-11-02": "new"},
            source="test",
        )
        for i in range(start, start + count)
    ]


class WriteCounter:
    """Counts the documents written to keyword indexes, each slowed a little (a big ingest's commits take long)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, pause: float) -> None:
        self.written: list[str] = []
        self._lock = threading.Lock()
        real = KeywordIndex._document

        def document(index: KeywordIndex, doc: KeywordDoc) -> tantivy.Document:
            with self._lock:
                self.written.append(doc.paper_id)
            time.sleep(pause)
            return real(index, doc)

        monkeypatch.setattr(KeywordIndex, "_document", document)


def test_searches_during_a_large_catch_up_answer_at_once_and_each_paper_is_indexed_once(
    indexed: tuple[Store, SearchIndexes], monkeypatch: pytest.MonkeyPatch
) -> None:
    store, indexes = indexed
    store.upsert_papers(papers(0, 14))
    indexes.sync_keyword()  # what the index held before the big ingest
    monkeypatch.setattr(indexes_module, "SYNC_BATCH", 20)  # 30 steps for the backlog below
    counter = WriteCounter(monkeypatch, pause=0.002)
    store.upsert_papers(papers(14, 600))
    head = store.max_seq()

    answered: list[tuple[int, bool]] = []  # (hits, whether the index was still behind when the search returned)
    lock = threading.Lock()

    def searcher() -> None:
        for _ in range(8):
            hits = len(search(store, "graph", 50, mode="keyword", highlight=False).hits)
            behind = int(indexes.keyword.get_meta("seq") or 0) < head
            with lock:
                answered.append((hits, behind))

    threads = [threading.Thread(target=searcher) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert indexes.wait_for_catch_up(120)

    assert len(answered) == 32
    during = sum(behind for _, behind in answered)
    # Readers never wait for the writer: before, every search synced the backlog itself and none answered while
    # the catch-up ran (and 4 threads wrote every paper 4 times).
    assert during / len(answered) >= 0.5, answered
    assert all(hits >= 2 for hits, _ in answered)  # each answered from the last commit: the graph papers it held
    assert sorted(counter.written) == sorted(p.id for p in papers(14, 600))  # one writer: each paper once
    assert indexes.keyword_seq() == head
    assert len(search(store, "graph", 200, mode="keyword", highlight=False).hits) == len(range(0, 614, 7))


def test_concurrent_syncs_continue_from_each_other(
    indexed: tuple[Store, SearchIndexes], monkeypatch: pytest.MonkeyPatch
) -> None:
    store, indexes = indexed
    monkeypatch.setattr(indexes_module, "SYNC_BATCH", 25)
    counter = WriteCounter(monkeypatch, pause=0.001)
    store.upsert_papers(papers(0, 300))
    # e.g. `paperfeed index`, the harvest job and a submission's small step in one process at once
    threads = [threading.Thread(target=indexes.sync_keyword) for _ in range(3)]
    for t in threads:
        t.start()
    indexes.catch_up_keyword()
    for t in threads:
        t.join(120)
    assert indexes.wait_for_catch_up(120)
    assert sorted(counter.written) == sorted(p.id for p in papers(0, 300))
    assert indexes.pending()["keyword"] == 0


def test_similar_papers_never_embed_on_the_request_path(
    indexed: tuple[Store, SearchIndexes], model: CountingModel
) -> None:
    store, indexes = indexed
    store.upsert_papers(papers(0, 40))
    indexes.sync()
    embedded = model.embedded
    near = similar(store, "2611.00007", 5)  # has a vector: its own, from the index
    assert near and any(h.dense_rank is not None for h in near)  # found by its vector (fused with its words)
    assert {h.paper.id for h in near} <= {p.id for p in papers(0, 40)} - {"2611.00007"}

    store.upsert_papers(papers(40, 1))  # just added; the index job has not embedded it yet
    indexes.sync_keyword()
    assert indexes.pending()["vectors"] == 1
    like = similar(store, "2611.00040", 5)
    assert model.embedded == embedded  # nothing was embedded for either page
    assert like and all(h.keyword_rank is not None and h.dense_rank is None for h in like)  # by its words alone
    rare = {"quantum", "method1", "baseline0"}  # the words paper 40 shares with few others
    assert all(rare & set(f"{h.paper.title} {h.paper.abstract}".rstrip(".").split()) for h in like)
    assert "2611.00040" not in [h.paper.id for h in like]
