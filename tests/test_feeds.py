"""Feed documents: RSS 2.0 / Atom 1.0 parse cleanly with feedparser, JSON Feed 1.1 keeps to its schema, and every
format carries the papers' text, links, authors and categories unmangled, byte-for-byte the same on every render."""

from __future__ import annotations

import calendar
import html
import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from xml.etree import ElementTree

import feedparser
import orjson
import pytest

from paperfeed.errors import BadInput
from paperfeed.formats.feeds import (
    EPOCH,
    ET_AL,
    FORMATS,
    JSON_FEED_VERSION,
    MAX_AUTHORS,
    MEDIA_TYPES,
    NO_ABSTRACT,
    FeedItem,
    FeedMeta,
    feed_etag,
    last_modified,
    render_feed,
)
from paperfeed.papers import Paper

SITE = "https://papers.example.org"
NASTY_TITLE = 'PanGu-$α$: <b>Bold</b> claims & "quotes" for $1<p<2$, $q>3$'
# RSS does not say whether a title is text or HTML, and feedparser guesses HTML once it sees a closing tag, so
# a "<b, x>" after one gets sanitised away; the document itself still carries this title as is (checked below).
WORST_TITLE = "<b>Bold</b> when a<b, x>y & AT&amp;T"
NASTY_ABSTRACT = (
    "We sort in $O(n^2)$ & prove <b>tight</b> bounds for a < b.\n\nSecond paragraph: Müller's lemma — ≤ 5%."
)
MANY_AUTHORS = [f"Author {i:02d}" for i in range(25)]

PAPERS = [
    Paper(
        id="2503.01234",
        title=NASTY_TITLE,
        abstract=NASTY_ABSTRACT,
        authors=["Jörg Müller", "李雷", "Zoë O'Brien & Łukasz"],
        categories=["cs.LG", "stat.ML", "cs.DS"],
        submitted="2025-03-01",
        updated="2025-03-10",
    ),
    Paper(
        id="hep-th/9901001",
        title="Old-style id <script>alert(1)</script>",
        abstract="Strings & branes.",
        authors=MANY_AUTHORS,
        categories=["hep-th"],
    ),
    Paper(id="pf-0123456789ab", title="A workshop paper with no arXiv id", authors=[], categories=[]),
]
PUBLISHED = [
    datetime(2025, 3, 5, 0, 0, tzinfo=UTC),
    datetime(2025, 3, 6, 9, 30, 15, 123456, tzinfo=timezone(timedelta(hours=2))),
    datetime(2025, 3, 4, 18, 0, tzinfo=UTC),
]
REASONS = ["trending: 12 votes", "matches hep-th", ""]


def _items() -> list[FeedItem]:
    return [
        FeedItem(paper=p, url=f"{SITE}/papers/{p.id}", published=when, reason=why)
        for p, when, why in zip(PAPERS, PUBLISHED, REASONS, strict=True)
    ]


def _meta(fmt: str = "rss", updated: datetime | None = None) -> FeedMeta:
    return FeedMeta(
        title="paperfeed — trending <& friends>",
        page_url=f"{SITE}/trending",
        feed_url=f"{SITE}/trending.{fmt}",
        description="Papers people upvote & discuss",
        updated=updated,
    )


def _expected_authors(paper: Paper) -> list[str]:
    return [*paper.authors[:MAX_AUTHORS], ET_AL] if len(paper.authors) > MAX_AUTHORS else paper.authors


def _epoch(moment: datetime) -> int:
    return int(moment.timestamp())


def _parse_xml(fmt: str, items: list[FeedItem], meta: FeedMeta | None = None) -> Any:
    parsed = feedparser.parse(render_feed(fmt, meta or _meta(fmt), items))
    assert parsed.bozo == 0, parsed.get("bozo_exception")
    assert parsed.version == {"rss": "rss20", "atom": "atom10"}[fmt]
    return parsed


@pytest.mark.parametrize("fmt", ["rss", "atom"])
def test_xml_feed_metadata(fmt: str) -> None:
    parsed = _parse_xml(fmt, _items())
    feed, meta = parsed.feed, _meta(fmt)
    assert feed.title == meta.title
    assert _shown(fmt, feed.subtitle) == meta.description
    assert feed.language == "en"
    assert feed.generator == "paperfeed"
    rels = {link["rel"]: link["href"] for link in feed.links}
    assert rels == {"alternate": meta.page_url, "self": meta.feed_url}
    # Newest of the items' times: paper 0 got a new version on 2025-03-10, after every announcement.
    assert calendar.timegm(feed.updated_parsed) == _epoch(datetime(2025, 3, 10, tzinfo=UTC))
    assert parsed.headers == {} and parsed.encoding.lower() == "utf-8"


@pytest.mark.parametrize("fmt", ["rss", "atom"])
def test_xml_entries_round_trip(fmt: str) -> None:
    items = _items()
    entries = _parse_xml(fmt, items).entries
    assert [e.id for e in entries] == [item.url for item in items]
    for entry, item in zip(entries, items, strict=True):
        paper = item.paper
        assert entry.title == paper.title
        assert entry.link == item.url
        related = [link["href"] for link in entry.links if link["rel"] == "related"]
        assert related == ([f"https://arxiv.org/abs/{paper.id}"] if paper.is_arxiv else [])
        assert [a["name"] for a in entry.get("authors", [])] == _expected_authors(paper)
        assert [t.term for t in entry.get("tags", [])] == paper.categories
        assert calendar.timegm(entry.published_parsed) == _epoch(item.published)
        if paper.abstract:
            assert _shown(fmt, entry.summary) == paper.abstract
        content = entry.content[0]
        assert content.type == "text/html"
        assert _first_paragraph(content.value) == (paper.abstract.split("\n\n")[0] if paper.abstract else NO_ABSTRACT)
        if item.reason:
            assert item.reason in content.value


def _shown(fmt: str, value: str) -> str:
    """What a reader shows: RSS descriptions are HTML (so paperfeed escapes text in them), Atom's here are text."""
    return html.unescape(value) if fmt == "rss" else value


def _first_paragraph(content_html: str) -> str:
    match = re.match(r"<p>(.*?)</p>", content_html, re.DOTALL)
    assert match is not None, content_html
    return html.unescape(match.group(1))


def test_atom_entry_updated_follows_new_versions() -> None:
    entries = _parse_xml("atom", _items()).entries
    assert calendar.timegm(entries[0].updated_parsed) == _epoch(datetime(2025, 3, 10, tzinfo=UTC))
    assert calendar.timegm(entries[1].updated_parsed) == _epoch(PUBLISHED[1])


def test_author_list_is_capped_with_et_al() -> None:
    entry = _parse_xml("atom", _items()).entries[1]
    names = [a["name"] for a in entry.authors]
    assert len(names) == MAX_AUTHORS + 1 and names[-1] == ET_AL and names[:-1] == MANY_AUTHORS[:MAX_AUTHORS]
    assert "Authors: " + ", ".join(names) in entry.content[0].value


@pytest.mark.parametrize("fmt", FORMATS)
def test_paper_text_is_escaped_in_html_content(fmt: str) -> None:
    body = render_feed(fmt, _meta(fmt), _items())
    if fmt == "json":
        contents = [item["content_html"] for item in orjson.loads(body)["items"]]
    else:
        contents = [e.content[0].value for e in _parse_xml(fmt, _items()).entries]
    assert "<b>" not in contents[0] and "&lt;b&gt;tight&lt;/b&gt;" in contents[0]
    assert "Jörg Müller, 李雷, Zoë O&#x27;Brien &amp; Łukasz" in contents[0]
    assert all("<script" not in content for content in contents)  # the title's tag is text in every format
    assert "arxiv.org" not in contents[2]


@pytest.mark.parametrize("fmt", ["rss", "atom"])
def test_pf_paper_has_no_arxiv_link(fmt: str) -> None:
    entry = _parse_xml(fmt, _items()).entries[2]
    assert [link["href"] for link in entry.links] == [f"{SITE}/papers/pf-0123456789ab"]


@pytest.mark.parametrize("fmt", FORMATS)
def test_worst_title_is_written_as_is(fmt: str) -> None:
    paper = Paper(id="2501.00002", title=WORST_TITLE, abstract=WORST_TITLE, categories=["a&b", "<c>"])
    item = FeedItem(paper=paper, url=f"{SITE}/papers/2501.00002?a=1&b=2", published=PUBLISHED[0])
    body = render_feed(fmt, _meta(fmt), [item])
    if fmt == "json":
        got = orjson.loads(body)["items"][0]
        assert (got["title"], got["summary"], got["tags"], got["url"]) == (
            WORST_TITLE,
            WORST_TITLE,
            paper.categories,
            item.url,
        )
        return
    if fmt == "atom":  # Atom says type="text", so feedparser takes it verbatim
        entry = _parse_xml(fmt, [item]).entries[0]
        assert (entry.title, entry.summary, entry.id, entry.link) == (WORST_TITLE, WORST_TITLE, item.url, item.url)
        assert [t.term for t in entry.tags] == paper.categories
    root = ElementTree.fromstring(body)
    ns = {"a": "http://www.w3.org/2005/Atom"}
    entry_xml = root.find("channel/item") if fmt == "rss" else root.find("a:entry", ns)
    assert entry_xml is not None
    title = entry_xml.find("title") if fmt == "rss" else entry_xml.find("a:title", ns)
    summary = entry_xml.find("description") if fmt == "rss" else entry_xml.find("a:summary", ns)
    assert title is not None and summary is not None
    # RSS readers render <description> as HTML, so it holds the text escaped; Atom's is type="text", as is.
    assert (title.text, summary.text) == (
        WORST_TITLE,
        html.escape(WORST_TITLE, quote=False) if fmt == "rss" else WORST_TITLE,
    )


# --- JSON Feed -----------------------------------------------------------------------------------------------------


def _rfc3339(value: Any) -> datetime:
    assert isinstance(value, str) and re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)", value)
    parsed = datetime.fromisoformat(value)
    assert parsed.tzinfo is not None
    return parsed


def _check_json_feed_schema(doc: Any) -> None:
    """The parts of JSON Feed 1.1 (jsonfeed.org/version/1.1) a reader relies on: required keys and their types."""
    assert isinstance(doc, dict)
    assert doc["version"] == JSON_FEED_VERSION
    assert isinstance(doc["title"], str) and doc["title"]
    for key in ("home_page_url", "feed_url"):
        assert isinstance(doc[key], str) and doc[key].startswith("https://")
    assert isinstance(doc["description"], str) and doc["language"] == "en"
    assert isinstance(doc["items"], list)
    allowed = {"id", "url", "external_url", "title", "content_html", "content_text", "summary", "date_published"}
    allowed |= {"date_modified", "authors", "tags"}
    for item in doc["items"]:
        assert set(item) <= allowed, set(item) - allowed
        assert isinstance(item["id"], str) and item["id"]
        assert isinstance(item.get("content_html"), str) or isinstance(item.get("content_text"), str)
        for key in ("url", "external_url", "title", "summary", "content_text"):
            assert isinstance(item.get(key, ""), str)
        for key in ("date_published", "date_modified"):
            if key in item:
                _rfc3339(item[key])
        for author in item.get("authors", []):
            assert set(author) == {"name"} and isinstance(author["name"], str)
        assert all(isinstance(tag, str) for tag in item.get("tags", []))


def test_json_feed_round_trip() -> None:
    items = _items()
    doc = orjson.loads(render_feed("json", _meta("json"), items))
    _check_json_feed_schema(doc)
    meta = _meta("json")
    assert (doc["title"], doc["home_page_url"], doc["feed_url"]) == (meta.title, meta.page_url, meta.feed_url)
    assert doc["description"] == meta.description
    for got, item in zip(doc["items"], items, strict=True):
        paper = item.paper
        assert got["id"] == got["url"] == item.url
        assert got["title"] == paper.title
        assert got.get("external_url") == (f"https://arxiv.org/abs/{paper.id}" if paper.is_arxiv else None)
        assert got.get("summary") == (paper.abstract or None)
        assert [a["name"] for a in got.get("authors", [])] == _expected_authors(paper)
        assert got.get("tags", []) == paper.categories
        assert _rfc3339(got["date_published"]) == item.published.replace(microsecond=0)
        assert got["content_text"].startswith(paper.abstract or NO_ABSTRACT)
        assert _first_paragraph(got["content_html"]) == (paper.abstract.split("\n\n")[0] or NO_ABSTRACT)
        assert (item.reason in got["content_text"]) if item.reason else True


# --- every format --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_render_is_deterministic(fmt: str) -> None:
    first = render_feed(fmt, _meta(fmt), _items())
    # Equal but distinct input objects, rendered later: nothing may depend on identity or the clock.
    again = render_feed(fmt, _meta(fmt), [replace(i, paper=Paper.from_dict(i.paper.to_dict())) for i in _items()])
    assert first == again
    assert feed_etag(first) == feed_etag(again)
    assert first.decode("utf-8")  # UTF-8 throughout
    changed = render_feed(fmt, _meta(fmt), _items()[:2])
    assert feed_etag(changed) != feed_etag(first)


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("updated", [None, datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)])
def test_empty_feed_is_valid(fmt: str, updated: datetime | None) -> None:
    meta = _meta(fmt, updated)
    body = render_feed(fmt, meta, [])
    assert body == render_feed(fmt, meta, [])
    if fmt == "json":
        doc = orjson.loads(body)
        _check_json_feed_schema(doc)
        assert doc["items"] == []
        return
    parsed = _parse_xml(fmt, [], meta)
    assert parsed.entries == []
    assert calendar.timegm(parsed.feed.updated_parsed) == _epoch(updated or EPOCH)


@pytest.mark.parametrize("fmt", FORMATS)
def test_text_xml_cannot_carry_is_dropped(fmt: str) -> None:
    paper = Paper(
        id="2501.00001", title="Form\x0cfeed\x00 title", abstract="Bell\x07 abstract\ud800", authors=["A\x1bB"]
    )
    item = FeedItem(paper=paper, url=f"{SITE}/papers/2501.00001", published=PUBLISHED[0])
    body = render_feed(fmt, _meta(fmt), [item])
    if fmt == "json":
        assert orjson.loads(body)["items"][0]["title"] == "Formfeed title"
    else:
        entry = _parse_xml(fmt, [item]).entries[0]
        assert (entry.title, entry.summary, entry.author) == ("Formfeed title", "Bell abstract", "AB")


def test_media_types_cover_formats() -> None:
    assert set(MEDIA_TYPES) == set(FORMATS)
    assert all(v.endswith("; charset=utf-8") for v in MEDIA_TYPES.values())


def test_unknown_format_is_bad_input() -> None:
    with pytest.raises(BadInput):
        render_feed("opml", _meta(), _items())


def test_naive_times_are_refused() -> None:
    item = replace(_items()[0], published=datetime(2025, 3, 5))
    with pytest.raises(ValueError, match="timezone"):
        render_feed("atom", _meta("atom"), [item])


@pytest.mark.parametrize(
    ("updated", "items", "expected"),
    [
        (None, [], EPOCH),
        (datetime(2024, 1, 1, 12, tzinfo=UTC), [], datetime(2024, 1, 1, 12, tzinfo=UTC)),
        # An explicit meta time wins even over newer items: the caller knows when the listing changed.
        (datetime(2024, 1, 1, 12, tzinfo=UTC), _items(), datetime(2024, 1, 1, 12, tzinfo=UTC)),
        (None, _items(), datetime(2025, 3, 10, tzinfo=UTC)),  # paper 0's new version
        (None, _items()[1:], datetime(2025, 3, 6, 7, 30, 15, tzinfo=UTC)),  # +02:00 → UTC, whole seconds
    ],
)
def test_last_modified(updated: datetime | None, items: list[FeedItem], expected: datetime) -> None:
    got = last_modified(_meta(updated=updated), items)
    assert got == expected and got.utcoffset() == timedelta(0) and got.microsecond == 0


def test_etag_is_strong_and_quoted() -> None:
    etag = feed_etag(b"<rss/>")
    assert re.fullmatch(r'"[0-9a-f]{32}"', etag)
    assert etag != feed_etag(b"<rss />")


@pytest.mark.parametrize("fmt", ["rss", "atom"])
def test_markup_in_an_abstract_reaches_a_feed_reader_as_text(fmt: str) -> None:
    evil = 'Results <img src=x onerror="alert(1)"> and <script>alert(2)</script> & more.'
    paper = Paper(id="2501.00003", title="T", abstract=evil)
    body = render_feed(
        fmt, _meta(fmt), [FeedItem(paper=paper, url=f"{SITE}/papers/2501.00003", published=PUBLISHED[0])]
    )
    entry = feedparser.parse(body, sanitize_html=False).entries[0]  # a reader that trusts the feed's HTML
    if fmt == "rss":  # RSS descriptions are HTML to readers
        assert (
            entry.summary_detail.type == "text/html" and "<img" not in entry.summary and "<script" not in entry.summary
        )
        assert html.unescape(entry.summary) == evil
    else:
        assert entry.summary_detail.type == "text/plain" and entry.summary == evil
