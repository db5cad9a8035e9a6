"""Subscribing on the site: the feed page's form, the confirmation mail (sent over real SMTP on loopback) and its
link, one-click unsubscribe (RFC 8058) without logging in, and a member's settings."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from paperfeed.digests.subscriptions import subscribe
from paperfeed.tokens import sign
from test_subscriptions import SITE, Sink, free_port, link_token, running_sink
from web_support import Site, paper


@pytest.fixture(scope="module")
def smtp() -> Iterator[tuple[Sink, int]]:
    with running_sink() as running:
        yield running


@pytest.fixture
def site(site_with: Callable[..., Site], smtp: tuple[Sink, int]) -> Site:
    smtp[0].reset()
    return site_with(
        PAPERFEED_BASE_URL=SITE,
        PAPERFEED_SECRET_KEY="test-secret-key",
        PAPERFEED_SMTP_HOST="127.0.0.1",
        PAPERFEED_SMTP_PORT=str(smtp[1]),
    )


def _wait_for_mail(sink: Sink, address: str) -> None:
    for _ in range(100):
        if sink.to(address):
            return
        time.sleep(0.05)
    raise AssertionError(f"no mail to {address}")


def test_subscribe_from_the_feed_confirm_and_unsubscribe_in_one_click(site: Site, smtp: tuple[Sink, int]) -> None:
    sink = smtp[0]
    site.add(paper("2610.50001", "A paper", "2026-10-05"))
    visitor = site.browser(base_url="https://testserver")
    home = visitor.get("/papers/date/2026-10-05")
    assert "Get trending papers in your email inbox" in home.text and 'action="/subscribe"' in home.text
    answer = visitor.post("/subscribe", {"email": "reader@example.org", "frequency": "weekly"})
    assert answer.status_code == 200 and "Check your inbox" in answer.text
    _wait_for_mail(sink, "reader@example.org")
    (mail,) = sink.to("reader@example.org")
    subscriber = site.store.subscriber_by_email("reader@example.org")
    assert subscriber is not None and subscriber.status == "pending" and subscriber.frequency == "weekly"

    confirmed = visitor.get(f"/subscribe/confirm?token={link_token(mail, '/subscribe/confirm')}")
    assert confirmed.status_code == 200 and "Subscription confirmed" in confirmed.text
    assert site.store.subscriber_by_email("reader@example.org").status == "active"  # type: ignore[union-attr]

    token = sign("test-secret-key", "unsubscribe", f"{subscriber.id}:reader@example.org")
    page = visitor.get(f"/unsubscribe?token={token}")  # a link scanner's GET changes nothing
    assert page.status_code == 200 and "Unsubscribe from paperfeed digests?" in page.text
    assert site.store.subscriber_by_email("reader@example.org").status == "active"  # type: ignore[union-attr]
    # What a mail provider sends for List-Unsubscribe-Post: no cookies, no CSRF token.
    provider = site.browser(base_url="https://testserver")
    one_click = provider.http.post(f"/unsubscribe?token={token}", data={"List-Unsubscribe": "One-Click"})
    assert one_click.status_code == 200 and one_click.json()["status"] == "unsubscribed"
    assert site.store.subscriber_by_email("reader@example.org").status == "unsubscribed"  # type: ignore[union-attr]


def test_forged_tokens_are_refused(site: Site) -> None:
    visitor = site.browser(base_url="https://testserver")
    assert visitor.get("/subscribe/confirm?token=nonsense").status_code == 422
    forged = sign("another-secret", "unsubscribe", "1:reader@example.org")
    answer = visitor.http.post(f"/unsubscribe?token={forged}", data={"List-Unsubscribe": "One-Click"})
    assert answer.status_code == 422 and "invalid or expired link" in answer.text


def test_bad_addresses_are_refused_with_a_message(site: Site) -> None:
    answer = site.browser(base_url="https://testserver").post("/subscribe", {"email": "not an address"})
    assert answer.status_code == 422 and 'class="error"' in answer.text
    assert site.store.subscriber_by_email("not an address") is None


def test_members_manage_their_digests_in_settings(site: Site, smtp: tuple[Sink, int]) -> None:
    member = site.browser(base_url="https://testserver")
    assert member.sign_up("ada", email="ada@example.org").status_code == 303
    assert member.post("/subscribe", {"email": "ada@example.org"}).status_code == 200
    settings = member.get("/settings")
    (subscriber,) = site.store.subscribers(statuses=("pending", "active"), user_id=site.store.user_by_name("ada").id)  # type: ignore[union-attr]
    assert f'action="/settings/subscriptions/{subscriber.id}"' in settings.text
    assert "/feeds/u/" in settings.text  # the member's private feed
    saved = member.post(
        f"/settings/subscriptions/{subscriber.id}",
        {
            "frequency": "weekly",
            "topics": "cat:cs.LG\nquery:diffusion models",
            "max_papers": "5",
            "send_hour": "7",
            "timezone": "Europe/Paris",
            "active": "1",
        },
    )
    assert saved.status_code == 303
    updated = site.store.subscriber(subscriber.id)
    assert updated is not None and updated.frequency == "weekly" and not updated.include_trending
    assert [t.text for t in updated.topics] == ["cat:cs.LG", "query:diffusion models"]
    assert (updated.max_papers, updated.send_hour, updated.timezone) == (5, 7, "Europe/Paris")
    # Someone else's subscription is not found (ids cannot be probed).
    other = site.browser(base_url="https://testserver")
    assert other.sign_up("bob").status_code == 303
    assert other.post(f"/settings/subscriptions/{subscriber.id}", {"frequency": "daily"}).status_code == 404


def test_the_api_subscribes_without_cookies(site: Site, smtp: tuple[Sink, int]) -> None:
    client = site.browser(base_url="https://testserver").http
    answer = client.post("/api/subscriptions", json={"email": "bot@example.org", "topics": ["cat:cs.CL"]})
    assert answer.status_code == 200 and answer.json() == {
        "email": "bot@example.org",
        "status": "pending",
        "confirmation": "sent",
    }
    bad = client.post("/api/subscriptions", json={"email": "bot2@example.org", "topics": ["nonsense"]})
    assert bad.status_code == 422 and bad.json()["where"] == "topic"


# --- never claiming a send that did not happen -------------------------------------------------------------------


def test_a_mail_server_that_is_down_is_said_so_on_the_page_and_in_the_log(
    site_with: Callable[..., Site], caplog: pytest.LogCaptureFixture
) -> None:
    down = site_with(PAPERFEED_SMTP_HOST="127.0.0.1", PAPERFEED_SMTP_PORT=str(free_port()))  # nothing listens
    visitor = down.browser(base_url="https://testserver")
    with caplog.at_level(logging.ERROR, logger="paperfeed"):
        answer = visitor.post("/subscribe", {"email": "reader@example.org", "frequency": "weekly"})
    assert answer.status_code == 200
    assert "The confirmation mail could not be sent" in answer.text and "We sent" not in answer.text
    assert "could not be reached" in answer.text and "pending" in answer.text
    assert "ConnectionRefusedError" not in answer.text  # exception text is for the operator's log, not the page
    (logged,) = [r.getMessage() for r in caplog.records if "confirmation mail to reader@example.org" in r.getMessage()]
    assert "not sent" in logged and "ConnectionRefusedError" in logged and "127.0.0.1" in logged
    subscriber = down.store.subscriber_by_email("reader@example.org")
    assert subscriber is not None and subscriber.status == "pending"
    assert down.store.latest_delivery("confirm", subscriber.id)[0] == "pending"  # type: ignore[index]  # retried later
    script = down.browser(base_url="https://testserver").http  # no cookies: no CSRF token needed
    api = script.post("/api/subscriptions", json={"email": "bot@example.org"})
    assert api.status_code == 200 and api.json()["confirmation"] == "not sent"
    assert "could not be reached" in api.json()["confirmation_error"]


def test_a_refused_confirmation_is_not_called_sent(site: Site, smtp: tuple[Sink, int]) -> None:
    sink = smtp[0]
    sink.refuse["gone@example.org"] = "550 5.1.1 No such mailbox"
    answer = site.browser(base_url="https://testserver").post("/subscribe", {"email": "gone@example.org"})
    assert (
        "could not be sent" in answer.text
        and "refused it (SMTP 550: gone@example.org: 5.1.1 No such mailbox)" in answer.text
    )
    assert sink.to("gone@example.org") == []


def test_the_local_outbox_completes_the_double_opt_in_without_a_mail_server(
    site_with: Callable[..., Site], tmp_path: Path
) -> None:
    kept = site_with(PAPERFEED_MAIL_TRANSPORT="outbox", PAPERFEED_BASE_URL=SITE)
    visitor = kept.browser(base_url="https://testserver")
    assert visitor.get("/outbox").status_code == 200  # empty, and says how it fills
    answer = visitor.post("/subscribe", {"email": "reader@example.org"})
    assert "Confirm in the outbox" in answer.text and 'href="/outbox"' in answer.text
    assert "We sent" not in answer.text
    files = list((tmp_path / "data" / "outbox").glob("*.eml"))
    assert len(files) == 1
    listed = visitor.get("/outbox", headers={"Accept": "application/json"}).json()
    (message,) = listed
    assert message["to"] == "reader@example.org" and "Confirm" in message["subject"]
    (confirm_link,) = [link for link in message["links"] if "/subscribe/confirm?token=" in link]
    page = visitor.get("/outbox")
    assert confirm_link.replace("&", "&amp;") in page.text or confirm_link in page.text
    done = visitor.get(confirm_link.removeprefix(SITE))
    assert done.status_code == 200 and "Subscription confirmed" in done.text
    assert kept.store.subscriber_by_email("reader@example.org").status == "active"  # type: ignore[union-attr]
    api = kept.browser(base_url="https://testserver").http.post("/api/subscriptions", json={"email": "bot@example.org"})
    assert api.json()["confirmation"] == "kept in the local outbox"


def test_there_is_no_outbox_page_where_mail_goes_over_smtp(site: Site) -> None:
    assert site.browser().get("/outbox").status_code == 404


def test_subscribing_again_from_settings_keeps_the_digest_and_pending_says_pending(
    site: Site, smtp: tuple[Sink, int]
) -> None:
    member = site.browser(base_url="https://testserver")
    assert member.sign_up("ada", email="ada@example.org").status_code == 303
    assert member.post("/subscribe", {"email": "ada@example.org", "frequency": "weekly"}).status_code == 200
    settings = member.get("/settings").text
    assert "Pending confirmation" in settings and "Nothing is sent to this address until" in settings
    assert ">Active<" not in settings  # the status select does not claim it is active
    # The settings page's own form posts the address alone: the weekly digest stays weekly.
    assert member.post("/subscribe", {"email": "ada@example.org"}).status_code == 200
    assert site.store.subscriber_by_email("ada@example.org").frequency == "weekly"  # type: ignore[union-attr]
    script = site.browser(base_url="https://testserver").http  # not the member: a pending address keeps its settings
    answer = script.post("/api/subscriptions", json={"email": "ada@example.org", "send_hour": 6})
    assert answer.status_code == 200
    kept = site.store.subscriber_by_email("ada@example.org")
    assert kept is not None and (kept.frequency, kept.send_hour) == ("weekly", 8)
    mail = sink_confirmations(smtp[0], "ada@example.org")
    member.get(f"/subscribe/confirm?token={link_token(mail[-1], '/subscribe/confirm')}")
    assert "Pending confirmation" not in member.get("/settings").text


def sink_confirmations(sink: Sink, address: str) -> list[Any]:
    _wait_for_mail(sink, address)
    return sink.to(address)


def test_the_page_tells_no_stranger_that_an_address_is_subscribed(site: Site, smtp: tuple[Sink, int]) -> None:
    site.store.upsert_papers([paper("2610.50002", "A paper", "2026-10-05")])
    subscribe(site.store, site.app.state.site.config, "known@example.org", confirmed=True)
    answer = site.browser(base_url="https://testserver").post("/subscribe", {"email": "known@example.org"})
    assert answer.status_code == 200 and "Check your inbox" in answer.text
    assert "Already subscribed" not in answer.text and "already gets" not in answer.text
    assert smtp[0].to("known@example.org") == []  # and nothing was sent to it
