"""arXiv listing feeds: the parser on the real (trimmed) Atom sample and the constructed RSS 2.0 sample, and the
fetcher on httpx.MockTransport."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from paperfeed.errors import BadInput, SourceError
from paperfeed.papers import Paper, Rejection
from paperfeed.sources.arxiv_rss import fetch_listing, parse_listing_feed
from paperfeed.sources.http import PoliteClient
from support import FakeTime

FIXTURES = Path(__file__).parent / "fixtures" / "arxiv_rss"
ATOM = (FIXTURES / "arxiv_rss_atom_cs.AI_2026_trimmed.xml").read_bytes()
RSS = (FIXTURES / "arxiv_rss_rss2_cs.AI_constructed.xml").read_bytes()


def papers(data: bytes) -> list[Paper]:
    items = parse_listing_feed(data).items
    assert all(isinstance(item, Paper) for item in items)
    return [item for item in items if isinstance(item, Paper)]


ENTRIES: list[tuple[str, bytes, int, dict[str, Any]]] = [
    (
        "atom-new",
        ATOM,
        0,
        dict(
            id="2609.31763",
            version=1,
            title="SMARtCARE: Privacy-Preserving Agentic AI Systems for Bounded-Autonomy Clinical Decision Support",
            abstract="Long-context clinical AI systems can miss relevant patient history.",
            authors=["Srini Ramaswamy", "Deveeshree Nayak"],
            categories=["cs.AI"],
            license="http://creativecommons.org/licenses/by/4.0/",
            listing_days={"2026-09-29": "new"},
            announced="2026-09-29",
        ),
    ),
    (
        "atom-cross",  # cross-listed from stat.ML: the primary stays first
        ATOM,
        1,
        dict(
            id="2301.02225",
            title="$l_{1-2}$ GLasso: Regularized Multi-task Graphical Lasso",
            categories=["stat.ML", "cs.AI"],
            listing_days={"2026-09-29": "cross"},
            announced=None,
        ),
    ),
    (
        "atom-replace",  # no dc:rights
        ATOM,
        2,
        dict(id="2306.13961", version=3, license=None, listing_days={"2026-09-29": "replace"}, announced=None),
    ),
    ("rss-new", RSS, 0, dict(id="2609.31763", version=1, listing_days={"2026-09-29": "new"})),
    (
        "rss-replace-cross",  # old-style id, wrapped title, "and"-joined authors, a code link in the abstract
        RSS,
        3,
        dict(
            id="hep-th/9901001",
            version=2,
            title="A Made-Up Replace-Cross Entry With a Wrapped Title",
            abstract="Made up for the test: an old-style id, two lines of abstract and a code link "
            "https://github.com/example/repo.",
            authors=["A. One", "B. Two", "C. Three Jr."],
            categories=["hep-th", "cs.AI"],
            code_urls=["https://github.com/example/repo"],
            listing_days={"2026-09-29": "replace-cross"},
        ),
    ),
]


@pytest.mark.parametrize(("data", "index", "expected"), [e[1:] for e in ENTRIES], ids=[e[0] for e in ENTRIES])
def test_entry(data: bytes, index: int, expected: dict[str, Any]) -> None:
    paper = papers(data)[index]
    assert {key: getattr(paper, key) for key in expected} == expected
    assert paper.source == "arxiv-rss"
    assert not paper.abstract.startswith("arXiv:")


def test_both_flavours_read_the_same() -> None:
    atom, rss = papers(ATOM), papers(RSS)
    assert len(atom) == 3 and len(rss) == 4
    assert [p.to_dict() for p in atom] == [p.to_dict() for p in rss[:3]]


def test_announce_type_falls_back_to_the_abstract_prefix() -> None:
    data = ATOM.replace(b"<arxiv:announce_type>new</arxiv:announce_type>", b"")
    assert papers(data)[0].listing_days == {"2026-09-29": "new"}


def test_day_falls_back_to_the_feed_date() -> None:
    atom = re.sub(rb"<published>[^<]*</published>", b"", ATOM)
    assert {day for p in papers(atom) for day in p.listing_days} == {"2026-09-29"}  # from the feed's <updated>
    rss = re.sub(rb"\s*<pubDate>[^<]*</pubDate>(?=\s*<arxiv)", b"", RSS)
    assert {day for p in papers(rss) for day in p.listing_days} == {"2026-09-29"}  # from the channel's pubDate


def test_bad_entries_become_rejections() -> None:
    data = ATOM.replace(b"2306.13961", b"garbage").replace(
        b"<title>$l_{1-2}$ GLasso: Regularized Multi-task Graphical Lasso</title>", b"<title></title>"
    )
    items = parse_listing_feed(data, where="cs.AI").items
    assert isinstance(items[0], Paper)
    assert items[1] == Rejection("cs.AI:2301.02225", "entry has no title")
    assert isinstance(items[2], Rejection) and items[2].where == "cs.AI:entry[2]"


def test_empty_listing() -> None:
    assert parse_listing_feed(re.sub(rb"<entry>.*</entry>", b"", ATOM, flags=re.DOTALL)).items == []
    assert parse_listing_feed(re.sub(rb"<item>.*</item>", b"", RSS, flags=re.DOTALL)).items == []


@pytest.mark.parametrize(
    ("data", "message", "where"),
    [
        (ATOM[:1200], "malformed XML", "arxiv-rss:21"),  # cut off in the second entry's title, line 21
        (b"<html><body>busy</body></html>", "not an Atom or RSS feed", "arxiv-rss"),
        (b"<rss version='2.0'></rss>", "without <channel>", "arxiv-rss"),
    ],
    ids=["truncated", "html", "no-channel"],
)
def test_unreadable_feed(data: bytes, message: str, where: str) -> None:
    with pytest.raises(BadInput, match=message) as caught:
        parse_listing_feed(data)
    assert caught.value.where == where


def serve(requests: list[httpx.Request]) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        feeds = {"/atom/cs.AI": ATOM, "/rss/cs.AI": RSS}
        content = feeds.get(request.url.path)
        return httpx.Response(200, content=content) if content else httpx.Response(404)

    return httpx.MockTransport(handler)


def test_fetch_listing_both_flavours() -> None:
    requests: list[httpx.Request] = []
    time = FakeTime()
    with PoliteClient(transport=serve(requests), sleep=time.sleep, clock=time.clock) as client:
        atom = fetch_listing(client, "cs.AI")
        rss = fetch_listing(client, "cs.AI", base_url="https://rss.arxiv.org/rss/")
    assert [str(r.url) for r in requests] == ["https://rss.arxiv.org/atom/cs.AI", "https://rss.arxiv.org/rss/cs.AI"]
    assert len(atom) == 3 and len(rss) == 4
    assert time.waits == [3.0]


def test_fetch_listing_errors() -> None:
    requests: list[httpx.Request] = []
    with PoliteClient(transport=serve(requests), sleep=FakeTime().sleep) as client:
        with pytest.raises(BadInput):
            fetch_listing(client, "../etc")
        assert requests == []
        with pytest.raises(SourceError):
            fetch_listing(client, "cs.XX")
