"""What members do, over HTTP (FastAPI's TestClient): accounts and sessions (cookie flags, log-out, blocking,
passwords), CSRF on every form, rate limits, votes, comments, submissions and moderation, on a real store (SQLite,
or PostgreSQL with PAPERFEED_TEST_PG). The helpers are in web_support.py.
"""

from __future__ import annotations

import html
import re
import socket
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from paperfeed.community import rules
from paperfeed.config import load_config
from paperfeed.digests import subscriptions
from paperfeed.web import app as app_module
from paperfeed.web.app import default_fetcher
from web_support import PASSWORD, Browser, Site, listed, paper, snapshot


# -- accounts ----------------------------------------------------------------------------------------------------------
def test_sign_up_first_member_is_admin_and_is_logged_in(site: Site) -> None:
    browser = site.browser()
    answer = browser.sign_up("alice", "alice@example.org")
    assert (answer.status_code, answer.headers["location"]) == (303, "/")
    assert browser.logged_in_as() == "alice"
    other = site.browser()
    other.sign_up("bob")
    assert [(u.name, u.role) for u in map(site.store.user_by_name, ["alice", "bob"]) if u] == [
        ("alice", "admin"),
        ("bob", "member"),
    ]
    assert "<small>admin · joined" in other.get("/u/alice").text


@pytest.mark.parametrize(
    ("name", "email", "password", "where", "message"),
    [
        ("ALICE", "", PASSWORD, "name", "that name is already taken"),
        ("carol", "", "short", "password", "use at least 10 characters"),
        ("c", "", PASSWORD, "name", "use 2–32 letters"),
        ("carol", "nope", PASSWORD, "email", "that does not look like an email address"),
    ],
)
def test_sign_up_refusals_are_polite_and_name_the_field(
    site: Site, alice: Browser, name: str, email: str, password: str, where: str, message: str
) -> None:
    browser = site.browser()
    answer = browser.sign_up(name, email, password)
    assert answer.status_code == 422
    assert f'<p class="error" role="alert">{where}: {message}' in answer.text
    assert re.search(rf'<input id="{where}" [^>]*aria-invalid="true"', answer.text)
    assert f'value="{html.escape(name)}"' in answer.text  # what was typed is kept (but never the password)
    assert PASSWORD not in answer.text
    assert "set-cookie" not in answer.headers or "pf_session" not in answer.headers["set-cookie"]
    assert site.store.count_users() == 1


def test_sign_up_does_not_tell_whose_email_is_registered(site: Site, alice: Browser) -> None:
    answers = [site.browser().sign_up(name, email) for name, email in [("carol", "Alice@Example.org"), ("dave", "")]]
    assert [(a.status_code, a.headers["location"]) for a in answers] == [(303, "/"), (303, "/")]
    assert "already taken" not in answers[0].text
    carol = site.store.user_by_name("carol")
    assert carol is not None and carol.email is None  # alice's address stays alice's alone


@pytest.mark.parametrize("login", ["alice", "ALICE", "alice@example.org"])
def test_log_in_by_name_or_email(site: Site, alice: Browser, login: str) -> None:
    browser = site.browser()
    answer = browser.post("/login", {"login": login, "password": PASSWORD, "next": "/papers/trending"})
    assert (answer.status_code, answer.headers["location"]) == (303, "/papers/trending")
    assert browser.logged_in_as() == "alice"


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x", "javascript:alert(1)"])
def test_log_in_never_redirects_off_site(site: Site, alice: Browser, target: str) -> None:
    answer = site.browser().post("/login", {"login": "alice", "password": PASSWORD, "next": target})
    assert answer.headers["location"] == "/"


@pytest.mark.parametrize(("login", "password"), [("alice", "wrong password"), ("nobody", PASSWORD)])
def test_wrong_password_is_401_with_a_vague_message(site: Site, alice: Browser, login: str, password: str) -> None:
    browser = site.browser()
    answer = browser.log_in(login, password)
    assert answer.status_code == 401
    assert '<p class="error" role="alert">wrong name or password</p>' in answer.text
    assert browser.logged_in_as() is None


def test_session_cookie_flags_on_http(site: Site) -> None:
    answer = site.browser().sign_up("alice")
    cookie = next(c for c in answer.headers.get_list("set-cookie") if c.startswith("pf_session="))
    flags = {part.strip().lower() for part in cookie.split(";")[1:]}
    assert {"httponly", "samesite=lax", "path=/"} <= flags
    assert "secure" not in flags
    assert "max-age=2592000" in flags  # session_days = 30


def test_cookies_are_secure_when_the_site_is_https(site_with: Callable[..., Site]) -> None:
    secure_site = site_with(PAPERFEED_BASE_URL="https://papers.example.org")
    browser = secure_site.browser(base_url="https://testserver")
    first = browser.get("/login")
    (visitor,) = first.headers.get_list("set-cookie")
    assert visitor.startswith("pf_visitor=") and "; Secure" in visitor and "HttpOnly" in visitor
    answer = browser.sign_up("alice")
    assert answer.status_code == 303
    (session,) = answer.headers.get_list("set-cookie")
    assert session.startswith("pf_session=")
    assert {"Secure", "HttpOnly", "SameSite=lax"} <= {p.strip() for p in session.split(";")}
    assert browser.logged_in_as() == "alice"
    # Over plain http the browser keeps its Secure cookies to itself: no session, and a new visitor cookie.
    plain = secure_site.browser()
    plain.http.cookies = browser.http.cookies
    assert plain.logged_in_as() is None


def test_log_out_ends_the_session_on_the_server(site: Site, alice: Browser) -> None:
    old = alice.http.cookies["pf_session"]
    answer = alice.post("/logout")
    assert (answer.status_code, answer.headers["location"]) == (303, "/")
    assert any(c.startswith('pf_session=""') and "Max-Age=0" in c for c in answer.headers.get_list("set-cookie"))
    assert alice.logged_in_as() is None
    assert site.store.db.query("SELECT count(*) FROM sessions")[0][0] == 0
    replay = site.browser()
    replay.http.cookies.set("pf_session", old)
    assert replay.logged_in_as() is None
    assert replay.get("/settings", follow_redirects=False).headers["location"] == "/login?next=/settings"
    assert replay.get("/api/me").status_code == 401


def test_blocked_members_cannot_log_in_or_act(site: Site, alice: Browser, bob: Browser) -> None:
    site.add(paper("2610.30001", "A paper", "2026-10-05"))
    assert alice.post("/u/bob/block").headers["location"] == "/u/bob"
    assert "blocked" in alice.get("/u/bob").text
    assert bob.logged_in_as() is None  # the block ended bob's session
    before = snapshot(site.store)
    assert bob.post("/papers/2610.30001/vote", {"up": "1"}).status_code == 401
    assert bob.post("/papers/2610.30001/comments", {"body": "hi"}).status_code == 401
    answer = bob.log_in("bob")
    assert answer.status_code == 403 and "this account is blocked" in answer.text
    before.pop("rate_limits")  # the log-in attempt counts, nothing else changed
    after = snapshot(site.store)
    after.pop("rate_limits")
    assert after == before
    assert alice.post("/u/bob/block", {"unblock": "1"}).status_code == 303
    assert bob.log_in("bob").status_code == 303


def test_change_password(site: Site, alice: Browser) -> None:
    wrong = alice.post("/settings/password", {"old": "not my password", "new": "another password"})
    assert wrong.status_code == 401 and "wrong name or password" in wrong.text
    weak = alice.post("/settings/password", {"old": PASSWORD, "new": "short"})
    assert weak.status_code == 422 and "use at least 10 characters" in weak.text
    done = alice.post("/settings/password", {"old": PASSWORD, "new": "another password"})
    assert done.status_code == 200 and "Password changed." in done.text
    assert site.browser().log_in("alice").status_code == 401
    assert site.browser().log_in("alice", "another password").status_code == 303


def test_changing_the_password_ends_the_other_sessions(site: Site, alice: Browser) -> None:
    elsewhere = site.browser()
    assert elsewhere.log_in("alice").status_code == 303 and elsewhere.logged_in_as() == "alice"
    assert alice.post("/settings/password", {"old": PASSWORD, "new": "another password"}).status_code == 200
    assert alice.logged_in_as() == "alice"  # the session that changed it stays
    assert elsewhere.logged_in_as() is None


def _feed_url(browser: Browser) -> str:
    found = re.search(r'href="(/feeds/u/[^"]+/feed)\.rss"', browser.get("/settings").text)
    assert found
    return found[1] + ".rss"


def test_private_feed_urls_are_revoked_by_a_reset_and_by_a_password_change(site: Site, alice: Browser) -> None:
    reader = site.browser()  # a feed reader: no cookies, the URL is its credential
    first = _feed_url(alice)
    assert reader.get(first).status_code == 200
    reset = alice.post("/settings/feed/reset", {})
    assert reset.status_code == 200 and "the old one no longer works" in reset.text
    second = _feed_url(alice)
    assert second != first
    assert reader.get(first).status_code == 404 and reader.get(second).status_code == 200
    assert alice.post("/settings/password", {"old": PASSWORD, "new": "another password"}).status_code == 200
    third = _feed_url(alice)
    assert reader.get(second).status_code == 404 and reader.get(third).status_code == 200
    assert site.browser().post("/settings/feed/reset", {}).status_code in (401, 403)  # only a member, with CSRF


def test_deleting_the_account_revokes_every_private_feed_url_and_deletes_the_key(site: Site, bob: Browser) -> None:
    reader = site.browser()
    before_reset = _feed_url(bob)  # signed without a key: the member never reset it
    for_you = before_reset.replace("/feeds/u/", "/feeds/for-you/")
    assert bob.post("/settings/feed/reset", {}).status_code == 200
    after_reset = _feed_url(bob)
    assert reader.get(after_reset).status_code == 200
    user = site.store.user_by_name("bob")
    assert user is not None
    key_row = "SELECT value FROM job_state WHERE key = ?", (f"member-feed:{user.id}",)
    assert site.store.db.query(*key_row) != []
    assert bob.post("/account/delete", {"confirm": "bob"}).status_code == 303
    assert site.store.db.query(*key_row) == [], "the signing key outlived the account"
    for url in (before_reset, after_reset, for_you, after_reset.replace("/feeds/u/", "/feeds/for-you/")):
        assert reader.get(url).status_code == 404, url


# -- CSRF: every form post needs the token of the visitor's own page ---------------------------------------------------
@pytest.fixture
def stage(site: Site, alice: Browser, bob: Browser) -> dict[str, str]:
    """Something for every form to act on: papers, bob's comment and submission, an API token of alice's."""
    site.add(paper("2610.40001", "Paper one", "2026-10-05"), paper("2610.40002", "Paper two", "2026-10-05"))
    site.arxiv.papers["2610.40003"] = paper("2610.40003", "Fetched from arXiv", "2026-10-06")
    assert bob.post("/papers/2610.40001/comments", {"body": "bob was here"}).status_code == 303
    assert bob.post("/submit", {"paper": "2610.40002"}).status_code == 303
    assert alice.post("/settings/tokens", {"name": "script"}).status_code == 200
    alice_user = site.store.user_by_name("alice")
    assert alice_user
    (comment,) = site.store.comments_on("2610.40001")
    (token,) = site.store.api_tokens(alice_user.id)
    config = site.app.state.site.config
    digest = subscriptions.subscribe(site.store, config, "alice@example.org", user_id=alice_user.id, confirmed=True)
    shelf = site.store.create_collection(alice_user.id, "shelf", "Shelf", "", False, rules.now_iso())
    assert shelf.id == 1  # the forms below name it by number
    site.store.save_paper(alice_user.id, "2610.40001", rules.now_iso())
    return {"comment": str(comment.id), "token": str(token.id), "subscription": str(digest.id), "collection": "1"}


FORMS: dict[str, tuple[str, dict[str, str]]] = {
    "/papers/{paper_id:path}/vote": ("/papers/2610.40001/vote", {"up": "1"}),
    "/papers/{paper_id:path}/comments": ("/papers/2610.40001/comments", {"body": "forged"}),
    "/papers/{paper_id:path}/remove-submission": ("/papers/2610.40002/remove-submission", {}),
    "/comments/{comment_id}/hide": ("/comments/{comment}/hide", {"reason": "Spam"}),
    "/submit": ("/submit", {"paper": "2610.40003"}),
    "/signup": ("/signup", {"name": "mallory", "password": PASSWORD}),
    "/login": ("/login", {"login": "bob", "password": PASSWORD}),
    "/logout": ("/logout", {}),
    "/u/{name}/block": ("/u/bob/block", {}),
    "/settings/password": ("/settings/password", {"old": PASSWORD, "new": "a new password"}),
    "/settings/feed/reset": ("/settings/feed/reset", {}),
    "/settings/tokens": ("/settings/tokens", {"name": "forged"}),
    "/settings/tokens/{token_id}/revoke": ("/settings/tokens/{token}/revoke", {}),
    "/subscribe": ("/subscribe", {"email": "someone@example.org"}),
    "/u/{name}/role": ("/u/bob/role", {"role": "moderator"}),
    "/for-you/blend": ("/for-you/blend", {"weight": "100"}),
    "/settings/subscriptions/{subscriber_id}": (
        "/settings/subscriptions/{subscription}",
        {"frequency": "weekly", "include_trending": "1"},
    ),
    "/library/{paper_id:path}/save": ("/library/2610.40002/save", {}),
    "/library/{paper_id:path}/unsave": ("/library/2610.40001/unsave", {}),
    "/library/{paper_id:path}/entry": ("/library/2610.40001/entry", {"add_tags": "forged", "note": "forged"}),
    "/library/{paper_id:path}/rate": ("/library/2610.40001/rate", {"value": "1"}),
    "/library/import": ("/library/import", {"text": "2610.40002"}),
    "/collections": ("/collections", {"name": "Forged"}),
    "/collections/add": ("/collections/add", {"collection_id": "1", "paper": "2610.40001"}),
    "/collections/{collection_id}/edit": ("/collections/{collection}/edit", {"name": "Forged", "public": "1"}),
    "/collections/{collection_id}/delete": ("/collections/{collection}/delete", {}),
    "/collections/{collection_id}/papers": ("/collections/{collection}/papers", {"paper": "2610.40001"}),
}
# The RFC 8058 one-click unsubscribe is posted by mail providers with no cookies: its signed token is the credential.
CSRF_EXEMPT = {"/unsubscribe"}
# Posts that need an upload or a member who is not the only admin: tests/web/test_web_library.py checks their CSRF.
CSRF_TESTED_IN_LIBRARY = {"/account/restore", "/account/delete"}


def test_every_form_route_is_covered_by_the_csrf_test(site: Site) -> None:
    # FastAPI 0.165 wraps included routers; their own routes carry the full paths.
    routes = [r for top in site.app.routes for r in getattr(getattr(top, "original_router", None), "routes", [top])]
    posts = {r.path for r in routes if "POST" in (getattr(r, "methods", None) or ()) and not r.path.startswith("/api/")}
    assert "/api/papers/{paper_id:path}/vote" in {r.path for r in routes}  # the walk sees the included routers
    assert posts == set(FORMS) | CSRF_EXEMPT | CSRF_TESTED_IN_LIBRARY


@pytest.mark.parametrize("route", sorted(FORMS))
def test_form_posts_without_the_right_csrf_token_are_refused_and_change_nothing(
    site: Site, alice: Browser, bob: Browser, stage: dict[str, str], route: str
) -> None:
    path, data = FORMS[route]
    path = path.format(**stage)
    before = snapshot(site.store)
    bobs_token = bob.csrf()  # valid, but for bob's session: what a forging page could at best have
    for token in ("", "0" * 40, bobs_token):
        refused = alice.post(path, data, csrf=token)
        assert refused.status_code == 403, (token, refused.text)
        assert "the form expired or came from another site" in refused.text
    no_field = alice.http.post(path, data=data, follow_redirects=False)
    assert no_field.status_code == 403
    assert snapshot(site.store) == before
    assert alice.logged_in_as() == "alice"
    # The same post with alice's own token goes through (and changes something).
    accepted = alice.post(path, data)
    assert accepted.status_code in (200, 303), accepted.text
    assert snapshot(site.store) != before


def test_get_never_mutates(site: Site, alice: Browser, bob: Browser, stage: dict[str, str]) -> None:
    before = snapshot(site.store)
    csrf = alice.csrf()
    answer = alice.get(f"/papers/2610.40001/vote?up=1&csrf={csrf}", follow_redirects=False)
    assert (answer.status_code, answer.headers["location"]) == (303, "/papers/2610.40001")
    for path in ("/logout", "/u/bob/block", f"/comments/{stage['comment']}/hide", "/settings/tokens"):
        assert alice.get(f"{path}?csrf={csrf}", follow_redirects=False).status_code == 405, path
    assert alice.get(f"/submit?paper=2610.40003&csrf={csrf}").status_code == 200
    assert snapshot(site.store) == before
    assert alice.logged_in_as() == "alice"


# -- rate limits -------------------------------------------------------------------------------------------------------
def test_the_eleventh_login_attempt_is_429_with_retry_after(site: Site, alice: Browser) -> None:
    browser = site.browser()
    for _ in range(10):
        assert browser.log_in("alice", "wrong password").status_code == 401
    answer = browser.log_in("alice")  # even with the right password
    assert answer.status_code == 429
    assert answer.headers["retry-after"] == "240"  # the 300 s window started 60 s ago
    assert "<h1>Slow down</h1>" in answer.text
    assert browser.logged_in_as() is None


def test_comments_and_submissions_are_rate_limited(site: Site, alice: Browser) -> None:
    site.add(paper("2610.50001", "Talked about", "2026-10-05"))
    for i in range(10):
        assert alice.post("/papers/2610.50001/comments", {"body": f"thought {i}"}).status_code == 303
    answer = alice.post("/papers/2610.50001/comments", {"body": "one more"})
    assert (answer.status_code, answer.headers["retry-after"]) == (429, "540")
    assert len(site.store.comments_on("2610.50001")) == 10
    assert alice.post("/submit", {"paper": "2610.50001"}).status_code == 303
    for _ in range(19):  # duplicates are attempts too
        assert alice.post("/submit", {"paper": "2610.50001"}).status_code == 422
    answer = alice.post("/submit", {"paper": "2610.50001"})
    assert (answer.status_code, answer.headers["retry-after"]) == (429, "3540")


def test_the_sixth_sign_up_from_one_address_is_429(site: Site) -> None:
    for i in range(5):
        assert site.browser().sign_up(f"member{i}").status_code == 303
    answer = site.browser().sign_up("member5")
    assert (answer.status_code, answer.headers["retry-after"]) == (429, "3540")
    assert site.store.count_users() == 5


def test_a_site_with_sign_ups_off_takes_no_new_members(site_with: Callable[..., Site]) -> None:
    closed = site_with(PAPERFEED_SIGNUPS="false")
    answer = closed.browser().sign_up("alice")
    assert answer.status_code == 422 and "this site does not take new sign-ups" in answer.text
    assert closed.store.count_users() == 0


# -- votes, comments, submissions -------------------------------------------------------------------------------------
def test_upvote_once_withdraw_and_see_counts_in_lists(site: Site, alice: Browser, bob: Browser) -> None:
    site.add(paper("2610.60001", "Votable", "2026-10-05"), paper("2610.60002", "Other", "2026-10-05"))
    for _ in range(2):
        assert alice.post("/papers/2610.60001/vote", {"up": "1"}).status_code == 303
    assert site.store.db.query("SELECT count(*) FROM votes")[0][0] == 1
    assert bob.post("/papers/2610.60001/vote", {"up": "1"}).status_code == 303
    feed = alice.get("/papers/date/2026-10-05")
    assert listed(feed) == ["2610.60001", "2610.60002"]
    assert re.search(
        r'value="0" aria-pressed="true" aria-label="Withdraw upvote"[^>]*>\s*<span[^>]*>▲</span> '
        r'<span class="vote-count">2</span>',
        feed.text,
    )
    assert alice.post("/papers/2610.60001/vote", {"up": "0"}).status_code == 303
    assert alice.post("/papers/2610.60001/vote", {"up": "0"}).status_code == 303
    page = alice.get("/papers/2610.60001").text
    assert 'aria-pressed="false"' in page and '<span class="vote-count">1</span>' in page
    assert site.store.voted(site.store.user_by_name("bob").id, ["2610.60001"]) == {"2610.60001"}  # type: ignore[union-attr]
    anonymous = site.browser()
    assert anonymous.post("/papers/2610.60001/vote", {"up": "1"}).status_code == 401
    assert alice.post("/papers/2699.99999/vote", {"up": "1"}).status_code == 404


def test_comments_render_markdown_safely_and_are_counted(site: Site, alice: Browser) -> None:
    site.add(paper("2610.70001", "Discussed", "2026-10-05"))
    body = (
        "**Nice** result, see [the code](https://example.org/x) and $a_b * c$.\n\n"
        '<script>alert(1)</script> <img src=x onerror="alert(2)"> [click](javascript:alert(3))'
    )
    answer = alice.post("/papers/2610.70001/comments", {"body": body})
    (comment,) = site.store.comments_on("2610.70001")
    assert answer.headers["location"] == f"/papers/2610.70001#comment-{comment.id}"
    page = alice.get("/papers/2610.70001").text
    rendered = page.split('<div class="comment-body math" dir="auto">', 1)[1].split("</div>", 1)[0]
    assert "<strong>Nice</strong>" in rendered
    assert '<a href="https://example.org/x" rel="nofollow ugc noopener">the code</a>' in rendered
    assert "$a_b * c$" in rendered
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in rendered
    assert "<script" not in rendered and "<img" not in rendered
    assert "[click](javascript:alert(3))" in rendered and 'href="javascript' not in page  # left as text
    assert '<h2 id="comments-h">Comments (1)</h2>' in page
    assert 'class="comment-count">1<' in alice.get("/papers/date/2026-10-05").text
    empty = alice.post("/papers/2610.70001/comments", {"body": "   "})
    assert empty.status_code == 422 and "<strong>body</strong>: comment is empty" in empty.text


@pytest.mark.parametrize(
    "ref", ["2611.01234", "2611.01234v2", "arXiv:2611.01234", "https://arxiv.org/abs/2611.01234v1"]
)
def test_submit_by_id_url_or_prefix(site: Site, alice: Browser, ref: str) -> None:
    site.arxiv.papers["2611.01234"] = paper("2611.01234", "Brand new", "2026-11-02")
    answer = alice.post("/submit", {"paper": ref})
    assert (answer.status_code, answer.headers["location"]) == (303, "/papers/2611.01234")
    assert site.arxiv.asked == ["2611.01234"]
    today = datetime.now(UTC).date().isoformat()
    feed = alice.get(f"/papers/date/{today}")
    assert listed(feed) == ["2611.01234"]
    assert 'submitted by <a href="/u/alice">alice</a>' in feed.text
    assert 'submitted here by <a href="/u/alice">alice</a>' in alice.get("/papers/2611.01234").text


def test_submit_refusals(site: Site, alice: Browser, bob: Browser) -> None:
    site.add(paper("2610.80001", "Already here", "2026-10-05"))
    assert bob.post("/submit", {"paper": "2610.80001"}).status_code == 303
    assert site.arxiv.asked == []  # a stored paper is not fetched again
    twice = alice.post("/submit", {"paper": "https://arxiv.org/abs/2610.80001"})
    assert twice.status_code == 422
    assert '<p id="paper-error" class="error" role="alert">2610.80001 was already submitted by bob</p>' in twice.text
    assert 'value="https://arxiv.org/abs/2610.80001"' in twice.text
    unknown = alice.post("/submit", {"paper": "2611.09999"})
    assert unknown.status_code == 404 and "arXiv has no paper 2611.09999" in unknown.text
    garbage = alice.post("/submit", {"paper": "a paper about cats"})
    assert garbage.status_code == 422 and "give an arXiv id like" in garbage.text
    assert site.store.get_papers(["2611.09999"]) == {}
    anonymous = site.browser()
    assert anonymous.get("/submit", follow_redirects=False).headers["location"] == "/login?next=/submit"
    assert anonymous.post("/submit", {"paper": "2610.80001"}).status_code == 401


# -- moderation --------------------------------------------------------------------------------------------------------
@pytest.fixture
def dead_port() -> Iterator[int]:
    """A loopback port where nothing listens: arXiv, unreachable (connections are refused at once)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        yield probe.getsockname()[1]  # bound, never listening: refused


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A loopback port that takes connections and never answers: arXiv, hanging."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        yield listener.getsockname()[1]


def _real_arxiv_at(site: Site, port: int, tmp_path: Path) -> None:
    """Give the site the fetcher it has in production, pointed at ``port`` on loopback."""
    config = load_config(
        env={"PAPERFEED_DATA_DIR": str(tmp_path), "PAPERFEED_ARXIV_API_URL": f"http://127.0.0.1:{port}/api/query"}
    )
    site.app.state.site.fetch_paper = default_fetcher(config)


RAW_TEXT = ("ConnectError", "ReadTimeout", "Errno", "127.0.0.1", "giving up", "retries", "Traceback")


@pytest.mark.parametrize("hanging", [False, True], ids=["refused", "hanging"])
def test_submitting_while_arxiv_is_unreachable_fails_fast_and_says_so(
    site: Site,
    alice: Browser,
    dead_port: int,
    silent_port: int,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    hanging: bool,
) -> None:
    """One try, a short timeout, and a sentence naming arXiv on the form (no exception text); JSON alike."""
    monkeypatch.setattr(app_module, "SUBMIT_TIMEOUT", 1.0)
    _real_arxiv_at(site, silent_port if hanging else dead_port, tmp_path)
    started = time.monotonic()
    answer = alice.post("/submit", {"paper": "2611.07777"})
    took = time.monotonic() - started
    assert took < (2.5 if hanging else 1.0), f"waited {took:.1f} s"
    assert answer.status_code == 502
    assert "arXiv did not answer when we looked up 2611.07777; try again in a few minutes" in answer.text
    assert 'value="2611.07777"' in answer.text
    assert not [raw for raw in RAW_TEXT if raw in answer.text]
    token = rules.create_api_token(site.store, site.store.user_by_name("alice"), "script")  # type: ignore[arg-type]
    scripted = site.browser().http.post(
        "/api/submit", json={"paper": "2611.07777"}, headers={"Authorization": f"Bearer {token}"}
    )
    assert scripted.status_code == 502 and scripted.json()["error"].startswith("arXiv did not answer")
    assert site.store.get_papers(["2611.07777"]) == {}


def test_the_submit_timeout_is_short() -> None:
    assert app_module.SUBMIT_TIMEOUT <= 10


def test_moderators_hide_comments_remove_submissions_and_block(site: Site, alice: Browser, bob: Browser) -> None:
    site.add(paper("2610.90001", "Moderated", "2026-10-05"))
    carol = site.browser()
    carol.sign_up("carol")
    moderator = site.store.user_by_name("carol")
    assert moderator
    site.store.set_role(moderator.id, "moderator")
    bob.post("/papers/2610.90001/comments", {"body": "spam spam spam"})
    bob.post("/papers/2610.90001/comments", {"body": "a fair point"})
    spam = site.store.comments_on("2610.90001")[0]
    bob.post("/submit", {"paper": "2610.90001"})
    today = datetime.now(UTC).date().isoformat()

    # A member may do none of it.
    before = snapshot(site.store)
    assert bob.post(f"/comments/{spam.id}/hide", {"reason": "Spam"}).status_code == 403
    assert bob.post("/papers/2610.90001/remove-submission").status_code == 403
    assert bob.post("/u/alice/block").status_code == 403
    assert snapshot(site.store) == before
    assert "Hide</button>" not in bob.get("/papers/2610.90001").text

    # A moderator hides the spam: gone for readers, the count drops; moderators still see it, marked.
    assert 'class="comment-count">2<' in site.browser().get(f"/papers/date/{today}").text
    assert carol.post(f"/comments/{spam.id}/hide", {"reason": "Spam"}).status_code == 303
    public = site.browser().get("/papers/2610.90001").text
    assert "spam spam spam" not in public and "a fair point" in public
    assert '<h2 id="comments-h">Comments (1)</h2>' in public
    assert 'class="comment-count">1<' in site.browser().get(f"/papers/date/{today}").text
    assert "<strong>hidden</strong> (Spam)" in carol.get("/papers/2610.90001").text

    # ... removes the submission: off today's feed, no "submitted by".
    assert carol.post("/papers/2610.90001/remove-submission").status_code == 303
    assert listed(site.browser().get(f"/papers/date/{today}")) == []
    assert "submitted here by" not in site.browser().get("/papers/2610.90001").text

    # ... blocks bob, but may not block the admin.
    assert carol.post("/u/alice/block").status_code == 403
    assert carol.post("/u/bob/block").status_code == 303
    assert site.store.user_by_name("bob").blocked  # type: ignore[union-attr]
    assert "a fair point" not in site.browser().get("/papers/2610.90001").text  # a blocked member's words go too
    assert alice.post(f"/comments/{spam.id}/hide", {"show": "1"}).status_code == 303  # admins moderate too
    assert site.store.get_comment(spam.id).hidden_at is None


def test_admins_give_and_take_the_moderator_role(site: Site, alice: Browser, bob: Browser) -> None:
    assert bob.post("/u/alice/role", {"role": "member"}).status_code == 403  # bob is a member
    assert alice.post("/u/bob/role", {"role": "moderator"}).status_code == 303
    assert site.store.user_by_name("bob").role == "moderator"  # type: ignore[union-attr]
    assert bob.post("/u/alice/role", {"role": "member"}).status_code == 403  # moderators cannot change roles
    assert alice.post("/u/bob/role", {"role": "emperor"}).status_code == 422
    assert alice.post("/u/alice/role", {"role": "member"}).status_code == 422  # the last admin stays
    assert alice.post("/u/bob/role", {"role": "member"}).status_code == 303
