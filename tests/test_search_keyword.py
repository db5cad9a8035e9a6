"""The keyword index: exact behaviours on hand-made papers, ranking and filters on 2,000 real arXiv papers."""

from __future__ import annotations

import gzip
import itertools
import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import tantivy

from paperfeed.papers import Paper, clean_text
from paperfeed.search import keyword
from paperfeed.search.keyword import IndexBusy, KeywordDoc, KeywordHit, KeywordIndex
from paperfeed.search.query import Query, parse_query

LISTINGS = (
    Path(__file__).resolve().parents[1].parent / "shared" / "data" / "arxiv-listings"
) / "arxiv_daily_listings.dedup.jsonl.gz"
REAL_COUNT = 2000


def ids(index: KeywordIndex, text: str, limit: int = 50) -> list[str]:
    return [h.paper_id for h in index.search(parse_query(text), limit)]


HAND_MADE = [
    KeywordDoc(
        "gnn",
        "Graph Neural Networks for Molecules",
        "We train graph neural networks on molecular graphs.",
        ["Geoffrey Hinton", "Bernhard Schölkopf"],
        ["cs.LG", "q-bio.BM"],
        "2024-06-01",
    ),
    KeywordDoc(
        "swapped",
        "Neural Graph Network Models",
        "A neural graph network, not the usual order of words.",
        ["Geoffrey Smith", "Jane Hinton"],
        ["cs.CL"],
        "2023-01-01",
    ),
    KeywordDoc(
        "title-hit",
        "Diffusion Sampling",
        "We study a simple method for images of cats and other animals.",
        ["Ada Lovelace"],
        ["cs.CV"],
        "2024-12-31",
    ),
    KeywordDoc(
        "abstract-hit",
        "Image Generation",
        "We study diffusion sampling for images of cats and other animals.",
        ["Alan Turing"],
        ["stat.ML", "cs.LG"],
        "2025-01-01",
    ),
    KeywordDoc("undated", "A Survey of Clustering", "We survey k-means and friends.", ["Ada Lovelace"], ["cs.LG"]),
]


@pytest.fixture
def hand() -> KeywordIndex:
    index = KeywordIndex.in_memory()
    assert index.upsert(HAND_MADE) == len(HAND_MADE)
    return index


def _real_docs() -> Iterator[KeywordDoc]:
    with gzip.open(LISTINGS, "rt", encoding="utf-8") as f:
        for line in itertools.islice(f, REAL_COUNT):
            r = json.loads(line)
            days = r.get("listing_dates") or []
            yield KeywordDoc(
                r["id"],
                clean_text(r["title"]),
                clean_text(r["summary"]),
                r["authors"],
                r["categories"],
                min(days) if days else None,
            )


@pytest.fixture(scope="module")
def real() -> tuple[KeywordIndex, dict[str, KeywordDoc]]:
    if not LISTINGS.exists():
        pytest.skip(f"{LISTINGS} is missing")
    docs = {d.paper_id: d for d in _real_docs()}
    index = KeywordIndex.in_memory()
    index.upsert(docs.values())
    return index, docs


# -- exact behaviours on hand-made papers ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ('"graph neural network"', ["gnn"]),  # phrase, stemmed: "networks" in the text
        ('"neural graph"', ["swapped"]),
        ("networks", ["gnn", "swapped"]),  # stemming both ways
        ("network -molecules", ["swapped"]),
        ('network -"graph neural"', ["swapped"]),
        ("author:hinton", ["gnn", "swapped"]),
        ('author:"Geoffrey Hinton"', ["gnn"]),  # a phrase within one name, never across two
        ('author:"hinton bernhard"', []),
        ("author:scholkopf", ["gnn"]),  # ASCII folding
        ("author:Schölkopf", ["gnn"]),
        ("-author:hinton cat:cs.LG", ["abstract-hit", "undated"]),  # papers with no day list last
        ("cat:cs.CL", ["swapped"]),
        ("cat:cs.CL cat:cs.CV", ["title-hit", "swapped"]),  # OR between categories; listings newest first
        ("cat:CS.cl", ["swapped"]),
        ("cat:q-bio", ["gnn"]),  # an archive matches all its categories
        ("cat:cs -cat:cs.LG", ["title-hit", "swapped"]),
        ("year:2024", ["title-hit", "gnn"]),
        ("year:2023..2024", ["title-hit", "gnn", "swapped"]),
        ("after:2024-12-31", ["abstract-hit", "title-hit"]),  # inclusive bounds
        ("before:2024-06-01", ["gnn", "swapped"]),
        ("after:2024-06-02 before:2024-12-30", []),
        ("title:diffusion", ["title-hit"]),
        ('title:"graph neural"', ["gnn"]),
        ("sampling title:image", ["abstract-hit"]),
        ("k-means", ["undated"]),  # a hyphenated word is matched as a phrase of its parts
        ("kmeans", []),
        ("lovelace", ["title-hit", "undated"]),  # free words search authors too
        ("2503.99999", []),
        ("gnn", []),  # ids are not text
        ("-graph", ["abstract-hit", "title-hit", "undated"]),  # only exclusions: the rest, newest first
    ],
)
def test_hand_made(hand: KeywordIndex, query: str, expected: list[str]) -> None:
    got = ids(hand, query)
    if parse_query(query).has_text:
        assert sorted(got) == sorted(expected)
    else:
        assert got == expected


def test_paper_id_lookup(hand: KeywordIndex) -> None:
    assert [h.paper_id for h in hand.search(Query(paper_id="gnn"), 5)] == ["gnn"]
    assert hand.search(Query(paper_id="nope"), 5) == []


def test_title_outweighs_abstract(hand: KeywordIndex) -> None:
    hits = hand.search(parse_query("diffusion sampling"), 10)
    assert [h.paper_id for h in hits] == ["title-hit", "abstract-hit"]
    assert hits[0].score > hits[1].score > 0
    assert [h.rank for h in hits] == [1, 2]


def test_filters_do_not_change_scores(hand: KeywordIndex) -> None:
    plain = {h.paper_id: h.score for h in hand.search(parse_query("diffusion"), 10)}
    filtered = {h.paper_id: h.score for h in hand.search(parse_query("diffusion cat:cs year:2024..2025"), 10)}
    assert filtered == pytest.approx(plain)


def test_unsearchable_and_degenerate(hand: KeywordIndex) -> None:
    assert hand.search(parse_query(""), 10) == []
    assert hand.search(parse_query("x" * 60), 10) == []  # the analyser drops 40+ letter tokens
    assert hand.search(parse_query("graph"), 0) == []  # tantivy panics on limit 0; we must not ask
    assert hand.count(parse_query("")) == 0


def test_count(hand: KeywordIndex) -> None:
    assert hand.count() == 5
    assert hand.count(parse_query("cat:cs")) == 5
    assert hand.count(parse_query("network")) == 2


def test_upsert_replaces_and_delete_removes(hand: KeywordIndex) -> None:
    hand.upsert([KeywordDoc("gnn", "Transformers for Proteins", "Attention.", ["Someone Else"], ["q-bio.BM"])])
    assert hand.count() == 5
    assert ids(hand, '"graph neural network"') == []
    assert ids(hand, "proteins") == ["gnn"]
    assert ids(hand, "author:hinton") == ["swapped"]
    hand.delete(["gnn", "not-there"])
    assert hand.count() == 4
    assert ids(hand, "proteins") == []


def test_duplicates_in_one_batch_keep_the_last() -> None:
    index = KeywordIndex.in_memory()
    index.upsert([KeywordDoc("a", "First title", ""), KeywordDoc("a", "Second title", "")])
    assert index.count() == 1
    assert ids(index, "second") == ["a"]
    assert ids(index, "first") == []


def test_clear(hand: KeywordIndex) -> None:
    hand.clear()
    assert hand.count() == 0


def test_from_paper() -> None:
    paper = Paper(id="2503.01234", title="T", abstract="A", authors=["X Y"], categories=["cs.LG"])
    assert KeywordDoc.from_paper(paper).day is None
    paper.submitted = "2025-03-10"
    assert KeywordDoc.from_paper(paper).day == "2025-03-10"
    paper.listing_days = {"2025-03-14": "replace", "2025-03-12": "new"}
    assert KeywordDoc.from_paper(paper).day == "2025-03-12"
    paper.announced = "2025-03-11"
    assert KeywordDoc.from_paper(paper) == KeywordDoc("2503.01234", "T", "A", ["X Y"], ["cs.LG"], "2025-03-11")


# -- on disk: several instances, the writer lock, meta ---------------------------------------------------------


def test_second_instance_sees_commits(tmp_path: Path) -> None:
    writer = KeywordIndex.open(tmp_path / "kw")
    reader = KeywordIndex.open(tmp_path / "kw")
    assert reader.count() == 0
    writer.upsert(HAND_MADE)
    assert reader.count() == 5
    assert sorted(ids(reader, "network")) == ["gnn", "swapped"]
    writer.delete(["swapped"])
    assert ids(reader, "network") == ["gnn"]
    reader.upsert([KeywordDoc("new", "A network", "")])  # the lock is per call: either instance may write
    assert sorted(ids(writer, "network")) == ["gnn", "new"]


def test_another_process_writes(tmp_path: Path) -> None:
    reader = KeywordIndex.open(tmp_path)
    reader.upsert(HAND_MADE)
    assert reader.count() == 5
    script = (
        "import sys; from pathlib import Path; from paperfeed.search.keyword import KeywordDoc, KeywordIndex\n"
        "ix = KeywordIndex.open(Path(sys.argv[1]))\n"
        "ix.upsert([KeywordDoc('other', 'Written by another process', '')]); ix.delete(['gnn'])\n"
        "ix.set_meta('seq', 12)\n"
    )
    subprocess.run([sys.executable, "-c", script, str(tmp_path)], check=True, timeout=60)
    assert reader.count() == 5
    assert ids(reader, "another process") == ["other"]
    assert ids(reader, '"graph neural"') == []
    assert reader.get_meta("seq") == 12


def test_writer_lock_held_elsewhere(tmp_path: Path) -> None:
    index = KeywordIndex.open(tmp_path)
    other = tantivy.Index.open(str(tmp_path)).writer()  # as another process would hold it
    with pytest.raises(IndexBusy):
        index.upsert(HAND_MADE, lock_timeout=0.3)
    other.rollback()
    other.wait_merging_threads()
    assert index.upsert(HAND_MADE) == 5


def test_a_writer_of_this_process_is_waited_for_at_most_the_timeout_and_readers_never_wait(tmp_path: Path) -> None:
    index = KeywordIndex.open(tmp_path)
    index.upsert(HAND_MADE[:2])
    inside, finish = threading.Event(), threading.Event()

    def slow_docs() -> Iterator[KeywordDoc]:  # a long commit: the writer holds the index until told to finish
        yield HAND_MADE[2]
        inside.set()
        finish.wait(30)
        yield from HAND_MADE[3:]

    writer = threading.Thread(target=index.upsert, args=(slow_docs(),))
    writer.start()
    assert inside.wait(30)
    outcome: list[object] = []

    def second_writer() -> None:
        try:
            outcome.append(index.upsert(HAND_MADE[:1], lock_timeout=0.3))
        except IndexBusy as exc:
            outcome.append(exc)

    other = threading.Thread(target=second_writer)
    other.start()
    other.join(10)  # it used to wait on this process's lock with no timeout at all
    busy = other.is_alive()
    assert index.count() == 2  # a reader meanwhile: the last commit, at once
    finish.set()
    writer.join(30)
    other.join(30)
    assert not busy and len(outcome) == 1 and isinstance(outcome[0], IndexBusy)
    assert index.count() == len(HAND_MADE)


def test_meta(tmp_path: Path) -> None:
    index = KeywordIndex.open(tmp_path / "kw")
    assert index.get_meta("last_change") is None
    index.set_meta("last_change", {"seq": 41, "at": "2025-03-01T00:00:00Z"})
    index.set_meta("other", 1)
    assert KeywordIndex.open(tmp_path / "kw").get_meta("last_change") == {"seq": 41, "at": "2025-03-01T00:00:00Z"}
    assert not [p for p in (tmp_path / "kw").iterdir() if p.name.startswith(".meta-")]
    with pytest.raises(ValueError):
        index.set_meta(keyword._SCHEMA_KEY, 9)
    memory = KeywordIndex.in_memory()
    memory.set_meta("k", [1, 2])
    assert memory.get_meta("k") == [1, 2]


def test_older_schema_is_wiped(tmp_path: Path) -> None:
    index = KeywordIndex.open(tmp_path)
    index.upsert(HAND_MADE)
    index.set_meta("last_change", 7)
    meta = json.loads((tmp_path / keyword.META_FILE).read_text())
    (tmp_path / keyword.META_FILE).write_text(json.dumps({**meta, keyword._SCHEMA_KEY: 0}))
    (tmp_path / "unrelated.txt").write_text("kept")
    reopened = KeywordIndex.open(tmp_path)
    assert reopened.count() == 0
    assert reopened.get_meta("last_change") is None
    assert (tmp_path / "unrelated.txt").read_text() == "kept"
    reopened.upsert(HAND_MADE[:1])
    assert KeywordIndex.open(tmp_path).count() == 1


# -- highlighting ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "query", "expected"),
    [
        ("Graph networks", "network", "Graph <mark>networks</mark>"),
        ("Networking", "networks", "<mark>Networking</mark>"),  # the stemmer reduces both to "network"
        ("A <b>graph</b> & more", "graph", "A &lt;b&gt;<mark>graph</mark>&lt;/b&gt; &amp; more"),
        ("x < y & z", "nothing", "x &lt; y &amp; z"),
        (
            "graph neural networks and neural graphs",
            '"graph neural"',
            "<mark>graph neural</mark> networks and neural graphs",
        ),
        ("graph neural networks", "graph neural", "<mark>graph neural</mark> networks"),
        ("the art of the state", "the state", "the art of the <mark>state</mark>"),  # free stopwords not marked
        ("state of the art", '"state of the art"', "<mark>state of the art</mark>"),
        ("use k-means, not k means", "k-means", "use <mark>k-means</mark>, not <mark>k means</mark>"),
        (
            "Schölkopf’s kernels 😀 kernel",
            "scholkopf kernel",
            "<mark>Schölkopf</mark>’s <mark>kernels</mark> 😀 <mark>kernel</mark>",
        ),
        ("diffusion in title", "title:diffusion", "<mark>diffusion</mark> in title"),
        ("nothing here", "-nothing", "nothing here"),
    ],
)
def test_highlight(hand: KeywordIndex, text: str, query: str, expected: str) -> None:
    assert hand.highlight(text, parse_query(query)) == expected


def test_highlight_authors(hand: KeywordIndex) -> None:
    names = "Geoffrey Hinton, Jane Jones"
    assert hand.highlight(names, parse_query('author:"geoffrey hinton" jones'), authors=True) == (
        "<mark>Geoffrey Hinton</mark>, Jane <mark>Jones</mark>"
    )
    assert hand.highlight(names, parse_query('author:"geoffrey hinton"')) == names


# -- ranking and filters on real papers ------------------------------------------------------------------------


def test_real_count(real: tuple[KeywordIndex, dict[str, KeywordDoc]]) -> None:
    index, docs = real
    assert index.count() == len(docs) == REAL_COUNT


def test_real_title_finds_its_paper(real: tuple[KeywordIndex, dict[str, KeywordDoc]]) -> None:
    index, docs = real
    some = next(iter(docs))
    assert ids(index, f"https://arxiv.org/abs/{some}v1") == [some]
    sample = list(docs.values())[::97]
    found = sum(ids(index, d.title, 3)[:1] == [d.paper_id] for d in sample)
    assert found >= len(sample) - 1


def test_real_all_words_rank_first(real: tuple[KeywordIndex, dict[str, KeywordDoc]]) -> None:
    index, _ = real
    both = set(ids(index, '"language" "reasoning"', 1000))
    top = ids(index, "language reasoning", 10)
    assert len(both) >= 10
    assert set(top) <= both
    # Fewer papers hold all three words than asked for: they come first, the rest follow, scores keep falling.
    every = set(ids(index, '"spiking" "transformer" "energy"', 1000))
    hits = index.search(parse_query("spiking transformer energy"), 40)
    assert 0 < len(every) < 40
    assert {h.paper_id for h in hits[: len(every)]} == every
    scores = [h.score for h in hits]
    assert scores == sorted(scores, reverse=True)
    start = len(every) - 1  # a page straddling the two groups
    page = index.search(parse_query("spiking transformer energy"), 10, offset=start)
    assert [(h.paper_id, h.score, h.rank) for h in page] == [(h.paper_id, h.score, h.rank) for h in hits[start:][:10]]


def test_real_filters(real: tuple[KeywordIndex, dict[str, KeywordDoc]]) -> None:
    index, docs = real
    hits = ids(index, "learning cat:cs.CL cat:cs.CV after:2025-03-18 before:2025-03-19", 200)
    assert hits
    for pid in hits:
        d = docs[pid]
        assert {"cs.CL", "cs.CV"} & set(d.categories)
        assert d.day is not None and "2025-03-18" <= d.day <= "2025-03-19"


def test_real_phrase_and_exclusion(real: tuple[KeywordIndex, dict[str, KeywordDoc]]) -> None:
    index, docs = real
    hits = ids(index, '"large language models" -reasoning', 200)
    assert len(hits) > 20
    for pid in hits:
        text = " ".join([docs[pid].title, docs[pid].abstract]).lower()
        assert "large language model" in " ".join(text.replace("-", " ").split())
        assert "reason" not in text


def test_real_listing_is_newest_first(real: tuple[KeywordIndex, dict[str, KeywordDoc]]) -> None:
    index, docs = real
    hits = ids(index, "cat:cs.LG", 300)
    days = [docs[pid].day or "" for pid in hits]
    assert len(hits) == 300
    assert days == sorted(days, reverse=True)


def test_real_pagination(real: tuple[KeywordIndex, dict[str, KeywordDoc]]) -> None:
    index, _ = real
    q = parse_query("neural network training")
    first = index.search(q, 20)
    second = index.search(q, 10, offset=10)
    assert [h.paper_id for h in second] == [h.paper_id for h in first[10:]]
    assert [h.rank for h in second] == list(range(11, 21))
    assert isinstance(first[0], KeywordHit)


def test_filter_ids(hand: KeywordIndex) -> None:
    candidates = ["gnn", "swapped", "title-hit", "ghost", "gnn"]
    assert hand.filter_ids(parse_query("author:hinton"), candidates) == {"gnn", "swapped"}
    assert hand.filter_ids(parse_query('-"graph neural" cat:cs'), candidates) == {"swapped", "title-hit"}
    assert hand.filter_ids(parse_query("network"), []) == set()
    assert hand.filter_ids(parse_query(""), candidates) == set()


# -- more like this (the keyword side of similar papers) --------------------------------------------------------


def test_like_text_finds_papers_sharing_the_distinctive_words_and_leaves_the_paper_out(hand: KeywordIndex) -> None:
    found = hand.like_text("Diffusion Sampling", "Images of cats and other animals.", 10, exclude_id="title-hit")
    assert [h.paper_id for h in found] == ["abstract-hit"]
    assert [h.rank for h in found] == [1]
    # Words only the paper itself holds (or no paper) find nothing; neither does an empty index.
    assert hand.like_text("Zebrafish", "Zebrafish.", 10) == []
    assert KeywordIndex.in_memory().like_text("Graph networks", "", 10) == []


def test_like_text_reads_at_most_the_given_number_of_words(hand: KeywordIndex) -> None:
    text = ("Graph Neural Networks", "Molecular graphs of cats.")
    every = {h.paper_id for h in hand.like_text(*text, 10, exclude_id="gnn")}
    assert every == {"swapped", "title-hit", "abstract-hit"}  # graph, neural, network; cats
    one = hand.like_text(*text, 10, exclude_id="gnn", terms=1)
    assert len({h.paper_id for h in one}) < len(every)


def test_like_text_respects_the_date_bound(hand: KeywordIndex) -> None:
    found = hand.like_text("Graph Neural Networks", "", 10, date_from="2024-01-01")
    assert [h.paper_id for h in found] == ["gnn"]
