"""The store on a real SQLite file or a real PostgreSQL: upsert semantics, schema checks, search following writes,
locking."""

from __future__ import annotations

import pickle
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from paperfeed.errors import BadInput, NotFound, StoreError
from paperfeed.papers import CONTENT_FIELDS, Paper
from paperfeed.search.engine import search
from paperfeed.search.indexes import indexes_for
from paperfeed.search.registry import SearchSettings, register
from paperfeed.store import Store, core, open_store
from paperfeed.store.migrations import LATEST, MIGRATIONS
from paperfeed.store.prepare import prepare_papers


def make(pid: str = "2503.01234", **kw: object) -> Paper:
    base: dict[str, object] = {
        "title": "Sparse attention for long documents",
        "abstract": "We study sparse attention & long-context transformers with $O(n \\log n)$ cost.",
        "authors": ["Ada Lovelace", "Alan Turing"],
        "categories": ["cs.CL", "cs.LG"],
        "listing_days": {"2025-03-18": "new"},
        "announced": "2025-03-18",
        "source": "listings",
    }
    base.update(kw)
    return Paper(id=pid, **base)  # type: ignore[arg-type]


def test_insert_then_same_again_changes_nothing(store: Store) -> None:
    first = store.upsert_papers([make(), make("2503.00002", title="Another")])
    assert (first.new, first.updated, first.unchanged) == (2, 0, 0)
    again = store.upsert_papers([make(), make("2503.00002", title="Another")])
    assert (again.new, again.updated, again.unchanged) == (0, 0, 2)
    assert store.count_papers() == 2


def test_round_trip_keeps_every_field(store: Store) -> None:
    paper = make(
        version=3,
        submitted="2025-03-14",
        updated="2025-04-01",
        comments="12 pages",
        journal_ref="JMLR 1 (2025)",
        doi="10.1000/xyz",
        license="http://creativecommons.org/licenses/by/4.0/",
        code_urls=["https://github.com/a/b"],
        project_urls=["https://a.github.io"],
        signals={"upvotes": 4},
        source="hf-daily",
    )
    store.upsert_papers([paper])
    got = store.get_paper(paper.id)
    for name in CONTENT_FIELDS:
        assert getattr(got, name) == getattr(paper, name), name
    assert got.sightings["hf-daily"]["signals"] == {"upvotes": 4}


def test_newer_version_replaces_older_and_older_only_fills_gaps(store: Store) -> None:
    store.upsert_papers([make(version=1, title="Old title")])
    r = store.upsert_papers([make(version=2, title="New title", doi="10.1/x", listing_days={"2025-04-02": "replace"})])
    assert r.updated == 1
    got = store.get_paper("2503.01234")
    assert (got.version, got.title, got.doi) == (2, "New title", "10.1/x")
    assert got.listing_days == {"2025-03-18": "new", "2025-04-02": "replace"}
    assert got.announced == "2025-03-18"
    # A late sighting of v1 (another source) must not roll the title back, but may add what is missing.
    store.upsert_papers([make(version=1, title="Old title", journal_ref="Nature 1", source="arxiv-api")])
    got = store.get_paper("2503.01234")
    assert (got.version, got.title, got.journal_ref) == (2, "New title", "Nature 1")
    assert set(got.sightings) == {"listings", "arxiv-api"}


def test_same_paper_twice_in_one_batch_is_one_paper(store: Store) -> None:
    r = store.upsert_papers([make(version=1), make(version=2, title="v2")])
    assert (r.new, r.updated, r.unchanged) == (1, 0, 0)
    assert store.get_paper("2503.01234").title == "v2"


def test_a_batch_prepared_elsewhere_writes_what_its_papers_would(store: Store) -> None:
    # A read-ahead child prepares batches and pickles them to the writer: papers new to the store are written from
    # the prepared rows, papers stored or sighted twice are rebuilt from them and merged. Both ways, the same store.
    def batches(prefix: str) -> list[list[Paper]]:
        return [
            [make(f"{prefix}1", version=1), make(f"{prefix}2", source="hf-daily", signals={"upvotes": 2})],
            [
                make(f"{prefix}1", version=2, title="v2", categories=["stat.ML"], listing_days={"2025-04-01": "cross"}),
                make(f"{prefix}3", version=1),
                make(f"{prefix}3", version=2, title="three v2"),
                make(f"{prefix}4", sightings={"arxiv-oai": {"first_seen": "2025-01-01", "signals": {"upvotes": 5}}}),
                make(f"{prefix}2", source="hf-daily", signals={"upvotes": 9, "num_comments": 1}),
            ],
        ]

    plain = [store.upsert_papers(batch) for batch in batches("2503.1000")]
    sent = [store.upsert_papers(pickle.loads(pickle.dumps(prepare_papers(b)))) for b in batches("2503.2000")]
    assert [(r.new, r.updated, r.unchanged) for r in sent] == [(r.new, r.updated, r.unchanged) for r in plain]
    assert [(r.new, r.updated, r.unchanged) for r in plain] == [(2, 0, 0), (2, 2, 0)]
    for n in "1234":
        one, other = store.get_paper(f"2503.1000{n}"), store.get_paper(f"2503.2000{n}")
        other.id = one.id
        for seen in [*one.sightings.values(), *other.sightings.values()]:
            seen["last_seen"] = seen["first_seen"] = seen["first_seen"][:4]  # written a moment apart
        assert one == other
    assert store.get_paper("2503.20001").title == "v2"
    assert store.get_paper("2503.20003").title == "three v2"
    activity = store.activity(["2503.20002", "2503.20004"])
    assert (activity["2503.20002"].external_upvotes, activity["2503.20002"].external_comments) == (9, 1)
    assert activity["2503.20004"].external_upvotes == 5


def test_an_unchanged_paper_is_told_by_its_stored_hash_and_a_new_signal_still_counts(store: Store) -> None:
    store.upsert_papers([make(source="hf-daily", signals={"upvotes": 1})])
    same = store.upsert_papers([make(source="hf-daily", signals={"upvotes": 1})])
    assert (same.new, same.updated, same.unchanged) == (0, 0, 1)
    more = store.upsert_papers([make(source="hf-daily", signals={"num_comments": 2})])  # a signal it lacked
    assert (more.updated, more.unchanged) == (1, 0)
    elsewhere = store.upsert_papers([make(source="arxiv-rss")])  # a source it was not seen in yet
    assert (elsewhere.updated, elsewhere.unchanged) == (1, 0)
    # A hash made another way (an older paperfeed) only sends the paper through the merge, which finds it unchanged.
    with store.db.transaction():
        store.db.execute("UPDATE papers SET content_hash = 'older'")
    again = store.upsert_papers([make(source="hf-daily", signals={"upvotes": 1})])
    assert (again.new, again.updated, again.unchanged) == (0, 0, 1)
    assert store.get_paper("2503.01234").sightings["hf-daily"]["signals"] == {"upvotes": 1, "num_comments": 2}


def test_changed_signals_count_as_update(store: Store) -> None:
    store.upsert_papers([make(source="hf-daily", signals={"upvotes": 1})])
    r = store.upsert_papers([make(source="hf-daily", signals={"upvotes": 7})])
    assert r.updated == 1
    assert store.get_paper("2503.01234").sightings["hf-daily"]["signals"]["upvotes"] == 7


def test_categories_follow_the_latest_version(store: Store) -> None:
    store.upsert_papers([make(version=1, categories=["cs.CL"])])
    store.upsert_papers([make(version=2, categories=["cs.LG", "stat.ML"])])
    assert store.stats()["by_primary_category"] == {"cs.LG": 1}
    rows = store.db.query("SELECT category FROM paper_categories WHERE paper_id = ? ORDER BY position", ["2503.01234"])
    assert [r[0] for r in rows] == ["cs.LG", "stat.ML"]


def test_the_keyword_index_follows_every_write(store_url: str, tmp_path: Path) -> None:
    """Search's keyword index (tantivy, outside the database) catches up with every upsert and deletion (in the
    background: a search answers from the last commit and never waits for the index)."""
    with open_store(store_url) as store:
        register(store, SearchSettings(tmp_path / "index"))

        def found(query: str) -> list[str]:
            indexes = indexes_for(store)
            indexes.catch_up_keyword()
            assert indexes.wait_for_catch_up(30)
            return [h.paper.id for h in search(store, query, 5, mode="keyword").hits]

        store.upsert_papers([make(version=1, title="Quantum annealing schedules")])
        assert found("annealing") == ["2503.01234"]
        assert found("Lovelace") == ["2503.01234"]
        store.upsert_papers([make(version=2, title="Classical heuristics")])
        assert found("annealing") == []
        assert found("heuristics") == ["2503.01234"]
        store.upsert_papers([], deleted=["2503.01234"])
        assert found("heuristics") == []


def test_the_store_keeps_no_keyword_index_of_its_own(store: Store) -> None:
    assert not store.db.has_table("papers_fts")
    columns = (
        [r[1] for r in store.db.query("PRAGMA table_info(papers)")]
        if store.dialect == "sqlite"
        else [
            r[0]
            for r in store.db.query("SELECT column_name FROM information_schema.columns WHERE table_name = 'papers'")
        ]
    )
    assert "title" in columns and "search_tsv" not in columns


def test_deleted_records_leave_listings(store: Store) -> None:
    store.upsert_papers([make(), make("2503.00002")])
    store.upsert_papers([], deleted=["2503.00002"])
    assert store.count_papers() == 1
    assert [p.id for p in store.iter_papers()] == ["2503.01234"]


def test_checkpoint_is_written_with_its_batch(store: Store) -> None:
    store.upsert_papers([make()], checkpoint=("oai:x", {"resumption_token": "t1"}))
    assert store.get_state("oai:x") == {"resumption_token": "t1"}
    store.upsert_papers([], checkpoint=("oai:x", None))
    assert store.get_state("oai:x") is None


def test_failed_batch_writes_nothing(store: Store) -> None:
    class Boom(Exception):
        pass

    with pytest.raises(Boom), store.db.transaction():
        store.db.execute("INSERT INTO job_state (key, value, updated_at) VALUES ('k', '{}', 'now')")
        raise Boom
    assert store.get_state("k") is None


def test_missing_paper_is_not_found(store: Store) -> None:
    with pytest.raises(NotFound):
        store.get_paper("9999.99999")


def test_iter_papers_pages_through_everything(store: Store) -> None:
    store.upsert_papers([make(f"2503.{i:05d}", title=f"Paper {i}") for i in range(25)])
    assert [p.id for p in store.iter_papers(batch=7)] == [f"2503.{i:05d}" for i in range(25)]


def test_schema_check_refuses_an_uninitialised_store(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="paperfeed init"):
        open_store(f"sqlite:///{tmp_path / 'new.db'}")
    store = open_store(f"sqlite:///{tmp_path / 'new.db'}", migrate=True)
    assert store.schema_version() == LATEST
    assert store.migrate() == []
    store.close()


def test_a_store_from_before_the_keyword_index_was_dropped_upgrades(
    empty_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``paperfeed init`` takes a schema-4 store (with its FTS5 table / tsvector column) to the latest schema, keeping
    its papers; start-up refuses it until then."""
    url = empty_url
    monkeypatch.setattr(core, "MIGRATIONS", MIGRATIONS[:4])
    monkeypatch.setattr(core, "LATEST", 4)
    with open_store(url, migrate=True) as old:
        old.db.execute(
            "INSERT INTO papers (id, title, content_hash, created_at, modified_at) VALUES (?, ?, ?, ?, ?)",
            ("2503.01234", "Sparse attention", "x", "2025-03-18", "2025-03-18"),
        )
        assert old.db.has_table("papers_fts") == (old.dialect == "sqlite")
    monkeypatch.undo()
    with pytest.raises(StoreError, match="paperfeed init"):
        open_store(url)
    with open_store(url, migrate=True) as store:
        assert store.schema_version() == LATEST
        assert not store.db.has_table("papers_fts")
        assert store.get_paper("2503.01234").title == "Sparse attention"
        store.upsert_papers([make(version=2)])
        assert store.get_paper("2503.01234").version == 2


@pytest.fixture
def empty_url(store_url: str, tmp_path: Path) -> Iterator[str]:
    """A URL of a database with no tables, on the same engine as ``store_url``."""
    if store_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'older.db'}"
        return
    import psycopg

    with psycopg.connect(store_url, autocommit=True) as conn:
        row = conn.execute("SELECT current_database()").fetchone()
        assert row is not None
        name = f"{row[0]}_older"
        conn.execute(f"CREATE DATABASE {name}")
    base, _, query = store_url.partition("?")
    yield base.rsplit("/", 1)[0] + "/" + name + (f"?{query}" if query else "")
    with psycopg.connect(store_url, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def test_unknown_url_is_refused() -> None:
    with pytest.raises(StoreError, match="unsupported store URL"):
        Store("mysql://localhost/x")


def test_readers_never_see_locks_while_another_connection_writes(store_url: str) -> None:
    """Several reader threads and two writers (separate connections) at once: nothing fails, nothing is lost."""
    errors: list[BaseException] = []
    stop = threading.Event()

    def read() -> None:
        with open_store(store_url) as s:
            while not stop.is_set():
                try:
                    s.count_papers()
                    s.changes_since(0, limit=50)
                except BaseException as exc:  # pragma: no cover - the assertion below reports it
                    errors.append(exc)
                    return

    def write(offset: int) -> None:
        with open_store(store_url) as s:
            try:
                for b in range(10):
                    s.upsert_papers([make(f"2504.{offset + b * 20 + i:05d}") for i in range(20)])
            except BaseException as exc:  # pragma: no cover
                errors.append(exc)

    readers = [threading.Thread(target=read) for _ in range(3)]
    writers = [threading.Thread(target=write, args=(o,)) for o in (0, 5000)]
    for t in readers + writers:
        t.start()
    for t in writers:
        t.join()
    stop.set()
    for t in readers:
        t.join()
    assert errors == []
    with open_store(store_url) as s:
        assert s.count_papers() == 400


def test_activity_signals_are_summed_over_the_sources_that_carry_them(store: Store) -> None:
    # The store knows activity signals, not sources: a second site's upvotes add to Hugging Face's.
    store.upsert_papers([make(source="hf-daily", signals={"upvotes": 3, "num_comments": 1})])
    store.upsert_papers([make(source="elsewhere", signals={"upvotes": 2})])
    store.upsert_papers([make(source="arxiv-rss")])  # no signals: the counts stay
    activity = store.activity(["2503.01234"])["2503.01234"]
    assert (activity.external_upvotes, activity.external_comments) == (5, 1)


@pytest.mark.parametrize(
    "bad",
    [
        Paper(id="2501.00009", title="NUL \x00 in the title", source="t"),
        Paper(id="2501.00009", title="T", abstract="x \ud800 y", source="t"),
        Paper(id="2501.00009", title="T", signals={"submitted_by": "a\x00"}, source="t"),
    ],
    ids=["nul", "surrogate", "nul-in-signals"],
)
def test_unstorable_text_is_refused_before_anything_is_written(store: Store, bad: Paper) -> None:
    # The parsers reject such records with file and line; the store refuses them too (PostgreSQL would raise a
    # DataError mid-batch and SQLite would keep the NUL).
    with pytest.raises(BadInput) as refused:
        store.upsert_papers([Paper(id="2501.00008", title="Fine", source="t"), bad])
    assert refused.value.where == "2501.00009"
    assert store.count_papers() == 0


def test_values_no_door_let_through_are_refused_as_bad_input(store: Store) -> None:
    # Each door checks its input; the store's last line of defence turns what slipped through into a 422, not a 500.
    with pytest.raises(BadInput, match="not valid Unicode"):
        store.db.query("SELECT ?", ("x \ud800",))
    with pytest.raises(BadInput, match=r"too large|cannot store"):
        store.db.query("SELECT CAST(? AS BIGINT)", (2**70,))
