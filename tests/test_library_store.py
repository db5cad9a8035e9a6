"""The library's storage on a real store (SQLite, or PostgreSQL with PAPERFEED_TEST_PG): saves, tags, notes,
reading state, collections and their order, private ratings, interest signals, deleted papers and accounts, and
writes from two tabs at once."""

from __future__ import annotations

import threading
from datetime import datetime

import pytest

from paperfeed.errors import BadInput, NotFound
from paperfeed.papers import Paper
from paperfeed.store import Store
from paperfeed.store.library import InterestSignal, RestoredEntry

DAY = "2026-11-20"


def paper(pid: str, title: str = "A paper", abstract: str = "An abstract.") -> Paper:
    return Paper(
        id=pid,
        title=title,
        abstract=abstract,
        authors=["Ada Lovelace"],
        categories=["cs.LG"],
        submitted="2026-11-18",
        announced=DAY,
        listing_days={DAY: "new"},
        source="test",
    )


@pytest.fixture
def lib(store: Store) -> Store:
    store.upsert_papers(
        [
            paper("2611.00001", "Diffusion models for proteins"),
            paper("2611.00002", "Gaussian splatting in real time"),
            paper("2611.00003", "Sparse attention", "Long context transformers."),
            paper("hep-th/9901001", "Old strings"),
        ]
    )
    store.create_user("ada", "ada@lab.org", "x", "admin", "2026-11-01T00:00:00+00:00")
    store.create_user("bob", None, "x", "member", "2026-11-01T00:00:00+00:00")
    return store


def uid(store: Store, name: str) -> int:
    user = store.user_by_name(name)
    assert user is not None
    return user.id


def t(minute: int) -> str:
    return f"2026-11-21T10:{minute:02d}:00+00:00"


def test_save_is_idempotent_and_unsave_removes_tags_and_collection_places(lib: Store) -> None:
    ada = uid(lib, "ada")
    assert lib.save_paper(ada, "2611.00001", t(1)) is True
    assert lib.save_paper(ada, "2611.00001", t(2)) is False
    entry = lib.update_entry(ada, "2611.00001", t(3), add_tags=["proteins", "to-cite"], note="read §3", state="read")
    assert entry.tags == ("proteins", "to-cite") and entry.note == "read §3" and entry.state == "read"
    assert entry.saved_at == t(1)
    col = lib.create_collection(ada, "bio", "Biology", "", False, t(4))
    lib.add_to_collection(col.id, ["2611.00001"], t(5))
    assert lib.unsave_paper(ada, "2611.00001") is True
    assert lib.library_entry(ada, "2611.00001") is None
    assert lib.collection_paper_ids(col.id) == []
    assert lib.member_tags(ada) == {}


def test_unknown_papers_and_states_are_refused_and_write_nothing(lib: Store) -> None:
    ada = uid(lib, "ada")
    with pytest.raises(NotFound):
        lib.save_paper(ada, "2699.99999", t(1))
    with pytest.raises(BadInput):
        lib.update_entry(ada, "2611.00001", t(1), state="skimmed")
    assert lib.library_ids(ada) == ([], 0)
    with pytest.raises(NotFound):
        lib.restore_library(ada, [RestoredEntry("2611.00001"), RestoredEntry("2699.99999")], t(2))
    assert lib.library_ids(ada) == ([], 0), "a failed restore leaves nothing half-written"


def test_library_filters_by_tag_state_and_text(lib: Store) -> None:
    ada = uid(lib, "ada")
    lib.update_entry(ada, "2611.00001", t(1), add_tags=["bio"])
    lib.update_entry(ada, "2611.00002", t(2), add_tags=["vision"], state="read")
    lib.update_entry(ada, "2611.00003", t(3), note="Compare with 50% sparsity")
    assert lib.library_ids(ada) == (["2611.00003", "2611.00002", "2611.00001"], 3)
    assert lib.library_ids(ada, tag="bio") == (["2611.00001"], 1)
    assert lib.library_ids(ada, state="read") == (["2611.00002"], 1)
    assert lib.library_ids(ada, text="GAUSSIAN real")[0] == ["2611.00002"]
    assert lib.library_ids(ada, text="50%")[0] == ["2611.00003"], "note text, with LIKE's wildcards escaped"
    assert lib.library_ids(ada, text="5_%")[0] == []
    assert lib.library_ids(ada, text="vision")[0] == ["2611.00002"], "tags are searched too"
    assert lib.library_ids(ada, limit=1, offset=1) == (["2611.00002"], 3)
    assert lib.tag_counts(ada) == [("bio", 1), ("vision", 1)]
    assert lib.library_ids(uid(lib, "bob")) == ([], 0), "libraries are per member"


def test_saved_among_answers_a_page_of_papers_in_one_call(lib: Store) -> None:
    ada = uid(lib, "ada")
    lib.save_paper(ada, "2611.00002", t(1))
    page = [f"2611.{i:05d}" for i in range(1, 51)]
    assert lib.saved_among(ada, page) == {"2611.00002"}
    assert lib.saved_among(ada, []) == set()


def test_collections_keep_a_hand_order_and_a_paper_can_be_in_several(lib: Store) -> None:
    ada = uid(lib, "ada")
    one = lib.create_collection(ada, "reading-group", "Reading group", "Weekly", True, t(1))
    two = lib.create_collection(ada, "thesis", "Thesis", "", False, t(1))
    with pytest.raises(BadInput):
        lib.create_collection(ada, "thesis", "Again", "", False, t(1))
    assert lib.add_to_collection(one.id, ["2611.00003", "2611.00001", "2611.00002"], t(2)) == 3
    assert lib.add_to_collection(one.id, ["2611.00001"], t(3)) == 0
    lib.add_to_collection(two.id, ["2611.00001"], t(3))
    assert lib.saved_among(ada, ["2611.00001", "2611.00002", "2611.00003"]) == {
        "2611.00001",
        "2611.00002",
        "2611.00003",
    }, "a paper in a collection is in the library"
    assert lib.collection_paper_ids(one.id) == ["2611.00003", "2611.00001", "2611.00002"]
    lib.reorder_collection(one.id, ["2611.00002", "2611.00003", "2611.00001"], t(4))
    assert lib.collection_paper_ids(one.id) == ["2611.00002", "2611.00003", "2611.00001"]
    with pytest.raises(BadInput):
        lib.reorder_collection(one.id, ["2611.00002"], t(5))
    assert lib.collections_with(ada, ["2611.00001"]) == {"2611.00001": [one.id, two.id]}
    assert [c.slug for c in lib.collections_of(ada, public_only=True)] == ["reading-group"]
    found = lib.collection_by_slug("ADA", "reading-group")
    assert found is not None and found.size == 3 and found.public and found.owner == "ada"
    updated = lib.update_collection(one.id, t(6), name="RG", description=None, public=False)
    assert updated.name == "RG" and not updated.public and updated.description == "Weekly"
    lib.remove_from_collection(one.id, "2611.00003", t(7))
    assert lib.collection_paper_ids(one.id) == ["2611.00002", "2611.00001"]
    lib.delete_collection(two.id)
    assert lib.library_entry(ada, "2611.00001") is not None, "deleting a collection keeps the library"


def test_ratings_are_one_per_paper_and_can_be_taken_back(lib: Store) -> None:
    ada = uid(lib, "ada")
    lib.set_rating(ada, "2611.00001", 1, t(1))
    lib.set_rating(ada, "2611.00001", -1, t(2))
    lib.set_rating(ada, "2611.00002", 1, t(3))
    assert lib.ratings_of(ada) == {"2611.00001": -1, "2611.00002": 1}
    lib.set_rating(ada, "2611.00002", 0, t(4))
    assert lib.ratings_of(ada, ["2611.00001", "2611.00002"]) == {"2611.00001": -1}
    with pytest.raises(BadInput):
        lib.set_rating(ada, "2611.00001", 2, t(5))


def test_interest_signals_are_every_signal_newest_first(lib: Store) -> None:
    ada = uid(lib, "ada")
    lib.save_paper(ada, "2611.00001", t(1))
    lib.set_rating(ada, "2611.00002", 1, t(2))
    lib.set_rating(ada, "2611.00003", -1, t(3))
    lib.set_vote(ada, "hep-th/9901001", True, t(4))
    assert lib.interest_signals(ada) == [
        InterestSignal("hep-th/9901001", "upvote", datetime.fromisoformat(t(4))),
        InterestSignal("2611.00003", "less", datetime.fromisoformat(t(3))),
        InterestSignal("2611.00002", "more", datetime.fromisoformat(t(2))),
        InterestSignal("2611.00001", "saved", datetime.fromisoformat(t(1))),
    ]
    assert lib.interest_signals(uid(lib, "bob")) == []


def test_a_deleted_paper_leaves_libraries_consistent(lib: Store) -> None:
    ada = uid(lib, "ada")
    col = lib.create_collection(ada, "c", "C", "", True, t(1))
    lib.add_to_collection(col.id, ["2611.00001", "2611.00002"], t(2))
    lib.update_entry(ada, "2611.00001", t(3), add_tags=["x"])
    lib.set_rating(ada, "2611.00001", 1, t(4))
    lib.upsert_papers([], deleted=["2611.00001"])  # withdrawn: hidden everywhere, back if it returns
    assert lib.library_ids(ada) == (["2611.00002"], 1)
    assert lib.collection_paper_ids(col.id) == ["2611.00002"]
    assert lib.collection(col.id).size == 1
    assert lib.tag_counts(ada) == [] and lib.member_tags(ada) == {}
    assert lib.ratings_of(ada) == {}
    assert [s.paper_id for s in lib.interest_signals(ada)] == ["2611.00002"]
    with lib.db.transaction():  # removed outright: every row that names it goes with it
        lib.db.execute("DELETE FROM papers WHERE id = ?", ("2611.00002",))
    assert lib.library_ids(ada) == ([], 0) and lib.collection_paper_ids(col.id) == []
    counts = lib.db.query_one(
        "SELECT (SELECT count(*) FROM collection_items), (SELECT count(*) FROM library_entries WHERE paper_id = ?)",
        ("2611.00002",),
    )
    assert counts == (1, 0)  # 2611.00001's item waits for its paper to come back


def test_two_tabs_tagging_and_rating_at_once_lose_nothing(lib: Store) -> None:
    ada = uid(lib, "ada")
    ids = ["2611.00001", "2611.00002", "2611.00003", "hep-th/9901001"]
    errors: list[BaseException] = []

    def tab(n: int) -> None:
        try:
            for i, pid in enumerate(ids):
                lib.update_entry(ada, pid, t(i), add_tags=[f"tab{n}"])
                lib.set_rating(ada, pid, 1 if n == 0 else -1, t(i))
                col = lib.collection_by_slug("ada", "shared")
                assert col is not None
                lib.add_to_collection(col.id, [pid], t(i))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    lib.create_collection(ada, "shared", "Shared", "", False, t(0))
    threads = [threading.Thread(target=tab, args=(n,)) for n in range(2)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert errors == []
    assert lib.member_tags(ada) == {pid: ["tab0", "tab1"] for pid in ids}
    assert set(lib.ratings_of(ada)) == set(ids)
    col = lib.collection_by_slug("ada", "shared")
    assert col is not None and sorted(lib.collection_paper_ids(col.id)) == sorted(ids)


def test_deleting_an_account_keeps_comments_as_anonymised_text_only(lib: Store) -> None:
    ada, bob = uid(lib, "ada"), uid(lib, "bob")
    lib.set_vote(bob, "2611.00001", True, t(1))
    lib.set_vote(ada, "2611.00001", True, t(1))
    lib.add_comment(bob, "2611.00001", "Nice result", t(2))
    lib.save_paper(bob, "2611.00002", t(3))
    lib.set_rating(bob, "2611.00002", 1, t(3))
    lib.create_collection(bob, "mine", "Mine", "", True, t(3))
    lib.create_session("h", bob, t(3), "2099-01-01T00:00:00+00:00")
    with lib.db.transaction():
        lib.db.execute(
            "INSERT INTO member_preferences (user_id, personal_weight, updated_at) VALUES (?, 50, ?)", (bob, t(3))
        )
    lib.renew_feed_key(bob, "bobs-feed-key", t(3))
    lib.renew_feed_key(ada, "adas-feed-key", t(3))
    version = lib.content_version()
    name = lib.delete_account(bob, t(5))
    assert lib.feed_key(bob) is None and lib.feed_key(ada) == "adas-feed-key"
    assert lib.db.query("SELECT key FROM job_state WHERE key LIKE 'member-feed:%'") == [(f"member-feed:{ada}",)]
    assert name == f"~deleted-{bob}"
    assert lib.content_version() != version, "cached public pages showed bob's vote and name"
    assert [(c.author, c.body) for c in lib.comments_on("2611.00001")] == [(name, "Nice result")]
    assert lib.activity(["2611.00001"])["2611.00001"].upvotes == 1, "only bob's vote is gone"
    assert lib.interest_signals(bob) == [] and lib.collections_of(bob) == []
    assert lib.user_by_name("bob") is None and lib.session_user("h", t(6)) is None
    assert lib.db.query("SELECT * FROM member_preferences WHERE user_id = ?", (bob,)) == []
    user = lib.user_by_id(bob)
    assert user is not None and user.email is None
    with pytest.raises(NotFound):
        lib.delete_account(bob, t(6))
