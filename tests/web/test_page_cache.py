"""Anonymous pages from the cache (web/page_cache.py): served again until the store changes, with each visitor's
own CSRF token and cookie, ETag / If-None-Match, valid gzip, and never for a signed-in member."""

from __future__ import annotations

import gzip
import re
from collections.abc import Callable

import httpx
import pytest
from fastapi.testclient import TestClient

from paperfeed.store import open_store
from paperfeed.web.metrics import PROCESS
from paperfeed.web.security import VISITOR_COOKIE, csrf_for
from web_support import CSRF_RE, Browser, Site, paper

DAY = "2026-01-05"


def _count(result: str) -> float:
    return PROCESS.get_sample_value("paperfeed_page_cache_requests_total", {"result": result}) or 0.0


@pytest.fixture
def feed(site: Site) -> Site:
    site.add(*(paper(f"2601.0010{i}", f"Cached paper {i}", DAY) for i in range(4)))
    return site


def _tokens(page: httpx.Response) -> set[str]:
    return set(CSRF_RE.findall(page.text))


def _key(site: Site) -> str:
    return str(site.app.state.site.key)


def test_a_page_is_rendered_once_and_each_visitor_gets_their_own_token(feed: Site) -> None:
    ann, ben = feed.browser(), feed.browser()
    hits = _count("hit")
    first = ann.get("/")
    assert first.status_code == 200 and "Cached paper 0" in first.text
    again, other = ann.get("/"), ben.get("/")
    assert _count("hit") - hits == 2  # the first was rendered, the two after it came from the cache
    ann_id, ben_id = ann.http.cookies[VISITOR_COOKIE], ben.http.cookies[VISITOR_COOKIE]
    assert ann_id != ben_id  # each new visitor got a visitor cookie of their own, also from a cached page
    assert _tokens(first) == _tokens(again) == {csrf_for(_key(feed), f"v:{ann_id}")}
    assert _tokens(other) == {csrf_for(_key(feed), f"v:{ben_id}")}
    assert "csrf" + "0" * 4 not in other.text and not re.search(r'value="csrf[0-9a-f]{36}"', other.text)
    assert re.sub(CSRF_RE, "", again.text) == re.sub(CSRF_RE, "", other.text)  # the rest is the same page
    assert "set-cookie" not in again.headers  # a returning visitor is not sent the cookie again
    # The token on a cached page works: the subscribe form on the home page posts with it.
    answer = ben.post("/subscribe", {"email": "ben@example.org", "frequency": "daily"}, csrf=_tokens(other).pop())
    assert answer.status_code in (200, 303), answer.text


def test_etag_gives_304_until_something_changes(feed: Site) -> None:
    browser = feed.browser()
    first = browser.get("/papers/2601.00100")
    etag = first.headers["etag"]
    assert first.headers["cache-control"] == "private, no-cache" and "Cookie" in first.headers["vary"]
    unchanged = browser.get("/papers/2601.00100", headers={"If-None-Match": etag})
    assert unchanged.status_code == 304 and unchanged.content == b"" and unchanged.headers["etag"] == etag
    voter = feed.person("voter")
    feed.store.set_vote(voter.id, "2601.00100", True, "2026-01-05T12:00:00Z")
    changed = browser.get("/papers/2601.00100", headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["etag"] != etag
    assert '<span class="vote-count">1</span>' in changed.text


def test_a_write_through_another_node_retires_the_page_at_once(feed: Site, store_url: str) -> None:
    browser = feed.browser()
    assert "Cached paper 2" in browser.get("/").text
    with open_store(store_url) as elsewhere:  # another process's connection to the same database
        elsewhere.upsert_papers([paper("2601.00109", "Added by another node", DAY)])
        member = elsewhere.create_user("remote", None, "x", "member", "2026-01-05T12:00:00Z")
        elsewhere.add_comment(member.id, "2601.00101", "First!", "2026-01-05T12:00:00Z")
    page = browser.get("/")
    assert "Added by another node" in page.text
    assert "First!" in browser.get("/papers/2601.00101").text


def test_signed_in_pages_never_come_from_or_go_into_the_cache(feed: Site, alice: Browser) -> None:
    anonymous = feed.browser()
    anonymous.get("/")
    bypass = _count("bypass")
    mine = alice.get("/")
    assert _count("bypass") == bypass + 1
    assert "alice" in mine.text and "Log out" in mine.text
    alice_token = _tokens(mine)
    assert len(alice_token) == 1 and alice_token != _tokens(anonymous.get("/"))
    assert "etag" not in mine.headers
    after = feed.browser().get("/")  # a stranger after alice: nothing of hers
    assert "alice" not in after.text and "Log out" not in after.text
    assert not alice_token & _tokens(after)


def test_gzip_from_the_cache_is_the_same_page(feed: Site) -> None:
    browser = feed.browser()
    browser.get("/")  # fills the cache
    raw = browser.http.get("/", headers={"Accept-Encoding": "gzip"})
    plain = browser.http.get("/", headers={"Accept-Encoding": "identity"})
    assert raw.headers["content-encoding"] == "gzip" and "content-encoding" not in plain.headers
    assert raw.text == plain.text
    # The bytes on the wire are one valid gzip member (checked by an independent decoder, not httpx's).
    stranger = TestClient(feed.app)
    with stranger.stream(
        "GET", "/", headers={"Accept-Encoding": "gzip", "Cookie": f"{VISITOR_COOKIE}=someone"}
    ) as answer:
        body = b"".join(answer.iter_raw())
    assert len(body) < len(plain.content) / 3
    text = gzip.decompress(body).decode()
    assert _tokens(httpx.Response(200, text=text)) == {csrf_for(_key(feed), "v:someone")}


def test_json_and_html_of_one_path_are_separate_and_the_api_is_cached(feed: Site) -> None:
    browser = feed.browser()
    html = browser.get("/")
    as_json = browser.get("/", headers={"Accept": "application/json"})
    assert html.headers["content-type"].startswith("text/html")
    assert as_json.headers["content-type"].startswith("application/json")
    hits = _count("hit")
    api = [browser.get(f"/api/daily_papers?date={DAY}") for _ in range(2)]
    assert _count("hit") == hits + 1 and api[0].json() == api[1].json()
    assert api[0].headers["cache-control"] == "no-cache" and "set-cookie" not in api[0].headers
    assert (
        browser.get(f"/api/daily_papers?date={DAY}", headers={"If-None-Match": api[0].headers["etag"]}).status_code
        == 304
    )


def test_pages_expire_with_the_clock_and_the_cache_can_be_off(site_with: Callable[..., Site]) -> None:
    site = site_with(PAPERFEED_PAGE_CACHE_SECONDS="0")
    site.add(paper("2601.00200", "Short-lived", DAY))
    browser = site.browser()
    hits = _count("hit")
    for _ in range(3):
        assert "Short-lived" in browser.get("/").text
    assert _count("hit") == hits


def test_search_errors_and_redirects_are_not_cached(feed: Site) -> None:
    browser = feed.browser()
    cache = feed.app.state.site.page_cache
    before = len(cache)
    assert browser.get("/papers/2601.99999").status_code == 404
    assert browser.get("/papers/2601.00100v1", follow_redirects=False).status_code == 301
    assert browser.get("/search?q=cached").status_code == 200
    assert len(cache) == before
