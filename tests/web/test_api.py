"""The JSON API over HTTP (FastAPI's TestClient): error bodies, API tokens and Bearer auth, the CSRF rules for JSON,
paperfeed's own endpoints (search, trending, me, vote, comments, submit, similar) and pages asked for as JSON, on a
real store (SQLite, or PostgreSQL with PAPERFEED_TEST_PG). The Hugging Face compatible endpoints are exercised
through ``huggingface_hub`` itself in test_hf_client.py.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from paperfeed.community.trending import FORMULA
from paperfeed.papers import Paper
from web_support import CSRF_RE, Site, paper

CORPUS = [
    paper("2610.00001", "Graph neural networks for molecules", "2026-10-05", authors=["Ada Lovelace", "Alan Turing"]),
    paper("2610.00002", "Attention is all you need, again", "2026-10-05", categories=["cs.CL"]),
    paper("2610.00003", "Graph transformers at scale", "2026-10-07", categories=["cs.LG", "cs.AI"]),
    paper("hep-th/9901001", "Strings on random graphs", "1999-01-05", categories=["hep-th"]),
]


class Api:
    """A site holding CORPUS: ``http`` is a browser's client (it keeps cookies), ``script`` sends as curl does."""

    def __init__(self, site: Site) -> None:
        self.site, self.store = site, site.store
        self.http = site.browser().http
        self.bare = TestClient(site.app)

    def sign_up(self, name: str) -> TestClient:
        browser = self.site.browser()
        assert browser.sign_up(name).status_code == 303
        return browser.http

    def token(self, client: TestClient, name: str = "script") -> str:
        """An API token made the way a member makes one: the settings form, which shows it once."""
        csrf = CSRF_RE.search(client.get("/settings").text)
        assert csrf
        page = client.post("/settings/tokens", data={"name": name, "csrf": csrf[1]})
        assert page.status_code == 200
        found = re.search(r'<code id="new-token">(pf_[A-Za-z0-9_-]+)</code>', page.text)
        assert found, page.text
        assert f"<li>{name} · created" in page.text
        return found[1]

    def bearer(self, method: str, path: str, token: str, **kw: Any) -> httpx.Response:
        return self.script(method, path, headers={"Authorization": f"Bearer {token}"}, **kw)

    def script(self, method: str, path: str, **kw: Any) -> httpx.Response:
        """A request as curl sends it: no cookies from earlier answers."""
        self.bare.cookies.clear()
        return self.bare.request(method, path, **kw)


@pytest.fixture
def api(site: Site) -> Api:
    site.add(*CORPUS)
    site.arxiv.papers["2611.01234"] = paper("2611.01234", "Fetched from arXiv", "2026-11-02")
    return Api(site)


@pytest.fixture
def searchable(api: Api) -> Api:
    api.site.sync()
    return api


# -- errors -----------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("path", "status", "where"),
    [
        ("/api/papers/2699.99999", 404, None),
        ("/api/papers/hep-th/0000000", 404, None),
        ("/api/papers/2699.99999/comments", 404, None),
        ("/api/papers/2699.99999/similar", 404, None),
        ("/api/papers/2699.99999/similar?sort=votes", 422, "sort"),
        ("/api/no-such-endpoint", 404, None),
        ("/api/daily_papers?date=2026-02-30", 422, "date"),
        ("/api/daily_papers?date=tomorrow", 422, "date"),
        ("/api/daily_papers?week=2026-W99", 422, "week"),
        ("/api/daily_papers?month=2026-13", 422, "month"),
        ("/api/daily_papers?limit=0", 422, "limit"),
        ("/api/daily_papers?p=-1", 422, "p"),
        ("/api/daily_papers?sort=random", 422, "sort"),
        ("/api/papers?cursor=!!!", 422, "cursor"),
        ("/api/papers?limit=1000", 422, "limit"),
        ("/api/search?q=graph&page=0", 422, "page"),
        ("/api/search?q=graph&page=two", 422, "page"),
        ("/api/search?q=graph&from=2026-10-32", 422, "from"),
        ("/api/search?q=graph&to=later", 422, "to"),
        ("/api/search?q=graph&mode=magic", 422, "mode"),
        ("/api/search?q=graph&sort=votes", 422, "sort"),
        ("/api/trending?day=soon", 422, "day"),
        ("/api/me", 401, None),
    ],
)
def test_json_errors_say_what_and_where(api: Api, path: str, status: int, where: str | None) -> None:
    answer = api.http.get(path)
    assert answer.status_code == status
    assert answer.headers["content-type"] == "application/json"
    body = answer.json()
    assert body["status"] == status and isinstance(body["error"], str) and body["error"]
    assert body.get("where") == where
    assert set(body) <= {"error", "status", "where"}


def test_json_posts_without_a_member_are_401(api: Api) -> None:
    for path, body in (
        ("/api/papers/2610.00001/vote", {"up": True}),
        ("/api/papers/2610.00001/comments", {"body": "hi"}),
        ("/api/submit", {"paper": "2610.00001"}),
    ):
        answer = api.script("POST", path, json=body)  # no cookies: JSON needs no CSRF token, but a member
        assert (answer.status_code, answer.json()["status"]) == (401, 401), path
    assert api.store.activity(["2610.00001"])["2610.00001"].upvotes == 0


# -- API tokens and Bearer auth ----------------------------------------------------------------------------------------
def test_a_token_from_settings_authenticates_scripts_until_revoked(api: Api) -> None:
    alice = api.sign_up("alice")
    token = api.token(alice)
    assert token not in alice.get("/settings").text  # shown once only
    me = api.bearer("GET", "/api/me", token)
    assert me.json() == {"name": "alice", "role": "admin", "joined": me.json()["joined"]}
    assert "set-cookie" not in me.headers  # scripts get no cookies

    # Bearer posts need no CSRF token.
    for _ in range(2):
        voted = api.bearer("POST", "/api/papers/hep-th/9901001/vote", token, json={"up": True})
        assert voted.json() == {"paper": "hep-th/9901001", "upvoted": True, "upvotes": 1}
    assert api.bearer("POST", "/api/papers/hep-th/9901001/vote", token, json={"up": False}).json()["upvotes"] == 0
    assert api.bearer("POST", "/api/papers/2610.00001/vote", token, json={}).json()["upvoted"] is True
    # JSON 1/0 vote, as the OpenAPI document says; anything else it does not allow is refused, as it says too.
    assert api.bearer("POST", "/api/papers/2610.00001/vote", token, json={"up": 0}).json()["upvoted"] is False
    assert api.bearer("POST", "/api/papers/2610.00001/vote", token, json={"up": 1}).json()["upvoted"] is True
    for bad in ("yes", "false", 2, None, 1.5):
        refused = api.bearer("POST", "/api/papers/2610.00001/vote", token, json={"up": bad})
        assert (refused.status_code, refused.json()["where"]) == (422, "up"), bad
    blend = api.bearer("PUT", "/api/for-you/blend", token, json={"personal_weight": False})
    assert (blend.status_code, blend.json()["where"]) == (422, "personal_weight")
    made = api.bearer("POST", "/api/papers/2610.00001/comments", token, json={"body": "*Neat*"}).json()
    assert (made["author"], made["body"]) == ("alice", "*Neat*")
    submitted = api.bearer("POST", "/api/submit", token, json={"paper": "arXiv:2611.01234v1"}).json()
    assert submitted == {"paper": "2611.01234", "day": datetime.now(UTC).date().isoformat(), "submitter": "alice"}
    assert api.store.activity(["2611.01234"])["2611.01234"].submitter == "alice"
    (listed,) = api.store.api_tokens(api.store.user_by_name("alice").id)  # type: ignore[union-attr]
    assert listed.last_used_at is not None

    csrf = CSRF_RE.search(alice.get("/settings").text)
    assert csrf
    revoked = alice.post(f"/settings/tokens/{listed.id}/revoke", data={"csrf": csrf[1]}, follow_redirects=False)
    assert (revoked.status_code, revoked.headers["location"]) == (303, "/settings")
    assert "No tokens." in alice.get("/settings").text
    assert api.bearer("GET", "/api/me", token).status_code == 401
    refused = api.bearer("POST", "/api/papers/2610.00003/vote", token, json={"up": True})
    assert (refused.status_code, refused.json()["error"]) == (401, "log in first")
    assert api.store.activity(["2610.00003"])["2610.00003"].upvotes == 0


@pytest.mark.parametrize("token", ["pf_not-a-real-token", "not-even-ours", ""])
def test_unknown_tokens_are_401(api: Api, token: str) -> None:
    api.sign_up("alice")
    assert api.bearer("GET", "/api/me", token).status_code == 401
    assert api.bearer("POST", "/api/papers/2610.00001/vote", token, json={"up": True}).status_code == 401


def test_a_blocked_members_token_stops_working(api: Api) -> None:
    alice = api.sign_up("alice")
    bob = api.sign_up("bob")
    token = api.token(bob)
    assert api.bearer("GET", "/api/me", token).status_code == 200
    csrf = CSRF_RE.search(alice.get("/settings").text)
    assert csrf
    assert alice.post("/u/bob/block", data={"csrf": csrf[1]}, follow_redirects=False).status_code == 303
    assert api.bearer("GET", "/api/me", token).status_code == 401


# -- CSRF for JSON -----------------------------------------------------------------------------------------------------
def test_json_posts_with_session_cookies_need_the_csrf_header(api: Api) -> None:
    alice = api.sign_up("alice")
    assert alice.get("/api/me").json()["name"] == "alice"  # reading needs no token
    csrf = CSRF_RE.search(alice.get("/settings").text)
    assert csrf
    for headers in ({}, {"X-CSRF-Token": "0" * 40}):
        refused = alice.post("/api/papers/2610.00001/vote", json={"up": True}, headers=headers)
        assert refused.status_code == 403 and refused.json()["status"] == 403
        assert alice.post("/api/submit", json={"paper": "2610.00002"}, headers=headers).status_code == 403
        assert alice.post("/api/papers/2610.00001/comments", json={"body": "x"}, headers=headers).status_code == 403
    assert api.store.activity(["2610.00001"])["2610.00001"].upvotes == 0
    assert api.store.comments_on("2610.00001") == []
    assert api.store.activity(["2610.00002"])["2610.00002"].submitter is None
    accepted = alice.post("/api/papers/2610.00001/vote", json={"up": True}, headers={"X-CSRF-Token": csrf[1]})
    assert accepted.json() == {"paper": "2610.00001", "upvoted": True, "upvotes": 1}


# -- paperfeed's own endpoints -----------------------------------------------------------------------------------------
def test_api_search_filters_highlights_and_pages(searchable: Api) -> None:
    answer = searchable.http.get("/api/search", params={"q": "graph", "category": "cs.LG", "limit": 1}).json()
    assert answer["filters"] == {"category": "cs.LG", "author": "", "from": "", "to": ""}
    assert answer["total"] >= 2 and answer["page"] == 1
    (first,) = answer["papers"]
    assert first["id"] in {"2610.00001", "2610.00003"}
    assert "<mark>Graph</mark>" in first["title_html"]
    second = searchable.http.get("/api/search", params={"q": "graph", "category": "cs.LG", "limit": 1, "page": 2})
    assert second.json()["papers"][0]["id"] in {"2610.00001", "2610.00003"} - {first["id"]}
    dated = searchable.http.get("/api/search", params={"q": "graph", "to": "2000-12-31", "mode": "keyword"}).json()
    assert [p["id"] for p in dated["papers"]] == ["hep-th/9901001"]
    assert searchable.http.get("/api/search").json()["papers"] == []


def test_hf_search_shape(searchable: Api) -> None:
    items = searchable.http.get("/api/papers/search", params={"q": "graph transformers"}).json()
    assert items[0]["id"] == "2610.00003" and items[0]["paper"]["id"] == "2610.00003"
    assert items[0]["title"] == "Graph transformers at scale"
    assert items[0]["highlight"] == "<mark>Graph transformers</mark> at scale"
    assert searchable.http.get("/api/papers/search").json() == []


def test_api_trending_explains_itself(api: Api) -> None:
    alice = api.sign_up("alice")
    token = api.token(alice)
    api.bearer("POST", "/api/papers/2610.00003/vote", token, json={"up": True})
    api.store.upsert_papers([Paper(id="2610.00001", title="", source="hf-daily", signals={"upvotes": 6})])
    body = api.http.get("/api/trending?day=2026-10-07").json()
    assert body["day"] == "2026-10-07" and body["formula"] == FORMULA
    assert body["window"] == {"from": "2026-10-01", "to": "2026-10-07"}
    # 2610.00003: 1 point, listed that day (24 h); 2610.00001: 3 points, two days earlier (72 h).
    assert [p["id"] for p in body["papers"]] == ["2610.00003", "2610.00001"]
    assert (
        body["papers"][0]["why"]
        == "1 upvote = 1 point; in the feed 2026-10-07, 24 h old → score 1 / (24 + 2)^1.5 = 0.00754"
    )
    assert body["papers"][1]["why"].startswith("0 upvotes + 6 HF upvotes × 0.5 = 3 points")
    assert body["papers"][1]["upvotes"] == 6 and body["papers"][1]["hf_upvotes"] == 6


def test_comments_and_similar(searchable: Api) -> None:
    alice = searchable.sign_up("alice")
    token = searchable.token(alice)
    bob_token = searchable.token(searchable.sign_up("bob"))
    spam = searchable.bearer("POST", "/api/papers/2610.00001/comments", bob_token, json={"body": "spam"}).json()
    searchable.bearer("POST", "/api/papers/2610.00001/comments", bob_token, json={"body": "**good** point"})
    csrf = CSRF_RE.search(alice.get("/settings").text)
    assert csrf
    alice.post(f"/comments/{spam['id']}/hide", data={"csrf": csrf[1], "reason": "Spam"})
    listed = searchable.http.get("/api/papers/2610.00001/comments").json()
    assert [(c["author"], c["body"]) for c in listed] == [("bob", "**good** point")]
    path = "/api/papers/2610.00001?field=comments"
    for answer, expected in (
        (searchable.script("GET", path), [("**good** point", False)]),  # a reader
        (searchable.bearer("GET", path, token), [("spam", True), ("**good** point", False)]),  # the admin
    ):
        comments = answer.json()["comments"]
        assert [(c["data"]["latest"]["raw"], c["data"]["hidden"]) for c in comments] == expected
        assert comments[-1]["data"]["latest"]["html"] == "<p><strong>good</strong> point</p>\n"
        assert comments[-1]["author"]["name"] == comments[-1]["author"]["user"] == "bob"  # HF's user overview
        if len(comments) == 2:  # the moderator sees why the hidden one is hidden
            assert comments[0]["data"]["hiddenReason"] == "Spam" and "hiddenReason" not in comments[1]["data"]
    assert "comments" not in searchable.http.get("/api/papers/2610.00001").json()
    assert searchable.http.get("/api/papers/2610.00001").json()["numComments"] == 1
    similar = searchable.http.get("/api/papers/2610.00001/similar?limit=2").json()
    assert len(similar) == 2 and "2610.00001" not in [p["id"] for p in similar]
    assert {"id", "title", "upvotes", "comments", "voted"} <= set(similar[0])
    newest = searchable.http.get("/api/papers/2610.00001/similar?limit=3&sort=recency").json()
    days = [p["announced"] or "" for p in newest]
    assert len(newest) == 3 and days == sorted(days, reverse=True)
    assert len(searchable.http.get("/api/papers/2610.00001/similar?sort=popularity").json()) >= 1


def test_pages_answer_in_json_when_asked(api: Api) -> None:
    as_json = {"Accept": "application/json"}
    feed = api.http.get("/papers/date/2026-10-05", headers=as_json).json()
    assert (feed["period"], feed["kind"], feed["total"], feed["previous"], feed["next"]) == (
        "2026-10-05",
        "day",
        2,
        "1999-01-05",
        "2026-10-07",
    )
    assert [p["id"] for p in feed["papers"]] == ["2610.00001", "2610.00002"]
    one = api.http.get("/papers/hep-th/9901001", headers=as_json).json()
    assert one["id"] == "hep-th/9901001" and "eprint = {hep-th/9901001}" in one["bibtex"]
    month = api.http.get("/papers/month/2026-10", headers=as_json).json()
    assert (month["previous"], month["next"], month["total"]) == ("2026-09", "2026-11", 3)


@pytest.mark.parametrize(
    ("query", "where"), [("week=2026-11-20", "week"), ("month=2026-W47", "month"), ("date=2026-11", "date")]
)
def test_daily_papers_refuses_a_period_of_the_wrong_kind(api: Api, query: str, where: str) -> None:
    answer = api.script("GET", f"/api/daily_papers?{query}")
    assert answer.status_code == 422 and answer.json()["where"] == where
