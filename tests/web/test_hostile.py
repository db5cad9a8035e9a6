"""Hostile requests replayed against a real server (uvicorn on a loopback port over a real store): every probe of
the security review, plus representative attacks that were already refused, each answered with the right status,
every answer carrying the security headers, and the server still answering afterwards.

The table is the record: a probe that once crashed, hung or leaked stays here so that it stays fixed.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import feedparser
import httpx
import pytest
from argon2 import PasswordHasher
from fastapi import Request

from browser_support import live
from paperfeed.community import rules
from paperfeed.config import load_config
from paperfeed.errors import ConfigError
from paperfeed.search.indexes import open_indexes
from paperfeed.search.registry import SearchSettings
from paperfeed.store import Store, open_store
from paperfeed.web.app import create_app
from web_support import CSRF_RE, PASSWORD, paper

TODAY = datetime.now(UTC).date().isoformat()
EVIL_ABSTRACT = 'Results <img src=x onerror="alert(1)"> and <script>alert(2)</script>.'
JSON = {"Content-Type": "application/json"}
HEADERS = ("content-security-policy", "x-frame-options", "x-content-type-options", "referrer-policy")


@dataclass
class Served:
    url: str
    store: Store
    member: httpx.Client  # a logged-in member (the site's admin)
    member_csrf: str

    def anonymous(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=30)

    def still_answers(self) -> bool:
        return httpx.get(f"{self.url}/api/papers?limit=1", timeout=30).status_code == 200


def _seed(store: Store) -> None:
    store.upsert_papers(
        [
            paper("2611.00001", "Learning to learn", TODAY, abstract="Deep learning of learning rules."),
            paper("2611.00002", "Learning graphs", TODAY, abstract="Graph learning at scale."),
            # Stored before ingest checked links: the pages must still not make them live.
            paper(
                "2611.00003",
                "Hostile links",
                TODAY,
                abstract=EVIL_ABSTRACT,
                code_urls=["javascript:alert(document.cookie)", "https://github.com/ok/repo"],
                project_urls=["data:text/html,<script>alert(1)</script>"],
            ),
        ]
    )


@pytest.fixture(scope="module")
def served(module_store_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    data = tmp_path_factory.mktemp("data")
    config = load_config(
        env={
            "PAPERFEED_DATA_DIR": str(data),
            "PAPERFEED_DATABASE_URL": module_store_url,
            "PAPERFEED_CACHE_DIR": str(data / "cache"),
        }
    )
    with open_store(config.store_url) as store, pytest.MonkeyPatch.context() as patch:
        fast = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)  # cheap hashes; the clock stays real
        patch.setattr(rules, "_hasher", fast)
        patch.setattr(rules, "_DUMMY_HASH", fast.hash("dummy"))
        _seed(store)
        open_indexes(store, SearchSettings.from_config(config)).sync()
        app = create_app(config, store=store, fetch_paper=lambda _: None)

        @app.get("/test-only/crash", include_in_schema=False)
        def crash(request: Request) -> None:  # stands for any bug: an exception no handler expects
            raise RuntimeError("a bug")

        with live(app) as url, httpx.Client(base_url=url, timeout=30) as member:
            signed = member.post(
                "/signup",
                data={"name": "alice", "password": PASSWORD, "email": "alice@example.org", "csrf": _csrf(member)},
            )
            assert signed.status_code == 303, signed.text
            yield Served(url, store, member, _csrf(member))


def _csrf(client: httpx.Client) -> str:
    found = CSRF_RE.search(client.get("/login").text)
    assert found
    return found[1]


@dataclass
class Probe:
    name: str
    method: str
    path: str
    status: int | tuple[int, ...]
    member: bool = False  # sent by the logged-in member (forms get its CSRF token) instead of a stranger
    kwargs: dict[str, Any] = field(default_factory=dict)
    where: str | None = None  # the parameter a refusal must name
    csrf: bool = False  # a stranger's form post carrying the CSRF token of the stranger's own page
    check: Callable[[Served, httpx.Response], None] | None = None


def _no_live_hostile_links(served: Served, response: httpx.Response) -> None:
    assert 'href="javascript:' not in response.text and 'href="data:' not in response.text
    assert 'href="https://github.com/ok/repo"' in response.text
    assert "<script>alert" not in response.text and "<img src=x" not in response.text


def _no_hostile_hf_links(served: Served, response: httpx.Response) -> None:
    data = response.json()
    assert data["githubRepo"] == "https://github.com/ok/repo" and data["projectPage"] is None


def _rss_descriptions_are_text(served: Served, response: httpx.Response) -> None:
    parsed = feedparser.parse(response.content, sanitize_html=False)  # a reader that trusts the feed's HTML
    (entry,) = [e for e in parsed.entries if e.link.endswith("/papers/2611.00003")]
    assert "<img" not in entry.summary and "<script" not in entry.summary and "&lt;img" in entry.summary


def _registered_address_not_told(served: Served, response: httpx.Response) -> None:
    assert "taken" not in response.text and response.headers["location"] == "/"
    mallory = served.store.user_by_name("mallory")
    assert mallory is not None and mallory.email is None


def _next_link_from_the_base_url(served: Served, response: httpx.Response) -> None:
    link = response.headers["link"]
    assert link.startswith("<http://127.0.0.1:8000/api/papers?") and "evil.example" not in link, link


class _Markup(HTMLParser):
    """The elements and attributes of a piece of HTML, as a browser would build them."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))


def _no_bidi_controls(served: Served, response: httpx.Response) -> None:
    page = served.member.get("/papers/2611.00001").text
    assert "etouq a ton" in page and "\u202e" not in page and 'class="comment-body math" dir="auto"' in page


def _chunks(data: bytes) -> Iterator[bytes]:
    for start in range(0, len(data), 16_384):
        yield data[start : start + 16_384]


def _comment_is_inert(served: Served, response: httpx.Response) -> None:
    comments = served.member.get("/papers/2611.00001").text.split('id="comments"', 1)[1].split('id="similar-h"')[0]
    assert "alert(" in comments  # the comment is there, as text
    for tag, attrs in _Markup(comments).tags:
        assert tag not in ("script", "img", "iframe", "svg", "object", "embed", "style"), tag
        for name, value in attrs:
            assert not name.startswith("on"), (tag, name)
            assert not (value or "").strip().lower().startswith(("javascript:", "data:")), (tag, name, value)


PROBES = [
    # Unbounded search depth: the keyword index allocated offset + limit slots and the process aborted.
    Probe("api search page 1e8", "GET", "/api/search?q=learning&page=100000000&limit=100", 422, where="page"),
    Probe("api search just past depth", "GET", "/api/search?q=learning&page=11&limit=100", 422, where="page"),
    Probe("api search last page", "GET", "/api/search?q=learning&page=10&limit=100", 200),
    Probe("search page 1e9", "GET", "/search?q=learning&page=1000000000", 422, where="page"),
    Probe("search page past depth", "GET", "/search?q=learning&page=34", 422, where="page"),
    # Integers past 64 bits overflowed SQLite (500, no headers, connection reset).
    Probe("feed page 2^63", "GET", "/?page=9223372036854775808", 422, where="page"),
    Probe("feed page huge", "GET", "/papers/date/2026-10-05?page=" + "9" * 40, 422, where="page"),
    Probe("feed page past the maximum", "GET", "/?page=10001", 422, where="page"),
    Probe("feed page past the end", "GET", "/?page=10000", 200),
    Probe("daily_papers p 2^63", "GET", "/api/daily_papers?p=9223372036854775808", 422, where="p"),
    Probe("daily_papers p past the maximum", "GET", "/api/daily_papers?p=10001", 422, where="p"),
    Probe("trending daily_papers p huge", "GET", "/api/daily_papers?p=99999999999&sort=trending", 422, where="p"),
    Probe("hide comment id 2^64", "POST", "/comments/18446744073709551616/hide", 422, member=True),
    Probe("revoke token id 2^64", "POST", "/settings/tokens/18446744073709551616/revoke", 422, member=True),
    # The search feed skipped the 500-character query cap the search page has (32 KB answered 200).
    Probe("search feed 32 KB query", "GET", "/feeds/search.rss?q=" + "learning+" * 3641, 422, where="q"),
    Probe("search feed 501 characters", "GET", "/feeds/search.atom?q=" + "x" * 501, 422, where="q"),
    Probe("api search 501 characters", "GET", "/api/papers/search?q=" + "x" * 501, 422),
    Probe("search feed 500 characters", "GET", "/feeds/search.rss?q=" + "x" * 500, 200),
    # Sign-up said "that email is already taken": anyone could learn whose address is registered.
    Probe(
        "sign-up with a registered email",
        "POST",
        "/signup",
        303,
        kwargs={"data": {"name": "mallory", "password": PASSWORD, "email": "Alice@Example.org"}},
        csrf=True,
        check=_registered_address_not_told,
    ),
    # Links the answer gives are built from PAPERFEED_BASE_URL, not from a Host header anyone can send.
    Probe(
        "forged Host in rel=next",
        "GET",
        "/api/papers?limit=1",
        200,
        kwargs={"headers": {"Host": "evil.example"}},
        check=_next_link_from_the_base_url,
    ),
    # Found by schemathesis: an empty day crashed trending (500).
    Probe("trending with an empty day", "GET", "/api/trending?day=", 200),
    Probe("trending with a bad day", "GET", "/api/trending?day=yesterday", 422, where="day"),
    # Refusals the API documents (see test_every_api_refusal_is_documented).
    Probe("unknown paper", "GET", "/api/papers/2699.99999/similar", 404),
    Probe("me without credentials", "GET", "/api/me", 401),
    Probe("vote without credentials", "POST", "/api/papers/2611.00001/vote", 401, kwargs={"json": {"up": True}}),
    Probe(
        "body that is not JSON",
        "POST",
        "/api/subscriptions",
        400,
        kwargs={"content": b"\x80 not UTF-8", "headers": JSON},
    ),
    Probe(
        "subscription with a bad topic",
        "POST",
        "/api/subscriptions",
        422,
        kwargs={"json": {"email": "ada@example.org", "topics": ["nonsense"]}},
        where="topic",
    ),
    # Already refused: injection-shaped parameters, open redirects, traversal, CSRF.
    Probe("sql-ish query", "GET", "/api/search?q=' OR 1=1; DROP TABLE papers; --", 200),
    Probe("sql-ish paper id", "GET", "/api/papers/1' OR '1'='1", 404),
    Probe("sql-ish sort", "GET", "/?sort=votes;DROP TABLE papers", 422, where="sort"),
    Probe("path traversal static", "GET", "/static/../../../../etc/passwd", 404),
    Probe("path traversal encoded", "GET", "/static/%2e%2e/%2e%2e/%2e%2e/etc/passwd", 404),
    Probe("open redirect login", "GET", "/login?next=//evil.example/", 200, check=lambda s, r: _no_redirect_to_evil(r)),
    # Links a source gave are http(s) or nothing; an RSS description is text, not markup.
    Probe("javascript: and data: links", "GET", "/papers/2611.00003", 200, check=_no_live_hostile_links),
    Probe("javascript: links in the HF shape", "GET", "/api/papers/2611.00003", 200, check=_no_hostile_hf_links),
    Probe("markup in an abstract, RSS", "GET", "/feeds/daily.rss", 200, check=_rss_descriptions_are_text),
    *(
        Probe(
            f"comment xss {i}",
            "POST",
            "/papers/2611.00001/comments",
            303,
            member=True,
            kwargs={"data": {"body": body}},
            check=_comment_is_inert,
        )
        for i, body in enumerate(
            [
                "<script>alert(1)</script>",
                '<img src=x onerror="alert(1)">',
                "[click](javascript:alert(1))",
                '<a href="javascript:alert(1)">x</a> <iframe src="//evil.example"></iframe>',
                "<svg onload=alert(1)> $\\href{javascript:alert(1)}{x}$",
            ]
        )
    ),
    Probe("form post without csrf", "POST", "/papers/2611.00001/vote", 403, kwargs={"data": {"up": "1"}}),
    Probe(
        "cookie post with a forged csrf",
        "POST",
        "/papers/2611.00001/comments",
        403,
        member=True,
        kwargs={"data": {"body": "hi", "csrf": "forged"}},
    ),
    # Text that is not Unicode (half a surrogate pair, as JSON may escape it) used to reach the store: 500.
    Probe(
        "lone surrogate in a comment",
        "POST",
        "/api/papers/2611.00001/comments",
        422,
        member=True,
        kwargs={"content": b'{"body": "x \\ud800 y"}', "headers": JSON},
        where="body",
    ),
    Probe(
        "lone surrogate in a subscription",
        "POST",
        "/api/subscriptions",
        422,
        kwargs={"content": b'{"email": "ada@example.org", "topics": ["query:x \\udfff"]}', "headers": JSON},
        where="topics.0",
    ),
    Probe(
        "lone surrogate in a form",
        "POST",
        "/papers/2611.00001/comments",
        (303, 422),
        member=True,
        kwargs={"content": b"body=x+%ED%A0%80+y", "headers": {"Content-Type": "application/x-www-form-urlencoded"}},
    ),
    Probe(
        "comment of zero-width characters",
        "POST",
        "/api/papers/2611.00001/comments",
        422,
        member=True,
        kwargs={"json": {"body": "\u200b\u200c\u200d\ufeff \u2060"}},
        where="body",
    ),
    Probe(
        "bidi override in a comment",
        "POST",
        "/papers/2611.00001/comments",
        303,
        member=True,
        kwargs={"data": {"body": "harmless \u202eetouq a ton si siht"}},
        check=_no_bidi_controls,
    ),
    # Bodies past 64 KB are refused before they are read (with a Content-Length) or as they arrive (chunked).
    Probe(
        "oversized body",
        "POST",
        "/api/papers/2611.00001/comments",
        413,
        member=True,
        kwargs={"json": {"body": "x" * 200_000}},
    ),
    Probe(
        "oversized chunked body",
        "POST",
        "/api/subscriptions",
        413,
        kwargs={"content": _chunks(b'{"email": "' + b"x" * 200_000 + b'"}'), "headers": JSON},
    ),
]


def _no_redirect_to_evil(response: httpx.Response) -> None:
    assert 'name="next" value="/"' in response.text


@pytest.mark.parametrize("probe", PROBES, ids=[p.name for p in PROBES])
def test_probe_is_refused_and_the_server_lives_on(served: Served, probe: Probe) -> None:
    kwargs = dict(probe.kwargs)
    if probe.member and probe.method == "POST" and ("content" in kwargs or "json" in kwargs):
        kwargs["headers"] = {"X-CSRF-Token": served.member_csrf, **kwargs.get("headers", {})}
    elif probe.member and probe.method == "POST":
        kwargs["data"] = {"csrf": served.member_csrf, **kwargs.get("data", {})}
    if probe.member:
        response = served.member.request(probe.method, probe.path, follow_redirects=False, **kwargs)
    else:
        with served.anonymous() as stranger:
            if probe.csrf:
                kwargs["data"] = {"csrf": _csrf(stranger), **kwargs.get("data", {})}
            response = stranger.request(probe.method, probe.path, follow_redirects=False, **kwargs)
    expected = probe.status if isinstance(probe.status, tuple) else (probe.status,)
    assert response.status_code in expected, response.text[:500]
    for name in HEADERS:
        assert name in response.headers, f"{name} missing"
    if probe.where is not None:
        where = response.json().get("where") if _is_json(response) else _where_in_html(response.text)
        assert where == probe.where
    if probe.check is not None:
        probe.check(served, response)
    assert served.still_answers()


def _is_json(response: httpx.Response) -> bool:
    return response.headers.get("content-type", "").startswith("application/json")


def _where_in_html(text: str) -> str | None:
    found = re.search(r"<strong>([^<]+)</strong>:", text)
    return found[1] if found else None


def test_a_crash_answers_500_with_the_security_headers_and_the_server_lives_on(served: Served) -> None:
    for accept in ("text/html", "application/json"):
        response = httpx.get(f"{served.url}/test-only/crash", headers={"Accept": accept})
        assert response.status_code == 500
        for name in HEADERS:
            assert name in response.headers, f"{name} missing"
        assert "a bug" not in response.text and "Traceback" not in response.text
    assert served.still_answers()


def test_method_not_allowed_says_what_is(served: Served) -> None:
    response = httpx.delete(f"{served.url}/api/papers")
    assert response.status_code == 405 and response.headers["allow"] == "GET"


@contextmanager
def _server(store_url: str, data: Path, **settings: str) -> Iterator[str]:
    env = {"PAPERFEED_DATA_DIR": str(data), "PAPERFEED_DATABASE_URL": store_url, "PAPERFEED_CACHE_DIR": str(data)}
    config = load_config(env={**env, **{f"PAPERFEED_{k.upper()}": v for k, v in settings.items()}})
    with (
        open_store(config.store_url) as store,
        live(create_app(config, store=store, fetch_paper=lambda _: None)) as url,
    ):
        yield url


def _log_in_attempts(url: str, forwarded_for: Callable[[int], str]) -> list[int]:
    with httpx.Client(base_url=url, timeout=30) as client:
        csrf = _csrf(client)
        return [
            client.post(
                "/login",
                data={"login": "nobody", "password": "wrong password", "csrf": csrf},
                headers={"X-Forwarded-For": forwarded_for(i)},
            ).status_code
            for i in range(11)
        ]


def test_x_forwarded_for_counts_only_from_a_trusted_proxy(store_url: str, tmp_path: Path) -> None:
    # By default nobody is a proxy: a client that makes up a new X-Forwarded-For per guess is still one client.
    with _server(store_url, tmp_path) as url:
        assert _log_in_attempts(url, lambda i: f"203.0.113.{i}")[-1] == 429
    # Behind a configured proxy (here: the loopback peer) the address it forwards is the visitor's.
    with _server(store_url, tmp_path, trusted_proxies="127.0.0.0/8, ::1") as url:
        assert _log_in_attempts(url, lambda i: f"spoofed, 198.51.100.{i}") == [401] * 11
        assert _log_in_attempts(url, lambda i: "198.51.100.200")[-1] == 429
        assert httpx.get(f"{url}/api/papers?limit=1").status_code == 200


def test_trusted_proxies_are_checked() -> None:
    with pytest.raises(ConfigError, match="TRUSTED_PROXIES"):
        load_config(env={"PAPERFEED_TRUSTED_PROXIES": "10.0.0.0/8 proxy.example"})


def _operation(document: dict[str, Any], method: str, path: str) -> dict[str, Any] | None:
    for template, operations in document["paths"].items():
        if re.fullmatch(re.sub(r"\\{[^}]+\\}", ".+", re.escape(template)), path.split("?")[0]):
            return operations.get(method.lower())  # type: ignore[no-any-return]
    return None


def test_every_api_refusal_is_documented(served: Served) -> None:
    """Every status a probe of the JSON API gets is one its OpenAPI operation lists (as schemathesis checks)."""
    document = httpx.get(f"{served.url}/openapi.json").json()
    replayed = 0
    for probe in PROBES:
        operation = _operation(document, probe.method, probe.path)
        if not probe.path.startswith("/api/") or operation is None:
            continue
        statuses = probe.status if isinstance(probe.status, tuple) else (probe.status,)
        for status in statuses:
            assert str(status) in operation["responses"], (probe.name, status, sorted(operation["responses"]))
        replayed += 1
    assert replayed >= 15
    limited = _operation(document, "POST", "/api/papers/2611.00001/comments")
    assert limited is not None and {"401", "403", "404", "413", "422", "429"} <= set(limited["responses"])


def test_a_path_served_by_several_routes_allows_all_their_methods(served: Served) -> None:
    response = httpx.request("OPTIONS", f"{served.url}/api/papers/2611.00001/comments")
    assert response.status_code == 405 and response.headers["allow"] == "GET, POST"
    # /api/papers/{paper_id:path} would take this path too (as the id "2611.00001/vote"): the vote route's is meant.
    response = httpx.request("OPTIONS", f"{served.url}/api/papers/hep-th/9901001/vote")
    assert response.status_code == 405 and response.headers["allow"] == "POST"
