"""Derived listing days in the store (SQLite and PostgreSQL): a paper known only by its submission time is in the
feed on the day arXiv's schedule announced it, and a real listing, whenever it is seen, replaces that day."""

from __future__ import annotations

import pytest

from paperfeed.papers import Paper, merge_listing_days
from paperfeed.store import Store


@pytest.mark.parametrize(
    ("old", "new", "merged"),
    [
        ({}, {"2026-11-17": "derived"}, {"2026-11-17": "derived"}),
        ({"2026-11-17": "derived"}, {"2026-11-17": "derived"}, {"2026-11-17": "derived"}),
        # A listing on the derived day changes its kind; one on another day (a hold, a holiday) replaces it.
        ({"2026-11-17": "derived"}, {"2026-11-17": "new"}, {"2026-11-17": "new"}),
        ({"2026-11-17": "derived"}, {"2026-11-19": "new"}, {"2026-11-19": "new"}),
        ({"2026-11-17": "derived"}, {"2026-11-18": "cross"}, {"2026-11-18": "cross"}),
        # Once a real listing is known, a derived day seen again stays out.
        ({"2026-11-19": "new"}, {"2026-11-17": "derived"}, {"2026-11-19": "new"}),
        # Other kinds say nothing of arXiv's announcement: the derived day stays beside them.
        ({"2026-11-17": "derived"}, {"2026-11-20": "hf-daily"}, {"2026-11-17": "derived", "2026-11-20": "hf-daily"}),
        ({"2026-11-17": "derived"}, {"2027-02-01": "replace"}, {"2026-11-17": "derived", "2027-02-01": "replace"}),
        # Two sources deriving different days (a stamp read differently): only the earliest is kept.
        ({"2026-11-18": "derived"}, {"2026-11-17": "derived"}, {"2026-11-17": "derived"}),
        # A stored real kind wins over a new real kind on the same day (listing days accumulate).
        ({"2026-11-17": "new"}, {"2026-11-17": "cross"}, {"2026-11-17": "new"}),
    ],
)
def test_merge_listing_days(old: dict[str, str], new: dict[str, str], merged: dict[str, str]) -> None:
    assert merge_listing_days(old, new) == merged


def sighting(source: str, days: dict[str, str], **kw: object) -> Paper:
    return Paper(
        id="2611.01234",
        title="Sparse attention for long documents",
        abstract="We study sparse attention.",
        version=1,
        authors=["Ada Lovelace"],
        categories=["cs.CV", "cs.AI"],
        submitted="2026-11-16",
        listing_days=days,
        source=source,
        **kw,  # type: ignore[arg-type]
    )


def days_of(store: Store) -> dict[str, str]:
    return dict(store.db.query("SELECT day, kind FROM paper_days WHERE paper_id = '2611.01234' ORDER BY day"))


def test_a_derived_day_puts_the_paper_in_the_feed_until_a_listing_replaces_it(store: Store) -> None:
    store.upsert_papers([sighting("arxiv-oai", {"2026-11-17": "derived"})])
    assert store.listing("2026-11-17", "2026-11-17")[0] == ["2611.01234"]
    assert store.stats()["by_day"] == {"2026-11-17": 1}
    assert [p.id for p in store.papers_on_day("2026-11-17")] == ["2611.01234"]
    again = store.upsert_papers([sighting("arxiv-oai", {"2026-11-17": "derived"})])
    assert (again.new, again.updated, again.unchanged) == (0, 0, 1)

    # The listing feed says it was announced on the 18th (a hold, say): that day replaces the derived one.
    listed = store.upsert_papers([sighting("arxiv-rss", {"2026-11-18": "new"}, announced="2026-11-18")])
    assert listed.updated == 1
    assert days_of(store) == {"2026-11-18": "new"}
    assert store.listing("2026-11-17", "2026-11-17")[0] == []
    assert store.listing("2026-11-18", "2026-11-18")[0] == ["2611.01234"]
    assert store.get_paper("2611.01234").announced == "2026-11-18"

    # The next harvest derives the 17th again: the real listing stays, nothing changes.
    later = store.upsert_papers([sighting("arxiv-oai", {"2026-11-17": "derived"})])
    assert (later.updated, later.unchanged) == (0, 1)
    assert days_of(store) == {"2026-11-18": "new"}


def test_a_listing_on_the_derived_day_changes_its_kind(store: Store) -> None:
    store.upsert_papers([sighting("kaggle", {"2026-11-17": "derived"})])
    store.upsert_papers([sighting("arxiv-rss", {"2026-11-17": "cross"})])
    assert days_of(store) == {"2026-11-17": "cross"}
    assert store.get_paper("2611.01234").listing_days == {"2026-11-17": "cross"}


def test_both_in_one_batch_keep_the_listing(store: Store) -> None:
    result = store.upsert_papers(
        [sighting("arxiv-rss", {"2026-11-19": "new"}), sighting("arxiv-oai", {"2026-11-17": "derived"})]
    )
    assert result.new == 1
    assert days_of(store) == {"2026-11-19": "new"}
