"""The public pages over HTTP (FastAPI's TestClient): daily/weekly/monthly feeds, trending, search, paper pages and
error pages, on a real store (SQLite, or PostgreSQL with PAPERFEED_TEST_PG). Members' doings are in
test_web_members.py, the JSON API in test_api.py; the helpers are in web_support.py.
"""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from markupsafe import escape

from paperfeed.community import rules
from paperfeed.community.trending import FORMULA, readable
from paperfeed.errors import ConfigError, PaperfeedError, SourceError, StoreError
from paperfeed.search.models import get_embedder
from paperfeed.web import pages
from web_support import LISTED_RE, Browser, Site, hf, listed, paper

PERIOD_LINK_RE = re.compile(r'<a rel="(prev|next)" href="([^"]+)">(?:← Previous|Next →)</a>')
EVIL_TITLE = "<script>alert(1)</script> & $O(n^2)$"
EVIL_ABSTRACT = 'We bound <img src=x onerror="alert(2)"> graph cuts & flows for $a<b$.'


def period_links(page: httpx.Response) -> dict[str, str]:
    return {rel: href for rel, href in PERIOD_LINK_RE.findall(page.text)}


# -- feeds ------------------------------------------------------------------------------------------------------------
@pytest.fixture
def feed(site: Site) -> Site:
    site.add(
        paper("2609.00001", "September paper", "2026-09-30"),
        paper("2610.00001", "Monday one", "2026-10-05"),
        paper("2610.00002", "Monday two", "2026-10-05", kind="cross"),
        paper("2610.00003", "Wednesday", "2026-10-07"),
        paper("2610.00009", "A new version only", "2026-10-07", kind="replace"),
        paper("2610.00004", "Friday", "2026-10-09"),
    )
    return site


def test_home_is_the_latest_day_with_a_link_back(feed: Site) -> None:
    page = feed.browser().get("/")
    assert listed(page) == ["2610.00004"]
    assert "Friday, 9 October 2026" in page.text
    assert period_links(page) == {"prev": "/papers/date/2026-10-07"}


@pytest.mark.parametrize(
    ("path", "ids", "links"),
    [
        ("/papers/date/2026-10-07", ["2610.00003"], {"prev": "2026-10-05", "next": "2026-10-09"}),
        ("/papers/date/2026-10-06", [], {"prev": "2026-10-05", "next": "2026-10-07"}),
        ("/papers/date/2026-10-05", ["2610.00001", "2610.00002"], {"prev": "2026-09-30", "next": "2026-10-07"}),
        ("/papers/date/2026-09-30", ["2609.00001"], {"next": "2026-10-05"}),
        (
            "/papers/week/2026-W41",
            ["2610.00004", "2610.00003", "2610.00001", "2610.00002"],
            {"prev": "2026-W40", "next": "2026-W42"},
        ),
        ("/papers/week/2026-W40", ["2609.00001"], {"prev": "2026-W39", "next": "2026-W41"}),
        ("/papers/week/2027-W01", [], {"prev": "2026-W53"}),  # 2026 has 53 ISO weeks
        (
            "/papers/month/2026-10",
            ["2610.00004", "2610.00003", "2610.00001", "2610.00002"],
            {"prev": "2026-09", "next": "2026-11"},
        ),
        ("/papers/month/2026-01", [], {"prev": "2025-12", "next": "2026-02"}),
    ],
)
def test_day_week_and_month_pages(feed: Site, path: str, ids: list[str], links: dict[str, str]) -> None:
    page = feed.browser().get(path)
    # Without votes: the latest day first, new papers before cross-lists; replacements are never news.
    assert listed(page) == ids
    base = path.rsplit("/", 1)[0] + "/"
    assert period_links(page) == {rel: base + key for rel, key in links.items()}
    assert f"{len(ids)} paper{'s' if len(ids) != 1 else ''} ·" in page.text
    if not ids:
        assert "No papers in this period." in page.text


def test_the_current_week_and_month_have_no_next_link(feed: Site) -> None:
    today = datetime.now(UTC).date()
    year, week, _ = today.isocalendar()
    for path in (f"/papers/week/{year}-W{week:02d}", f"/papers/month/{today:%Y-%m}"):
        assert set(period_links(feed.browser().get(path))) == {"prev"}, path


def test_feed_sorts_by_votes_or_newest_and_shows_counts(feed: Site) -> None:
    voters = [feed.person(f"voter{i}") for i in range(2)]
    for voter in voters:
        feed.store.set_vote(voter.id, "2610.00002", True, rules.now_iso())
    feed.add(hf("2610.00003", upvotes=3, comments=4))
    feed.store.add_comment(voters[0].id, "2610.00001", "first!", rules.now_iso())
    browser = feed.browser()
    by_votes = browser.get("/papers/week/2026-W41")
    assert listed(by_votes) == ["2610.00003", "2610.00002", "2610.00004", "2610.00001"]
    counts = re.findall(r'<span class="vote-count">(\d+)</span>', by_votes.text)
    assert counts == ["3", "2", "0", "0"]  # HF's upvotes count with ours
    comments = dict(
        re.findall(r'href="/papers/([^"#]+)#comments" class="meta-item">.*?class="comment-count">(\d+)<', by_votes.text)
    )
    assert comments == {"2610.00003": "0", "2610.00002": "0", "2610.00004": "0", "2610.00001": "1"}
    newest = browser.get("/papers/week/2026-W41?sort=published")
    assert listed(newest) == ["2610.00004", "2610.00003", "2610.00001", "2610.00002"]
    assert browser.get("/papers/week/2026-W41?sort=random").status_code == 422


def test_feed_paging(site: Site) -> None:
    site.add(*(paper(f"2608.{i:05d}", f"Paper {i}", "2026-08-03") for i in range(31)))
    browser = site.browser()
    first = browser.get("/papers/date/2026-08-03")
    assert "Page 1 of 2" in first.text
    assert '<a rel="next" href="/papers/date/2026-08-03?page=2">Page 2 →</a>' in first.text
    second = browser.get("/papers/date/2026-08-03?page=2")
    assert '<a rel="prev" href="/papers/date/2026-08-03">← Page 1</a>' in second.text
    assert len(listed(first)) == 30 and len(listed(second)) == 1
    assert sorted(listed(first) + listed(second)) == [f"2608.{i:05d}" for i in range(31)]
    assert listed(browser.get("/papers/date/2026-08-03?page=3")) == []


@pytest.fixture
def mixed(site: Site) -> Site:
    site.add(
        paper("2610.60001", "Learning on Monday", "2026-10-05", categories=["cs.LG"]),
        paper("2610.60002", "Algebra on Monday", "2026-10-05", categories=["math.AG", "cs.LG"]),
        paper("2610.60003", "Language on Monday", "2026-10-05", categories=["cs.CL"]),
        paper("2610.60004", "Algebra on Wednesday", "2026-10-07", categories=["math.AG"]),
        paper("2610.60005", "Language on Friday", "2026-10-09", categories=["cs.CL"]),
    )
    return site


@pytest.mark.parametrize(
    ("path", "ids"),
    [
        ("/?category=cs.CL", ["2610.60005"]),
        ("/papers/date/2026-10-05?category=math.AG", ["2610.60002"]),
        ("/papers/date/2026-10-05?category=cs.LG", ["2610.60001", "2610.60002"]),
        ("/papers/week/2026-W41?category=math.AG&sort=published", ["2610.60004", "2610.60002"]),
        (
            "/papers/month/2026-10?category=cs.CL+math.AG&sort=published",
            ["2610.60005", "2610.60004", "2610.60002", "2610.60003"],
        ),
        ("/papers/month/2026-10?category=q-bio.BM", []),
    ],
)
def test_period_pages_and_their_feeds_keep_to_the_category(mixed: Site, path: str, ids: list[str]) -> None:
    browser = mixed.browser()
    page = browser.get(path)
    assert sorted(listed(page)) == sorted(ids)
    as_json = browser.get(path, headers={"Accept": "application/json"}).json()
    assert [p["id"] for p in as_json["papers"]] == listed(page) and as_json["category"]
    # The page's feed is the feed of what it shows, category and all.
    feed_url = re.search(r'<link rel="alternate" type="application/feed\+json" [^>]*href="([^"]+)"', page.text)
    assert feed_url, page.text
    base, _, query = path.partition("?")
    category = dict(httpx.QueryParams(query))["category"]
    expected = "/feeds/daily" if base == "/" else base.replace("/papers/", "/feeds/")
    assert html.unescape(feed_url[1]) == f"{expected}.json?{httpx.QueryParams({'category': category})}"
    items = browser.get(html.unescape(feed_url[1])).json()["items"]
    assert sorted(i["url"].rsplit("/papers/", 1)[1] for i in items) == sorted(ids)
    # Moving on keeps the category.
    assert all("category=" in href for href in period_links(page).values())


def test_period_pages_link_the_feed_of_their_period(feed: Site) -> None:
    browser = feed.browser()
    for path, feed_path in (
        ("/", "/feeds/daily"),
        ("/papers/date/2026-10-05", "/feeds/date/2026-10-05"),
        ("/papers/week/2026-W41", "/feeds/week/2026-W41"),
        ("/papers/month/2026-10", "/feeds/month/2026-10"),
    ):
        page = browser.get(path).text
        assert f'href="{feed_path}.rss"' in page and f'<a href="{feed_path}.atom">Atom</a>' in page, path
        assert "/feeds/daily" not in page or path == "/", path
    week = browser.get("/feeds/week/2026-W41.json").json()
    assert sorted(i["url"].rsplit("/", 1)[1] for i in week["items"]) == [
        "2610.00001", "2610.00002", "2610.00003", "2610.00004"
    ]  # fmt: skip
    assert browser.get("/feeds/date/2026-02-30.rss").status_code == 422
    assert browser.get("/feeds/week/2026-10.rss").status_code == 422


def test_the_feeds_index_lists_every_kind_and_is_linked_from_every_page(feed: Site) -> None:
    browser = feed.browser()
    assert '<a href="/feeds">Feeds</a>' in browser.get("/papers/trending").text
    index = browser.get("/feeds")
    assert index.status_code == 200
    for feed_path in (
        "/feeds/daily", "/feeds/trending", "/feeds/date/2026-10-09", "/feeds/week/2026-W41", "/feeds/month/2026-10",
        "/feeds/category/cs.LG", "/feeds/author/Ada%20Lovelace", "/feeds/search",
    ):  # fmt: skip
        assert f'href="{feed_path}.rss' in index.text, feed_path
    listed_feeds = browser.get("/feeds", headers={"Accept": "application/json"}).json()
    assert len(listed_feeds) == 9
    for entry in listed_feeds:
        for fmt in ("rss", "atom", "json"):
            url = entry[fmt].removeprefix("http://testserver")
            assert browser.get(url).status_code == 200, url


# -- trending ---------------------------------------------------------------------------------------------------------
def test_trending_follows_the_documented_formula(site: Site) -> None:
    """As of 2026-10-09 (ages run to its end, 2026-10-10 00:00; the window is 2026-10-03 … 2026-10-09)."""
    site.add(
        paper("2610.10001", "A: fresh, two votes", "2026-10-09"),
        paper("2610.10002", "B: older, more votes and comments", "2026-10-07"),
        paper("2610.10003", "C: fresh, only Hugging Face", "2026-10-09"),
        paper("2610.10004", "D: six days old, many votes", "2026-10-04"),
        paper("2610.10005", "E: before the window", "2026-10-01"),
        paper("2610.10006", "F: a vote and a comment", "2026-10-08"),
        paper("2610.10007", "G: no signal at all", "2026-10-09"),
        paper("2610.10008", "H: after the day", "2026-10-10"),
    )
    voters = [site.person(f"voter{i}") for i in range(50)]
    votes = {"2610.10001": 2, "2610.10002": 6, "2610.10004": 20, "2610.10005": 50, "2610.10006": 1, "2610.10008": 9}
    for pid, count in votes.items():
        for voter in voters[:count]:
            site.store.set_vote(voter.id, pid, True, rules.now_iso())
    for pid, count in {"2610.10002": 2, "2610.10006": 1}.items():
        for i in range(count):
            site.store.add_comment(voters[i].id, pid, "Interesting.", rules.now_iso())
    site.add(hf("2610.10003", upvotes=4, comments=1))
    # points = upvotes + 0.5 comments + 0.5 HF upvotes + 0.25 HF comments; score = points / (age_hours + 2)^1.5
    expected = {
        "2610.10001": (2.0, 24),  # 2
        "2610.10002": (7.0, 72),  # 6 + 0.5 × 2
        "2610.10003": (2.25, 24),  # 0.5 × 4 + 0.25 × 1
        "2610.10004": (20.0, 144),  # 20
        "2610.10006": (1.5, 48),  # 1 + 0.5 × 1
    }
    score = {pid: points / (age + 2) ** 1.5 for pid, (points, age) in expected.items()}
    order = sorted(score, key=lambda pid: -score[pid])
    # C 0.0170 > A 0.0151 > D 0.0113 > B 0.0110 > F 0.0042: age beats raw votes, HF counts half.
    assert order == ["2610.10003", "2610.10001", "2610.10004", "2610.10002", "2610.10006"]

    page = site.browser().get("/papers/trending?day=2026-10-09")
    assert listed(page) == order
    assert html.escape(FORMULA) in page.text
    whys = re.findall(r'<details class="why"><summary>Why it ranks here</summary><p>([^<]*)</p>', page.text)
    assert len(whys) == len(order)
    for pid, why in zip(order, whys, strict=True):
        points, age = expected[pid]
        assert f"= {points:g} points" in why and f"{age} h" in why and why.endswith(f"= {readable(score[pid])}")
    assert whys[3].startswith("6 upvotes + 2 comments × 0.5 = 7 points")
    assert whys[0].startswith("0 upvotes + 4 HF upvotes × 0.5 + 1 HF comments × 0.25 = 2.25 points")
    assert site.browser().get("/papers/trending?day=2026-10-32").status_code == 422


def test_trending_and_the_home_page_work_on_a_feed_that_stops_before_today(site: Site) -> None:
    """A store whose papers stop months before today (the demo): trending ends its window at the feed's latest day
    (saying so), its explanations show readable numbers, and a feed day after today is neither "latest" nor in it."""
    today = datetime.now(UTC).date()
    soon = (today + timedelta(days=3)).isoformat()
    site.add(
        paper("2610.30001", "Last day", "2026-10-09"),
        paper("2610.30002", "Six days before", "2026-10-03"),
        paper("2610.30003", "Before the window", "2026-10-02"),
        paper("2610.30004", "Derived for later", soon),
    )
    voters = [site.person(f"voter{i}") for i in range(3)]
    for pid, when in (("2610.30001", "2026-10-09"), ("2610.30002", "2026-10-09"), ("2610.30003", "2026-10-02")):
        site.store.set_vote(voters[0].id, pid, True, when + "T12:00:00Z")
    site.store.set_vote(voters[0].id, "2610.30004", True, "2026-09-30T12:00:00Z")
    browser = site.browser()
    page = browser.get("/papers/trending")
    assert listed(page) == ["2610.30001", "2610.30002"]
    assert "from 3 Oct 2026 to 9 Oct 2026 (the feed's latest day" in page.text
    whys = re.findall(r'<details class="why"><summary>Why it ranks here</summary><p>([^<]*)</p>', page.text)
    assert whys[1].endswith("1 / (168 + 2)^1.5 = 0.000451") and "0.0000" not in page.text
    body = browser.get("/api/trending").json()
    assert body["day"] == "2026-10-09" and body["window"] == {"from": "2026-10-03", "to": "2026-10-09"}
    hf_trending = browser.get("/api/daily_papers?sort=trending").json()
    assert [p["paper"]["id"] for p in hf_trending] == ["2610.30001", "2610.30002"]
    assert "2610.30001" in browser.get("/feeds/trending.json").text
    assert listed(browser.get("/")) == ["2610.30001"]  # the latest day not after today, not the derived one
    # A vote cast today on an older paper makes it a candidate too, ranked by its own age (2 points, 192 h).
    site.store.set_vote(voters[1].id, "2610.30003", True, f"{today.isoformat()}T00:00:01Z")
    assert listed(browser.get("/papers/trending")) == ["2610.30001", "2610.30003", "2610.30002"]


# -- search -----------------------------------------------------------------------------------------------------------
LIBRARY = [  # id, title, day, categories, authors
    ("2610.20001", "Graph neural networks for molecules", "2026-10-05", ["cs.LG"], ["Ada Lovelace", "Alan Turing"]),
    ("2610.20002", "Attention is all you need, again", "2026-10-06", ["cs.CL"], ["Grace Hopper"]),
    ("2610.20003", "Graph transformers at scale", "2026-10-07", ["cs.LG", "cs.AI"], ["Alan Turing"]),
    ("2610.20005", "Protein folding with diffusion models", "2026-10-08", ["q-bio.BM"], ["Ada Lovelace"]),
    ("hep-th/9901001", "Strings on random graphs", "1999-01-05", ["hep-th"], ["Edward Witten"]),
]


@pytest.fixture
def library(site: Site) -> Site:
    """A small corpus with its search indexes built (embedded once per module thanks to the shared cache)."""
    site.add(*(paper(pid, title, day, categories=cats, authors=names) for pid, title, day, cats, names in LIBRARY))
    site.add(paper("2610.20004", EVIL_TITLE, "2026-10-08", abstract=EVIL_ABSTRACT, categories=["cs.DS"], version=2,
                   authors=["Mallory <evil@example.org>"]))  # fmt: skip
    site.sync()
    return site


def test_search_highlights_matches_and_escapes_everything_else(library: Site) -> None:
    page = library.browser().get("/search", params={"q": "alert"})
    assert listed(page)[0] == "2610.20004"
    assert "&lt;script&gt;<mark>alert</mark>(1)&lt;/script&gt; &amp; $O(n^2)$" in page.text
    assert "<script>alert" not in page.text and "<img" not in page.text
    page = library.browser().get("/search", params={"q": "graph neural"})
    assert listed(page)[0] == "2610.20001"
    assert "<mark>Graph neural</mark> networks for molecules" in page.text
    assert 'value="graph neural"' in page.text  # the query stays in the box


@pytest.mark.parametrize(
    ("params", "allowed", "required"),
    [
        ({"q": "graph", "category": "cs.LG"}, {"2610.20001", "2610.20003"}, {"2610.20001", "2610.20003"}),
        ({"q": "graph", "author": "Alan Turing"}, {"2610.20001", "2610.20003"}, {"2610.20001", "2610.20003"}),
        ({"q": "graph", "from": "2026-10-06", "to": "2026-10-07"}, {"2610.20002", "2610.20003"}, {"2610.20003"}),
        ({"q": "graph", "to": "2000-01-01"}, {"hep-th/9901001"}, {"hep-th/9901001"}),
        ({"category": "cs.AI"}, {"2610.20003"}, {"2610.20003"}),
        ({"q": "hep-th/9901001"}, {"hep-th/9901001"}, {"hep-th/9901001"}),
    ],
)
def test_search_filters(library: Site, params: dict[str, str], allowed: set[str], required: set[str]) -> None:
    page = library.browser().get("/search", params=params)
    found = set(listed(page))
    assert required <= found <= allowed
    for name, value in params.items():
        if name != "q":
            assert re.search(f'name="{name}"[^>]* value="{value}"', page.text)  # the filters stay in the form


@pytest.mark.parametrize(("params", "where"), [({"from": "2026-10-32"}, "from"), ({"to": "yesterday"}, "to")])
def test_search_refuses_bad_dates_naming_the_field(library: Site, params: dict[str, str], where: str) -> None:
    page = library.browser().get("/search", params={"q": "graph", **params})
    assert page.status_code == 422
    assert f"<strong>{where}</strong>:" in page.text


def test_search_paging(site: Site) -> None:
    site.add(*(paper(f"2607.{i:05d}", f"Robotics {i}", "2026-07-01", categories=["cs.RO"]) for i in range(33)))
    site.caught_up()  # searches read the last commit of the keyword index; they never index on the request path
    browser = site.browser()
    first = browser.get("/search?category=cs.RO")
    assert '<a rel="next" href="/search?category=cs.RO&amp;page=2">Next →</a>' in first.text
    second = browser.get("/search?category=cs.RO&page=2")
    assert '<a rel="prev" href="/search?category=cs.RO">← Previous</a>' in second.text
    assert 'rel="next"' not in second.text
    assert len(listed(first)) == 30 and len(listed(second)) == 3
    assert sorted(listed(first) + listed(second)) == [f"2607.{i:05d}" for i in range(33)]
    assert browser.get("/search?category=cs.RO&page=0").status_code == 422


def test_search_sorts_by_relevance_or_newest_in_html_json_and_feeds(library: Site) -> None:
    browser = library.browser()
    params = {"q": "graph", "mode": "keyword"}
    relevant = listed(browser.get("/search", params={"q": "graph"}))
    newest = listed(browser.get("/search", params={"q": "graph", "sort": "published"}))
    assert sorted(newest) == sorted(relevant) and newest != relevant
    days = {pid: day for pid, _, day, _, _ in LIBRARY} | {"2610.20004": "2026-10-08"}
    assert [days[pid] for pid in newest] == sorted((days[pid] for pid in newest), reverse=True)
    page = browser.get("/search", params={"q": "graph", "sort": "published"})
    assert "<strong>newest</strong>" in page.text and 'name="sort" value="published"' in page.text
    assert 'href="/search?q=graph">relevance</a>' in page.text
    as_json = browser.get("/search?q=graph&sort=published", headers={"Accept": "application/json"}).json()
    assert [p["id"] for p in as_json["papers"]] == newest and as_json["sort"] == "published"
    api = browser.get("/api/search", params={**params, "sort": "published"}).json()
    assert [p["id"] for p in api["papers"]] == [pid for pid in newest if pid in {p["id"] for p in api["papers"]}]
    feed_newest = browser.get("/feeds/search.json?q=graph").json()["items"]
    feed_relevant = browser.get("/feeds/search.json?q=graph&sort=relevance").json()["items"]
    assert [i["url"].rsplit("/papers/", 1)[1] for i in feed_relevant] == relevant
    assert [i["url"].rsplit("/papers/", 1)[1] for i in feed_newest] == newest
    for path in ("/search?q=graph&sort=votes", "/api/search?q=graph&sort=x", "/feeds/search.rss?q=graph&sort=x"):
        refused = browser.get(path, headers={"Accept": "application/json"})
        assert refused.status_code == 422 and refused.json()["where"] == "sort", path


def test_search_pages_link_their_feeds(library: Site) -> None:
    browser = library.browser()
    assert 'href="/feeds/search.rss?q=graph%20neural">RSS</a>' in browser.get("/search?q=graph+neural").text
    by_category = browser.get("/search?category=cs.LG").text
    assert '<a href="/feeds/category/cs.LG.atom">Atom</a>' in by_category
    by_author = browser.get("/search?author=Alan+Turing").text
    assert '<a href="/feeds/author/Alan%20Turing.json">JSON</a>' in by_author
    assert "2610.20003" in browser.get("/feeds/author/Alan%20Turing.json").text


# -- a paper's page ---------------------------------------------------------------------------------------------------
def test_paper_page_escapes_links_cites_and_lists_similar_papers(library: Site) -> None:
    page = library.browser().get("/papers/2610.20004")
    assert page.status_code == 200
    text = page.text
    escaped_title = "&lt;script&gt;alert(1)&lt;/script&gt; &amp; $O(n^2)$"
    assert f"<title>{escaped_title} · paperfeed</title>" in text
    assert f'<h1 id="paper-title" class="math">{escaped_title}</h1>' in text
    assert str(escape(EVIL_ABSTRACT)) in text
    assert "<script>alert" not in text and "<img" not in text and "Mallory <evil" not in text
    assert "arXiv:2610.20004v2" in text
    assert '<a class="button" href="https://arxiv.org/abs/2610.20004">arXiv page</a>' in text
    assert '<a class="button" href="https://arxiv.org/pdf/2610.20004">PDF</a>' in text
    bibtex = re.search(r'<pre id="bibtex" class="bibtex" tabindex="0">(.*?)</pre>', text, re.S)
    assert bibtex is not None
    assert "eprint = {2610.20004}" in bibtex[1] and "title = {{&lt;script&gt;alert(1)&lt;/script&gt;" in bibtex[1]
    similar = text.split('<h2 id="similar-h">Similar papers</h2>', 1)[1]
    assert 0 < len(listed_in(similar)) <= 8
    assert "2610.20004" not in listed_in(similar)
    listing = library.browser().get("/papers/date/2026-10-08").text  # lists escape it too
    assert f'href="/papers/2610.20004">{escaped_title}</a>' in listing and "<script>alert" not in listing


def test_the_similar_list_sorts_by_similarity_recency_or_popularity(library: Site) -> None:
    def near(path: str) -> tuple[str, list[str]]:
        text = library.browser().get(path).text.split('<h2 id="similar-h">Similar papers</h2>', 1)[1]
        return text.split("</p>", 1)[0], listed_in(text)

    control, by_similarity = near("/papers/2610.20001")
    # A no-JS control: links, the current order in bold, landing back on the list.
    assert "<strong>similarity</strong>" in control
    assert 'href="/papers/2610.20001?similar=recency#similar-h"' in control
    assert 'href="/papers/2610.20001?similar=popularity#similar-h"' in control
    control, newest = near("/papers/2610.20001?similar=recency")
    assert "<strong>newest</strong>" in control and 'href="/papers/2610.20001#similar-h"' in control
    days = {pid: day for pid, _, day, _, _ in LIBRARY} | {"2610.20004": "2026-10-08"}
    assert sorted(newest) == sorted(by_similarity)  # the library is smaller than the sorted pool: same papers
    assert [days[p] for p in newest] == sorted((days[p] for p in newest), reverse=True)
    voter = library.person("voter")
    library.store.set_vote(voter.id, by_similarity[-1], True, "2026-10-09T00:00:00Z")
    control, popular = near("/papers/2610.20001?similar=popularity")
    assert "<strong>popularity</strong>" in control
    assert popular[0] == by_similarity[-1] and popular[1:] == by_similarity[:-1]
    as_json = library.browser().get("/papers/2610.20001?similar=recency", headers={"Accept": "application/json"})
    assert as_json.json()["similar_sort"] == "recency" and [e["id"] for e in as_json.json()["similar"]] == newest
    refused = library.browser().get("/papers/2610.20001?similar=votes", headers={"Accept": "application/json"})
    assert refused.status_code == 422 and refused.json()["where"] == "sort"


def listed_in(fragment: str) -> list[str]:
    return LISTED_RE.findall(fragment)


def test_a_paper_not_embedded_yet_lists_papers_sharing_its_words_without_embedding(
    library: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    library.add(paper("2610.20099", "Graph neural networks for proteins", "2026-10-09"))
    library.caught_up()  # the keyword index has it; the index job has not embedded it yet
    embedder = get_embedder(library.app.state.site.config.embedding_model)
    calls: list[int] = []
    real = embedder.embed
    monkeypatch.setattr(embedder, "embed", lambda texts: calls.append(len(texts)) or real(texts))
    page = library.browser().get("/papers/2610.20099")
    assert page.status_code == 200
    near = listed_in(page.text.split('<h2 id="similar-h">Similar papers</h2>', 1)[1])
    assert near[:1] == ["2610.20001"] and "2610.20099" not in near  # "Graph neural networks for molecules"
    assert calls == []  # a page never embeds (it took 4.2 s at p50 for papers without a vector)
    assert library.browser().get("/papers/2610.20001").status_code == 200 and calls == []  # nor one that has one


def test_old_style_ids_work_in_paper_urls_and_votes(library: Site, alice: Browser) -> None:
    page = alice.get("/papers/hep-th/9901001")
    assert page.status_code == 200
    assert "arXiv:hep-th/9901001" in page.text and 'href="https://arxiv.org/pdf/hep-th/9901001"' in page.text
    assert 'action="/papers/hep-th/9901001/vote"' in page.text
    voted = alice.post("/papers/hep-th/9901001/vote", {"up": "1"})
    assert (voted.status_code, voted.headers["location"]) == (303, "/papers/hep-th/9901001")
    assert library.store.activity(["hep-th/9901001"])["hep-th/9901001"].upvotes == 1
    commented = alice.post("/papers/hep-th/9901001/comments", {"body": "Classic."})
    assert commented.status_code == 303 and commented.headers["location"].startswith("/papers/hep-th/9901001#comment-")
    assert "Classic." in alice.get("/papers/hep-th/9901001").text


@pytest.mark.parametrize(
    ("path", "canonical"),
    [
        ("/papers/2610.20001v1", "/papers/2610.20001"),
        ("/papers/2610.20001v12", "/papers/2610.20001"),
        ("/papers/arXiv:2610.20001v2", "/papers/2610.20001"),
        ("/abs/2610.20001", "/papers/2610.20001"),
        ("/abs/2610.20001v3", "/papers/2610.20001"),
        ("/papers/hep-th/9901001v2", "/papers/hep-th/9901001"),
        ("/abs/hep-th/9901001", "/papers/hep-th/9901001"),
    ],
)
def test_versioned_and_arxiv_style_paper_urls_redirect_to_the_paper(library: Site, path: str, canonical: str) -> None:
    browser = library.browser()
    moved = browser.get(path, follow_redirects=False)
    assert (moved.status_code, moved.headers["location"]) == (301, canonical)
    assert browser.get(path).status_code == 200
    as_json = browser.get(path, headers={"Accept": "application/json"})
    assert as_json.json()["id"] == canonical.removeprefix("/papers/")
    api = browser.get(f"/api{canonical}v1")
    assert api.status_code == 200 and api.json()["id"] == canonical.removeprefix("/papers/")


def test_a_versioned_id_of_an_unknown_paper_is_still_not_found(library: Site) -> None:
    assert library.browser().get("/papers/2699.99999v1").status_code == 404
    assert library.browser().get("/api/papers/2699.99999v1").status_code == 404


# -- errors -----------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("path", "status", "where"),
    [
        ("/papers/2699.99999", 404, None),
        ("/papers/hep-th/0000000", 404, None),
        ("/no/such/page", 404, None),
        ("/u/nobody", 404, None),
        ("/papers/date/2026-02-30", 422, "date"),
        ("/papers/date/yesterday", 422, "date"),
        ("/papers/week/2026-W60", 422, "week"),
        ("/papers/week/2026-10", 422, "week"),
        ("/papers/month/2026-13", 422, "month"),
        ("/papers/month/2026-W41", 422, "month"),
        ("/?page=0", 422, "page"),
        ("/?page=two", 422, "page"),
        ("/papers/date/2026-10-05?page=-1", 422, "page"),
        ("/papers/trending?day=soon", 422, "day"),
    ],
)
def test_error_pages(site: Site, path: str, status: int, where: str | None) -> None:
    page = site.browser().get(path)
    assert page.status_code == status
    assert page.headers["content-type"].startswith("text/html")
    assert '<p class="error" role="alert">' in page.text
    if status == 404:
        assert "<h1>Not found</h1>" in page.text
    if where:
        assert f"<strong>{where}</strong>:" in page.text
    # The same URL asked for as JSON answers in JSON.
    data = site.browser().get(path, headers={"Accept": "application/json"}).json()
    assert data["status"] == status and data["error"]
    assert data.get("where") == where


RAW = "https://internal.example:5432/db?password=hunter2 ConnectError: [Errno 111] Connection refused"


@pytest.mark.parametrize(
    ("error", "status", "shown"),
    [
        (SourceError(RAW), 502, SourceError.plainly),
        (SourceError(RAW, public="arXiv did not answer"), 502, "arXiv did not answer"),
        (StoreError(RAW), 503, StoreError.plainly),
        (ConfigError(RAW), 500, ConfigError.plainly),
        (PaperfeedError(RAW), 500, PaperfeedError.plainly),
        (RuntimeError(RAW), 500, "something went wrong on our side; it has been logged"),
    ],
    ids=["source", "source-public", "store", "config", "base", "crash"],
)
def test_failures_on_our_side_never_show_their_exception_text(
    site: Site, monkeypatch: pytest.MonkeyPatch, error: Exception, status: int, shown: str
) -> None:
    """The one error handler, on each of its paths for failures of ours: a plain sentence in HTML and JSON."""

    def fail(*args: object, **kwargs: object) -> None:
        raise error

    monkeypatch.setattr(pages, "profile_view", fail)
    browser = site.browser()
    page = browser.get("/u/anyone")
    assert page.status_code == status and escape(shown) in page.text
    as_json = browser.get("/u/anyone", headers={"Accept": "application/json"})
    assert as_json.status_code == status and as_json.json()["error"] == shown
    for answer in (page, as_json):
        assert not [raw for raw in ("hunter2", "internal.example", "Errno", "ConnectError") if raw in answer.text]


@pytest.mark.parametrize(
    ("path", "method"),
    [("/?page=%3Cscript%3Ehunter2", "GET"), ("/papers/trending", "DELETE"), ("/no/hunter2", "GET")],
)
def test_refusals_of_the_framework_do_not_echo_the_request(site: Site, path: str, method: str) -> None:
    answer = site.browser().http.request(method, path)
    message = re.search(r'<p class="error" role="alert">(.*?)</p>', answer.text, re.S)
    assert 400 <= answer.status_code < 500 and message, answer.text
    assert "hunter2" not in message[1] and "script" not in message[1], message[1]
