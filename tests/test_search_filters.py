"""The in-memory filters of the file vector index against the store's own SQL, on a real store (SQLite or PostgreSQL).

``PaperFilters`` must answer every filter exactly as ``Store.filter_pks`` does (the SQL the filters were made from),
right after any write: a paper added, deleted, restored, recategorised or re-dated counts at the next call.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest

from paperfeed.ingest.writer import ingest
from paperfeed.papers import Paper
from paperfeed.search import filters
from paperfeed.search.filters import PaperFilters
from paperfeed.sources.files import read_file
from paperfeed.store import Store
from support import FIXTURES

LISTINGS = FIXTURES / "files" / "arxiv_daily_listings.head50.jsonl.gz"
FILTERS: list[tuple[tuple[str, ...], str | None, str | None]] = [
    (("cs.LG",), None, None),
    (("cs.CL", "cs.LG"), None, None),
    (("cs.CL", "cs.CL"), None, None),
    (("q-bio.BM",), None, None),
    (("no.such",), None, None),
    ((), "2025-01-01", None),
    ((), None, "2024-12-31"),
    ((), "2024-01-08", "2024-01-08"),
    (("cs.LG",), "2024-01-01", "2025-12-31"),
    (("cs.LG", "q-bio.BM"), "2025", None),
    ((), "2025-01", "2025-02"),
]
PAPERS = [
    Paper(
        id="2501.00001", title="Protein folding with diffusion models", version=1, abstract="Backbones.",
        categories=["q-bio.BM", "cs.LG"], announced="2025-01-06", listing_days={"2025-01-06": "new"}, source="t",
    ),
    Paper(
        id="2401.00002", title="Graph neural networks for traffic", version=1, abstract="Sensors.",
        categories=["cs.LG"], announced="2024-01-08", listing_days={"2024-01-08": "new"}, source="t",
    ),
    Paper(id="seed-undated", title="A paper with no day", abstract="Nothing dated.", categories=["cs.LG"], source="t"),
    Paper(
        id="2502.00003", title="Speech recognition", version=1, abstract="Low-resource.", categories=["cs.CL"],
        submitted="2025-02-01", source="t",
    ),
]  # fmt: skip


def agrees(store: Store, table: PaperFilters) -> None:
    for categories, date_from, date_to in FILTERS:
        expected = sorted(store.filter_pks(categories=categories, date_from=date_from, date_to=date_to))
        got = table.keys(categories, date_from, date_to)
        assert got.tolist() == expected, (categories, date_from, date_to)


def test_filters_agree_with_the_store_after_every_kind_of_write(store: Store) -> None:
    ingest(store, read_file(LISTINGS))
    store.upsert_papers(PAPERS)
    table = PaperFilters(store)
    agrees(store, table)
    assert len(table.keys(("cs.LG",))) > 2

    first = PAPERS[0]
    store.upsert_papers([Paper(**{**first.__dict__, "version": 2, "categories": ["cs.CL"]})])  # recategorised
    agrees(store, table)
    pk = store.pks_for_ids([first.id])[first.id]
    assert pk in table.keys(("cs.CL",)) and pk not in table.keys(("q-bio.BM",)) and pk not in table.keys(("cs.LG",))

    store.upsert_papers([Paper(**{**PAPERS[3].__dict__, "version": 2, "announced": "2024-01-08"})])  # re-dated
    agrees(store, table)
    store.upsert_papers([], deleted=[PAPERS[1].id, first.id])
    agrees(store, table)
    assert pk not in table.keys(("cs.CL",)) and pk not in table.keys((), "2000-01-01")
    store.upsert_papers([Paper(**{**first.__dict__, "version": 3})])  # back, in its first categories
    agrees(store, table)
    assert pk in table.keys(("q-bio.BM",))
    added = Paper(**{**PAPERS[1].__dict__, "id": "2401.00009", "categories": ["q-bio.BM"]})
    store.upsert_papers([added])
    agrees(store, table)
    assert table.applied_seq() == store.max_seq()


def test_filters_follow_in_batches_and_read_nothing_when_nothing_changed(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    ingest(store, read_file(LISTINGS))
    monkeypatch.setattr(filters, "FOLLOW_BATCH", 7)
    reads: list[int] = []
    original = store.filter_rows_since

    def counted(seq: int, limit: int = 20000) -> list[tuple[int, int, list[str], str | None, bool]]:
        reads.append(seq)
        return original(seq, limit)

    monkeypatch.setattr(store, "filter_rows_since", counted)
    table = PaperFilters(store)
    agrees(store, table)
    assert len(reads) == -(-store.count_papers() // 7)
    reads.clear()
    agrees(store, table)
    assert reads == []


def test_a_long_backlog_is_followed_in_the_background_and_answered_by_the_store_meanwhile(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    ingest(store, read_file(LISTINGS))
    store.upsert_papers(PAPERS)
    monkeypatch.setattr(filters, "INLINE_CHANGES", 3)
    monkeypatch.setattr(filters, "FOLLOW_STEP", 10)
    table = PaperFilters(store)
    agrees(store, table)  # answered by the store while the thread follows (or from memory once it has)
    assert table.wait(30) and table.applied_seq() == store.max_seq()
    store.upsert_papers([], deleted=[PAPERS[0].id])  # a short backlog: the search applies it itself
    agrees(store, table)
    assert table.applied_seq() == store.max_seq()


class RestoredStore:
    """A store whose history goes back (a restore from an older backup)."""

    def __init__(self) -> None:
        self.rows = [(1, 1, ["cs.LG"], "2025-01-01", False), (2, 2, ["cs.LG"], "2025-01-02", False)]

    def max_seq(self) -> int:
        return max(r[1] for r in self.rows)

    def filter_rows_since(self, seq: int, limit: int = 20000) -> list[tuple[int, int, list[str], str | None, bool]]:
        return [r for r in self.rows if r[1] > seq][:limit]

    def filter_pks(
        self, *, categories: Sequence[str] = (), date_from: str | None = None, date_to: str | None = None
    ) -> list[int]:
        raise AssertionError("a short history is followed by the search itself")


def test_a_store_that_went_back_is_read_again() -> None:
    source = RestoredStore()
    table = PaperFilters(source)
    assert table.keys(("cs.LG",)).tolist() == [1, 2]
    source.rows = [(1, 1, ["cs.CL"], "2025-01-01", False)]
    assert table.keys(("cs.LG",)).tolist() == []
    assert table.keys(("cs.CL",)).tolist() == [1]


def test_days_longer_than_a_date_and_large_keys() -> None:
    source = RestoredStore()
    source.rows = [
        (5, 1, ["a"], "2025-01-01T10:00:00", False),
        (100_000, 2, ["a", "b"], "2024-12-31", False),
        (7, 3, [], None, False),
    ]
    table = PaperFilters(source)
    assert table.keys((), "2025-01-01").tolist() == [5]
    assert table.keys((), None, "2025-01-01").tolist() == [100_000]  # "2025-01-01T…" sorts after "2025-01-01"
    assert table.keys(("b", "a")).tolist() == [5, 100_000]
    assert table.keys().tolist() == [5, 7, 100_000]
    keys: Sequence[int] = table.keys(("a",))
    assert isinstance(keys, np.ndarray) and not keys.flags.writeable
