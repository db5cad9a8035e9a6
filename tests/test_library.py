"""The library core on a real store (SQLite, or PostgreSQL with PAPERFEED_TEST_PG): imports of real Zotero,
Mendeley and RIS exports, id lists and authors; refusing malformed files by line with nothing written; exports as
BibTeX, RIS and CSL-JSON read back by the maintained parsers; the account export restored exactly into a fresh
instance; collections' rules; account deletion."""

from __future__ import annotations

from pathlib import Path

import bibtexparser
import orjson
import pytest
import rispy
from argon2 import PasswordHasher

from paperfeed.community import rules
from paperfeed.errors import BadInput, NotFound, Unauthorized
from paperfeed.library import account, collections, exports, imports, saves
from paperfeed.papers import Paper, content_id
from paperfeed.store import Store, open_store
from paperfeed.store.community import User

SAMPLES = Path(__file__).parent / "fixtures" / "library"
DAY = "2026-11-20"
VOLCANO = "The Physical Volcanology of the 1600 Eruption of Huaynaputina, Southern Peru"
SASSON_DOI = "10.1161/CIR.0b013e318288b4dd"


@pytest.fixture(autouse=True)
def quick_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    fast = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    monkeypatch.setattr(rules, "_hasher", fast)
    monkeypatch.setattr(rules, "_DUMMY_HASH", fast.hash("dummy"))


def paper(pid: str, title: str, **extra: object) -> Paper:
    return Paper(
        id=pid,
        title=title,
        abstract="An abstract with $x^2$ math.",
        authors=["Tom B. Brown", "Ada Lovelace"],
        categories=["cs.CL"],
        submitted="2020-05-28",
        announced=DAY,
        listing_days={DAY: "new"},
        source="test",
        **extra,  # type: ignore[arg-type]
    )


PAPERS = [
    paper("2005.14165", "Language Models are Few-Shot Learners"),
    paper(content_id(VOLCANO), VOLCANO),
    paper(content_id("Increasing CPR"), "Increasing CPR provision", doi=SASSON_DOI),
    paper("2611.00001", "Title of Reference"),
    paper("2611.00002", "Sparse attention at scale"),
    paper("hep-th/9901001", "Old strings"),
]


def fill(store: Store) -> Store:
    store.upsert_papers(PAPERS)
    return store


@pytest.fixture
def lib(store: Store) -> Store:
    return fill(store)


def member(store: Store, name: str = "ada") -> User:
    return rules.sign_up(store, name, "correct horse battery")


def read(name: str) -> bytes:
    return (SAMPLES / name).read_bytes()


# -- imports ---------------------------------------------------------------------------------------------------------
def test_zotero_better_bibtex_export_matches_by_arxiv_id_and_brings_its_keywords(lib: Store) -> None:
    ada = member(lib)
    report = imports.import_references(lib, ada, read("zotero-bbt-arxiv.biblatex"), filename="My Library.bib")
    assert report.format == "bibtex"
    assert [(m.paper_id, m.how, m.reference.where) for m in report.matched] == [("2005.14165", "arXiv id", "line 1")]
    assert report.unmatched == [] and report.added == 1
    entry = lib.library_entry(ada.id, "2005.14165")
    assert entry is not None and entry.tags == ("Computer Science - Computation and Language",)


def test_zotero_and_mendeley_bibtex_match_by_doi_and_normalised_title(lib: Store) -> None:
    ada = member(lib)
    both = read("zotero-bibtex.bib") + b"\n" + read("mendeley-desktop.bib")
    report = imports.import_references(lib, ada, both, tags="from zotero")
    assert [(m.how, m.reference.where) for m in report.matched] == [("DOI", "line 1"), ("title", "line 18")]
    entry = lib.library_entry(ada.id, content_id(VOLCANO))
    assert entry is not None and entry.tags == ("Vulcanian eruptions", "breadcrust", "from zotero", "plinian")


def test_google_scholar_shape_and_id_lists_match_by_arxiv_id(lib: Store) -> None:
    ada = member(lib)
    scholar = (
        "@article{brown2020language,\n  title={Language models are few-shot learners},\n  author={Brown, Tom},"
        "\n  journal={arXiv preprint arXiv:2005.14165},\n  year={2020}\n}\n"
    )
    assert [m.how for m in imports.import_references(lib, ada, scholar, dry_run=True).matched] == ["arXiv id"]
    listed = "# my reading list\nhttps://arxiv.org/abs/2611.00001v2\narXiv:hep-th/9901001\n\n2699.99999\n" + SASSON_DOI
    report = imports.import_references(lib, ada, listed)
    assert report.format == "ids"
    assert [m.paper_id for m in report.matched] == ["2611.00001", "hep-th/9901001", content_id("Increasing CPR")]
    assert [(r.where, r.label) for r in report.unmatched] == [("line 5", "2699.99999")]
    assert report.to_dict()["unmatched"][0]["arxiv_id"] == "2699.99999"


def test_ris_exports_match_by_title_and_doi_and_report_the_rest(lib: Store) -> None:
    ada = member(lib)
    report = imports.import_references(lib, ada, read("rispy-example-full.ris"), filename="export.ris")
    assert [(m.paper_id, m.how, m.reference.where) for m in report.matched] == [("2611.00001", "title", "line 2")]
    assert [(r.where, r.title) for r in report.unmatched] == [("line 27", "The title of the reference")]
    entry = lib.library_entry(ada.id, "2611.00001")
    assert entry is not None and entry.tags == ("Nordwind", "Pippi", "Piraten")
    bom = imports.import_references(lib, ada, read("rispy-example-bom.ris"))
    assert bom.format == "ris" and bom.matched == [] and bom.unmatched[0].doi == "10.1186/s40981-020-0316-0"


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("@article{ok, title={Language Models are Few-Shot Learners}}\n\n@misc{bad,\n  title = {Broken\n", "line 3"),
        ("TY  - JOUR\nTI  - Title of Reference\nER  - \nTY  - JOUR\nTI  - never ends\n", "line 4"),
        ("TY  - JOUR\nTI  - Title of Reference\nTY  - JOUR\nER  - \n", "line 3"),
        ("TI  - a field before any record\n", "line 1"),
        ("2611.00001\nnot an id at all\n", "line 2"),
    ],
)
def test_malformed_files_name_the_line_and_write_nothing(lib: Store, text: str, where: str) -> None:
    ada = member(lib)
    with pytest.raises(BadInput) as info:
        imports.import_references(lib, ada, text)
    assert info.value.where == where
    assert lib.library_ids(ada.id) == ([], 0)


def test_a_file_that_is_not_utf8_is_refused_by_line(lib: Store) -> None:
    with pytest.raises(BadInput) as info:
        imports.import_references(lib, member(lib), "2611.00001\n2611.00002\nCaf\xe9\n".encode("latin-1"))
    assert info.value.where == "line 3"


def test_papers_by_an_author_and_into_a_collection(lib: Store) -> None:
    ada = member(lib)
    report = imports.import_author(lib, ada, "tom b. BROWN", collection="Brown's papers")
    assert len(report.matched) == len(PAPERS) and report.collection == "brown-s-papers"
    col = lib.collection_by_slug("ada", "brown-s-papers")
    assert col is not None and not col.public and col.size == len(PAPERS)
    assert imports.import_author(lib, ada, "Nobody Atall").unmatched[0].label == "Nobody Atall"


def test_imports_need_a_member(lib: Store) -> None:
    with pytest.raises(Unauthorized):
        imports.import_references(lib, None, "2611.00001")


# -- exports ---------------------------------------------------------------------------------------------------------
def _library(store: Store) -> User:
    ada = member(store)
    saves.update(store, ada, "2005.14165", add_tags=["llm", "few-shot"], note="Compare with T5", state="read")
    saves.update(store, ada, "2611.00002", add_tags=["llm"])
    saves.save(store, ada, content_id(VOLCANO))
    saves.rate(store, ada, "2611.00002", -1)
    saves.rate(store, ada, "2005.14165", 1)
    rg = collections.create(store, ada, "Reading group", description="Tuesdays", public=True)
    collections.add(store, ada, rg.id, ["2611.00002", "2005.14165", "hep-th/9901001"])
    collections.move(store, ada, rg.id, "hep-th/9901001", -2)
    collections.create(store, ada, "Thesis")
    return ada


def test_exports_read_back_with_the_maintained_parsers(lib: Store) -> None:
    ada = _library(lib)
    bib = exports.library_export(lib, ada, "bibtex")
    parsed = bibtexparser.parse_string(bib.text)
    assert bib.filename == "library.bib" and not parsed.failed_blocks and len(parsed.entries) == 4
    brown = next(e for e in parsed.entries if e.fields_dict.get("eprint") and e["eprint"] == "2005.14165")
    assert brown["keywords"] == "few-shot, llm" and brown["annote"] == "Compare with T5"
    ris = rispy.loads(exports.library_export(lib, ada, "ris", tag="llm").text)
    assert sorted(r["doi"] for r in ris) == ["10.48550/arXiv.2005.14165", "10.48550/arXiv.2611.00002"]
    csl = orjson.loads(exports.collection_export(lib, ada, "ada", "reading-group", "csl").text)
    assert [c["number"] for c in csl] == ["hep-th/9901001", "2611.00002", "2005.14165"]
    assert csl[2]["author"][0] == {"family": "Brown", "given": "Tom B."} and csl[2]["keyword"] == "few-shot, llm"
    from citeproc import Citation, CitationItem, CitationStylesBibliography, CitationStylesStyle, formatter
    from citeproc.source.json import CiteProcJSON

    source = CiteProcJSON(csl)
    bibliography = CitationStylesBibliography(
        CitationStylesStyle("harvard-cite-them-right", validate=False), source, formatter.plain
    )
    bibliography.register(Citation([CitationItem(csl[2]["id"])]))
    assert "Brown" in str(bibliography.bibliography()[0])


def test_a_public_collection_exported_by_someone_else_carries_no_private_tags(lib: Store) -> None:
    _library(lib)
    bob = member(lib, "bob")
    bib = exports.collection_export(lib, bob, "ada", "reading-group", "bibtex").text
    assert "keywords" not in bib and "annote" not in bib and "2005.14165" in bib
    with pytest.raises(NotFound):
        exports.collection_export(lib, bob, "ada", "thesis", "ris")
    with pytest.raises(BadInput):
        exports.library_export(lib, bob, "docx")


def _account_state(store: Store, who: User) -> tuple[object, ...]:
    """Everything a restore brings back, as one value: library (entries with tags, notes, states, when saved),
    collections in their order, ratings with their times, upvotes with theirs, the blend."""
    ids, _ = store.library_ids(who.id, limit=100)
    entries = store.library_entries_of(who.id, ids)
    cols = [
        (c.slug, c.name, c.description, c.public, c.created_at, store.collection_paper_ids(c.id))
        for c in store.collections_of(who.id)
    ]
    return ids, entries, cols, store.rating_rows(who.id), store.votes_of(who.id), store.personal_weight(who.id)


def test_account_export_restores_library_collections_ratings_votes_and_blend_exactly_in_a_fresh_instance(
    lib: Store, module_store_url: str
) -> None:
    """``module_store_url`` is a second store of its own (this module's only user of it): the fresh instance."""
    ada = _library(lib)
    lib.set_vote(ada.id, "2611.00001", True, "2026-11-21T10:00:00+00:00")
    lib.set_vote(ada.id, "2611.00002", True, "2026-11-21T11:00:00+00:00")
    lib.set_personal_weight(ada.id, 75, "2026-11-21T12:00:00+00:00")
    rules.comment(lib, ada, "2611.00001", "A fine paper")
    doc = orjson.loads(orjson.dumps(account.export_account(lib, ada)))  # through JSON, as the file goes
    assert doc["profile"]["name"] == "ada" and [v["paper"] for v in doc["votes"]] == ["2611.00002", "2611.00001"]
    assert doc["comments"][0]["body"] == "A fine paper" and len(doc["ratings"]) == 2
    assert doc["preferences"] == {"personal_weight": 75}

    with open_store(module_store_url) as fresh:
        fill(fresh)
        again = member(fresh, "ada2")
        fresh.set_vote(member(fresh, "bob").id, "2611.00001", True, "2026-11-22T09:00:00+00:00")
        report = account.restore_account(fresh, again, orjson.dumps(doc))
        assert report.missing == [] and report.library == 4 and report.collections == 2
        assert (report.ratings, report.votes, report.personal_weight) == (2, 2, 75)
        assert report.not_restored == {"comments": 1, "subscriptions": 0}
        assert (
            "Not restored, as the account page explains: 1 comment." in report.summary
            and "your blend (75 % personal)" in report.summary
        )
        assert _account_state(fresh, again) == _account_state(lib, ada)
        counts = {pid: a.upvotes for pid, a in fresh.activity(["2611.00001", "2611.00002"]).items()}
        assert counts == {"2611.00001": 2, "2611.00002": 1}  # bob's and the restored one
        assert fresh.comments_on("2611.00001") == []
        account.restore_account(fresh, again, doc)  # restoring twice changes nothing
        assert _account_state(fresh, again) == _account_state(lib, ada)
        assert {pid: a.upvotes for pid, a in fresh.activity(list(counts)).items()} == counts
        # a newer rating made here is not replaced by the export's older one
        fresh.set_rating(again.id, "2611.00002", 1, "2999-01-01T00:00:00+00:00")
        account.restore_account(fresh, again, doc)
        assert fresh.ratings_of(again.id)["2611.00002"] == 1
    with pytest.raises(BadInput):
        account.restore_account(lib, ada, b'{"format": "something-else"}')


def test_an_account_restore_writes_all_of_it_or_nothing(lib: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    ada = _library(lib)
    lib.set_vote(ada.id, "2611.00001", True, "2026-11-21T10:00:00+00:00")
    lib.set_personal_weight(ada.id, 25, "2026-11-21T12:00:00+00:00")
    doc = account.export_account(lib, ada)
    bea = member(lib, "bea")
    empty = _account_state(lib, bea)
    execute = lib.db.execute

    def failing(sql: str, *args: object) -> int:
        if sql.startswith("INSERT INTO votes"):  # the votes come after the library, collections and ratings
            raise RuntimeError("the disk is full")
        return execute(sql, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(lib.db, "execute", failing)
    with pytest.raises(RuntimeError):
        account.restore_account(lib, bea, doc)
    monkeypatch.undo()
    assert _account_state(lib, bea) == empty
    # refused files name the item and write nothing either
    bad = {**doc, "ratings": [*doc["ratings"], {"paper": "2611.00001", "value": 3, "at": "2026-11-21T10:00:00+00:00"}]}
    with pytest.raises(BadInput) as refused:
        account.restore_account(lib, bea, bad)
    assert refused.value.where == "ratings[2]"
    late = {**doc, "votes": [{"paper": "2611.00001", "at": "yesterday"}]}
    with pytest.raises(BadInput) as refused:
        account.restore_account(lib, bea, late)
    assert refused.value.where == "votes[0]" and "ISO 8601" in str(refused.value)
    with pytest.raises(BadInput) as refused:
        account.restore_account(lib, bea, {**doc, "preferences": {"personal_weight": 101}})
    assert refused.value.where == "preferences"
    crowded = {**doc, "library": [{**doc["library"][0], "tags": [f"t{i}" for i in range(21)]}]}
    with pytest.raises(BadInput) as refused:
        account.restore_account(lib, bea, crowded)
    assert refused.value.where == "library[0]" and "at most 20 tags" in str(refused.value)
    with pytest.raises(BadInput) as refused:
        account.restore_account(lib, bea, b" " * (account.MAX_BYTES + 1))
    assert "larger than 20 MB" in str(refused.value)
    assert _account_state(lib, bea) == empty
    # a time in the future is now; another offset is stored in UTC
    future = {**doc, "votes": [{"paper": "2611.00001", "at": "2999-01-01T00:00:00+00:00"}],
              "ratings": [{"paper": "2611.00002", "value": 1, "at": "2026-11-21T12:00:00+02:00"}]}  # fmt: skip
    account.restore_account(lib, bea, future)
    assert lib.votes_of(bea.id)[0][1] < "2999"
    assert lib.rating_rows(bea.id) == [("2611.00002", 1, "2026-11-21T10:00:00+00:00")]


def test_deleting_an_account_needs_the_name_and_keeps_comments_anonymously(lib: Store) -> None:
    member(lib, "boss")
    bob = member(lib, "bob")
    rules.comment(lib, bob, "2611.00001", "Keep this text")
    saves.save(lib, bob, "2611.00002")
    with pytest.raises(BadInput):
        account.delete_account(lib, bob, "not-bob")
    gone = account.delete_account(lib, bob, "bob")
    assert [(c.author, c.body) for c in lib.comments_on("2611.00001")] == [(gone, "Keep this text")]
    assert lib.library_ids(bob.id) == ([], 0)
    with pytest.raises(Unauthorized):
        rules.log_in(lib, "bob", "correct horse battery")


# -- the rules of saves and collections ------------------------------------------------------------------------------
def test_tags_notes_and_listing_rules(lib: Store) -> None:
    ada = member(lib)
    with pytest.raises(BadInput):
        saves.update(lib, ada, "2611.00001", add_tags=["a,b"])
    with pytest.raises(BadInput):
        saves.update(lib, ada, "2611.00001", note="x" * (saves.MAX_NOTE + 1))
    saves.update(lib, ada, "arXiv:2611.00001v3", add_tags=saves.split_tags(" to  cite ; bio, bio"))
    shown = saves.listing(lib, ada, tag="to cite")
    assert shown.ids == ["2611.00001"] and shown.saved == 1 and shown.tags == [("bio", 1), ("to cite", 1)]
    assert saves.unsave(lib, ada, "2611.00001v1") is True


def test_collections_are_the_owners_to_change_and_private_ones_theirs_to_see(lib: Store) -> None:
    ada, bob = member(lib), member(lib, "bob")
    col = collections.create(lib, ada, "Ünïcode & Co.")
    assert col.slug == "unicode-co"
    assert collections.create(lib, ada, "Unicode co").slug == "unicode-co-2"
    with pytest.raises(NotFound):
        collections.add(lib, bob, col.id, ["2611.00001"])
    with pytest.raises(NotFound):
        collections.page(lib, bob, "ada", "unicode-co")
    assert collections.page(lib, ada, "ada", "unicode-co").mine
    collections.update(lib, ada, col.id, public=True)
    assert collections.page(lib, None, "ada", "unicode-co").paper_ids == []
    with pytest.raises(BadInput):
        collections.create(lib, ada, "x", slug="Not A Slug")
    collections.delete(lib, ada, col.id)
    with pytest.raises(NotFound):
        collections.page(lib, ada, "ada", "unicode-co")
