"""What the web tests call by name: the ``Site`` under test, browsers that post forms as a person would, the fake
arXiv, paper builders and store snapshots (the fixtures that make them are in conftest.py).

Each person is a ``Browser`` with its own cookies; its form posts carry the CSRF token of a page it just loaded, as
a real browser's would.
"""

from __future__ import annotations

import re
from typing import Any

import httpx
from fastapi import FastAPI
from fastapi.testclient import TestClient

from paperfeed.community import rules
from paperfeed.papers import Paper
from paperfeed.search.indexes import indexes_for
from paperfeed.store import Store
from paperfeed.store.community import User

PASSWORD = "correct horse battery"
NOW = 1_800_000_060  # 60 s into a window of every rate limit (1_800_000_000 divides by 300, 600 and 3600)
CSRF_RE = re.compile(r'name="csrf" value="([^"]*)"')
LISTED_RE = re.compile(r'class="paper-link" href="/papers/([^"]+)"')


class FakeArxiv:
    """The ``fetch_paper`` the app is given: the papers "arXiv" has, and the ids it was asked for."""

    def __init__(self) -> None:
        self.papers: dict[str, Paper] = {}
        self.asked: list[str] = []

    def __call__(self, paper_id: str) -> Paper | None:
        self.asked.append(paper_id)
        return self.papers.get(paper_id)


class Browser:
    """One person's browser: its own cookie jar, form posts with the CSRF token of a freshly loaded page."""

    def __init__(self, app: FastAPI, base_url: str = "http://testserver") -> None:
        self.http = TestClient(app, base_url=base_url)

    def get(self, path: str, **kw: Any) -> httpx.Response:
        return self.http.get(path, **kw)

    def csrf(self, page: str = "/login") -> str:
        found = CSRF_RE.search(self.http.get(page).text)
        assert found, f"no csrf field on {page}"
        return found[1]

    def post(self, path: str, data: dict[str, str] | None = None, *, csrf: str | None = None) -> httpx.Response:
        form = {**(data or {}), "csrf": self.csrf() if csrf is None else csrf}
        return self.http.post(path, data=form, follow_redirects=False)

    def sign_up(self, name: str, email: str = "", password: str = PASSWORD) -> httpx.Response:
        return self.post("/signup", {"name": name, "email": email, "password": password})

    def log_in(self, login: str, password: str = PASSWORD) -> httpx.Response:
        return self.post("/login", {"login": login, "password": password})

    def logged_in_as(self) -> str | None:
        found = re.search(r'<ul class="account">\s*<li><a href="/u/([^"]+)">', self.get("/login").text)
        return found[1] if found else None


class Site:
    """The app under test, its store, and the fake arXiv its submit form fetches from."""

    def __init__(self, app: FastAPI, store: Store, arxiv: FakeArxiv) -> None:
        self.app, self.store, self.arxiv = app, store, arxiv

    def browser(self, base_url: str = "http://testserver") -> Browser:
        return Browser(self.app, base_url)

    def add(self, *papers: Paper) -> None:
        self.store.upsert_papers(list(papers))

    def sync(self) -> None:
        indexes_for(self.store).sync()

    def caught_up(self) -> None:
        """What a running site does after a bulk write: its catch-up thread brings the keyword index up to date."""
        indexes = indexes_for(self.store)
        indexes.catch_up_keyword()
        assert indexes.wait_for_catch_up(60)

    def person(self, name: str, role: str = "member") -> User:
        """A member made in the store directly (for voters and commenters no test logs in as)."""
        return self.store.create_user(name, None, "not-a-hash", role, rules.now_iso())


def paper(pid: str, title: str, day: str, *, kind: str = "new", **extra: Any) -> Paper:
    fields: dict[str, Any] = {
        "abstract": f"About {title.lower()}.",
        "authors": ["Ada Lovelace"],
        "categories": ["cs.LG"],
        "submitted": day,
        "announced": day,
        **extra,
    }
    return Paper(id=pid, title=title, listing_days={day: kind}, source="test", **fields)


def hf(pid: str, upvotes: int, comments: int = 0) -> Paper:
    """A Hugging Face Daily Papers sighting of a stored paper, carrying its upvotes and comment count."""
    return Paper(id=pid, title="", source="hf-daily", signals={"upvotes": upvotes, "num_comments": comments})


def listed(page: httpx.Response) -> list[str]:
    assert page.status_code == 200, page.text
    return LISTED_RE.findall(page.text)


def snapshot(store: Store) -> dict[str, list[str]]:
    """Every row the community touches, to show that a refused request changed nothing."""
    tables = (
        *("users", "sessions", "api_tokens", "votes", "comments", "submissions", "paper_days", "rate_limits"),
        *("subscribers", "subscription_topics", "deliveries", "job_state"),  # job_state: private feed keys
        "member_preferences",
        *("library_entries", "library_tags", "collections", "collection_items", "ratings"),
    )
    return {t: sorted(repr(row) for row in store.db.query(f"SELECT * FROM {t}")) for t in tables}
