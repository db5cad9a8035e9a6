"""Subscriptions: topic and settings validation, double opt-in with a real SMTP server on loopback, signed links.

The SMTP sink (aiosmtpd) and the config helper here are shared with test_delivery.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from paperfeed import tokens
from paperfeed.config import Config, load_config
from paperfeed.digests.smtp import Mailer
from paperfeed.digests.subscriptions import (
    confirm,
    make_settings,
    next_status,
    normalise_email,
    parse_topic,
    send_confirmations,
    subscribe,
    subscriptions_for_user,
    unsubscribe,
    unsubscribe_address,
    update_subscription,
)
from paperfeed.errors import BadInput, NotFound, RateLimited
from paperfeed.store import Store
from paperfeed.store.subscriptions import Topic

SITE = "https://papers.example.org"
SECRET = "test-secret-key"


# --- a real SMTP server ----------------------------------------------------------------------------------------


@dataclass
class Sink:
    """aiosmtpd handler: keeps what it accepts; RCPT replies per address, queued DATA replies, an optional delay
    before RCPT is answered (a slow server: nothing is accepted yet while it waits)."""

    accepted: list[tuple[list[str], bytes]] = field(default_factory=list)
    refuse: dict[str, str] = field(default_factory=dict)
    data_replies: list[str] = field(default_factory=list)
    delay: float = 0.0
    # Once this many are accepted, every further DATA waits until it is set back to None (a server that stalls).
    hold_after: int | None = None

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        if self.delay:
            await asyncio.sleep(self.delay)
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        while self.hold_after is not None and len(self.accepted) >= self.hold_after:
            await asyncio.sleep(0.01)  # one event loop: no other message is accepted between this check and ours
        if self.data_replies:
            return self.data_replies.pop(0)
        self.accepted.append((list(envelope.rcpt_tos), envelope.content))
        return "250 Message accepted"

    def reset(self) -> None:
        self.accepted.clear()
        self.refuse.clear()
        self.data_replies.clear()
        self.delay = 0.0
        self.hold_after = None

    def to(self, address: str) -> list[EmailMessage]:
        return [parse(raw) for rcpt, raw in list(self.accepted) if rcpt == [address]]

    def count_by_recipient(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for rcpt, _ in list(self.accepted):
            for address in rcpt:
                counts[address] = counts.get(address, 0) + 1
        return counts


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextlib.contextmanager
def running_sink() -> Iterator[tuple[Sink, int]]:
    sink = Sink()
    port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield sink, port
    finally:
        controller.stop()


@pytest.fixture(scope="module")
def smtp_server() -> Iterator[tuple[Sink, int]]:
    with running_sink() as running:
        yield running


@pytest.fixture
def sink(smtp_server: tuple[Sink, int]) -> Sink:
    smtp_server[0].reset()
    return smtp_server[0]


def make_config(tmp_path: Path, store_url: str, port: int, **extra: str) -> Config:
    env = {
        "PAPERFEED_DATA_DIR": str(tmp_path),
        "PAPERFEED_DATABASE_URL": store_url,
        "PAPERFEED_SECRET_KEY": SECRET,
        "PAPERFEED_BASE_URL": SITE,
        "PAPERFEED_SMTP_HOST": "127.0.0.1",
        "PAPERFEED_SMTP_PORT": str(port),
        "PAPERFEED_MAIL_FROM": "paperfeed <digest@papers.example.org>",
        **extra,
    }
    return load_config(env=env)


@pytest.fixture
def config(tmp_path: Path, store_url: str, smtp_server: tuple[Sink, int]) -> Config:
    return make_config(tmp_path, store_url, smtp_server[1])


def mailer(config: Config) -> Mailer:
    return Mailer("127.0.0.1", config.smtp_port, "none", None, None, timeout=5)


def parse(raw: bytes) -> EmailMessage:
    message = BytesParser(policy=policy.default).parsebytes(raw)
    assert isinstance(message, EmailMessage)
    return message


def text_of(message: EmailMessage) -> str:
    part = message.get_body(("plain",))
    assert part is not None
    content = part.get_content()
    assert isinstance(content, str)
    return content.replace("\r\n", "\n")


def link_token(message: EmailMessage, path: str) -> str:
    found = re.search(rf"{re.escape(SITE + path)}\?token=(\S+)", text_of(message))
    assert found, text_of(message)
    return found[1]


# --- validation ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("cat:cs.LG", Topic("cat", "cs.LG")),
        ("  category: hep-th ", Topic("cat", "hep-th")),
        ("cat:cond-mat.mes-hall", Topic("cat", "cond-mat.mes-hall")),
        ("author:Ada  Lovelace", Topic("author", "Ada Lovelace")),
        ("AU:José Núñez", Topic("author", "José Núñez")),
        ("query:diffusion models", Topic("query", "diffusion models")),
        ('query: "graph neural" -survey', Topic("query", '"graph neural" -survey')),
        ("q:author:hinton cat:cs.LG", Topic("query", "author:hinton cat:cs.LG")),
    ],
)
def test_parse_topic(text: str, expected: Topic) -> None:
    assert parse_topic(text) == expected


@pytest.mark.parametrize(
    "text",
    ["cs.LG", "tag:ml", "cat:", "cat:cs LG", "cat:1234", "author:x", "author:1234", "query:", "query:   ",
     "query:2401.00002", "query:" + "x" * 201, "cat:cs.LG\nBcc: x@y.org"],
)  # fmt: skip
def test_bad_topics_name_the_topic(text: str) -> None:
    with pytest.raises(BadInput) as info:
        parse_topic(text)
    assert info.value.where == "topic"


def test_topic_forms() -> None:
    assert (Topic("cat", "cs.LG").reason, Topic("query", "diffusion").reason) == ("cat:cs.LG", "query: diffusion")
    assert parse_topic(Topic("author", "Ada Lovelace").text) == Topic("author", "Ada Lovelace")


@pytest.mark.parametrize(
    ("email", "expected"),
    [
        ("reader@example.org", "reader@example.org"),
        ("  Ada.L+digest@Example.ORG ", "Ada.L+digest@example.org"),
        ("a,b@example.org", None),
        ("a b@example.org", None),
        ('"a"@example.org', None),
        ("reader@localhost", None),
        ("reader@example.org\nBcc: victim@example.org", None),
        ("<reader@example.org>", None),
        ("x" * 250 + "@example.org", None),
    ],
)
def test_normalise_email(email: str, expected: str | None) -> None:
    if expected is None:
        with pytest.raises(BadInput) as info:
            normalise_email(email)
        assert info.value.where == "email"
    else:
        assert normalise_email(email) == expected


@pytest.mark.parametrize(
    ("fields", "where"),
    [
        ({"frequency": "hourly"}, "frequency"),
        ({"max_papers": 0}, "max_papers"),
        ({"max_papers": 51}, "max_papers"),
        ({"send_hour": 24}, "send_hour"),
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"timezone": "../../etc/passwd"}, "timezone"),
        ({"topics": ["nonsense"]}, "topic"),
        ({"topics": [f"cat:cs.X{chr(65 + i)}" for i in range(21)]}, "topics"),
        ({"include_trending": False}, "topics"),
    ],
)
def test_bad_settings_name_their_field(fields: dict[str, Any], where: str) -> None:
    with pytest.raises(BadInput) as info:
        make_settings(**fields)
    assert info.value.where == where


def test_settings_order_and_dedupe_topics() -> None:
    topics = ["query:b", "author:Zoe", "cat:cs.LG", "cat:cs.LG", "query:a"]
    settings = make_settings(topics=topics, timezone="Asia/Tokyo")
    assert [t.text for t in settings.topics] == ["cat:cs.LG", "author:Zoe", "query:a", "query:b"]


@pytest.mark.parametrize(
    ("current", "confirmed", "expected"),
    [
        (None, False, "pending"),
        (None, True, "active"),
        ("pending", False, "pending"),
        ("active", False, "active"),
        ("unsubscribed", False, "pending"),
        ("bounced", False, "pending"),
        ("unsubscribed", True, "active"),
    ],
)
def test_next_status(current: str | None, confirmed: bool, expected: str) -> None:
    assert next_status(current, confirmed) == expected


# --- double opt-in ---------------------------------------------------------------------------------------------


def test_nothing_is_sent_before_the_confirmation_link_is_followed(store: Store, config: Config, sink: Sink) -> None:
    subscriber = subscribe(store, config, "Reader@Example.org", topics=["cat:cs.LG"])
    assert (subscriber.status, subscriber.email, subscriber.confirmed_at) == ("pending", "Reader@example.org", None)
    assert sink.accepted == []  # queued, not sent: the web request does not wait for SMTP
    with mailer(config) as m:
        assert send_confirmations(store, config, m) == 1
        assert send_confirmations(store, config, m) == 0  # once
    [message] = sink.to("Reader@example.org")
    assert "Confirm" in str(message["Subject"])
    assert message["List-Unsubscribe"] is None
    assert re.fullmatch(r"<[0-9a-f]{32}@papers\.example\.org>", str(message["Message-ID"]))
    token = link_token(message, "/subscribe/confirm")
    html = message.get_body(("html",))
    assert html is not None and f'href="{SITE}/subscribe/confirm?token={token}"' in str(html.get_content())

    assert store.subscriber(subscriber.id).status == "pending"  # type: ignore[union-attr]
    confirmed = confirm(store, config, token)
    assert (confirmed.status, confirmed.id) == ("active", subscriber.id)
    assert confirmed.confirmed_at is not None
    assert confirm(store, config, token).status == "active"  # a second click changes nothing
    assert len(sink.accepted) == 1


def test_forged_and_foreign_tokens_are_refused(store: Store, config: Config) -> None:
    ada = subscribe(store, config, "ada@example.org")
    bob = subscribe(store, config, "bob@example.org")
    forged = [
        tokens.sign("another-secret", "confirm", f"{ada.id}:{ada.email}"),
        tokens.sign(SECRET, "unsubscribe", f"{ada.id}:{ada.email}"),  # right key, wrong purpose
        tokens.sign(SECRET, "confirm", f"{ada.id}:{bob.email}"),  # Bob's address on Ada's row
        tokens.sign(SECRET, "confirm", f"{bob.id}:{ada.email}"),
        tokens.sign(SECRET, "confirm", f"{ada.id}"),
        tokens.sign(SECRET, "confirm", f"x{ada.id}:{ada.email}"),
        tokens.sign(SECRET, "confirm", f"{ada.id}:{ada.email}", issued=int(time.time()) - 8 * 86400),  # expired
        tokens.sign(SECRET, "confirm", f"{ada.id}:{ada.email}")[:-2] + "AA",
        "",
        "not.a.token",
    ]
    for token in forged:
        with pytest.raises(BadInput) as info:
            confirm(store, config, token)
        assert info.value.where == "token"
    assert [store.subscriber(s.id).status for s in (ada, bob)] == ["pending", "pending"]  # type: ignore[union-attr]
    assert confirm(store, config, tokens.sign(SECRET, "confirm", f"{bob.id}:{bob.email}")).email == bob.email


def test_unsubscribe_link_and_resubscribing(store: Store, config: Config, sink: Sink) -> None:
    active = subscribe(store, config, "reader@example.org", topics=["cat:cs.LG"], confirmed=True)
    assert active.status == "active" and active.confirmed_at is not None
    # Subscribing an active address again (anyone can type it) changes nothing and sends nothing.
    again = subscribe(store, config, "reader@example.org", frequency="weekly", topics=["author:Ada Lovelace"])
    assert (again.id, again.status, again.frequency) == (active.id, "active", "daily")
    assert [t.text for t in again.topics] == ["cat:cs.LG"]
    # The operator may change it.
    changed = subscribe(store, config, "reader@example.org", frequency="weekly", confirmed=True)
    assert (changed.id, changed.status, changed.frequency) == (active.id, "active", "weekly")
    with mailer(config) as m:
        assert send_confirmations(store, config, m) == 0

    token = tokens.sign(SECRET, "unsubscribe", f"{active.id}:{active.email}")
    assert unsubscribe(store, config, token).status == "unsubscribed"
    assert unsubscribe(store, config, token).status == "unsubscribed"  # the one-click POST may come twice
    with pytest.raises(BadInput):  # an old confirmation link does not undo an unsubscribe
        confirm(store, config, tokens.sign(SECRET, "confirm", f"{active.id}:{active.email}"))

    back = subscribe(store, config, "READER@example.org")
    assert (back.id, back.status) == (active.id, "pending")  # must confirm again
    with mailer(config) as m:
        assert send_confirmations(store, config, m) == 1
    assert confirm(store, config, link_token(sink.to("reader@example.org")[-1], "/subscribe/confirm")).status == (
        "active"
    )
    assert unsubscribe_address(store, "reader@example.org").status == "unsubscribed"
    with pytest.raises(NotFound):
        unsubscribe_address(store, "nobody@example.org")


def test_asking_again_while_pending_resends_the_confirmation(store: Store, config: Config, sink: Sink) -> None:
    subscribe(store, config, "slow@example.org")
    with mailer(config) as m:
        assert send_confirmations(store, config, m) == 1
        subscribe(store, config, "slow@example.org")  # lost it: a new request is a new message
        assert send_confirmations(store, config, m) == 1
    first, second = sink.to("slow@example.org")
    assert first["Message-ID"] != second["Message-ID"]


def test_confirmation_requests_are_rate_limited_per_address(store: Store, config: Config) -> None:
    for _ in range(5):
        subscribe(store, config, "target@example.org")
    with pytest.raises(RateLimited):
        subscribe(store, config, "Target@example.org")
    subscribe(store, config, "other@example.org")
    subscribe(store, config, "target@example.org", confirmed=True)  # sends nothing, so it is not limited


def test_members_manage_only_their_own_subscriptions(store: Store, config: Config) -> None:
    ada = store.create_user("ada", "ada@example.org", "x", "member", "2026-11-20T00:00:00+00:00")
    eve = store.create_user("eve", "eve@example.org", "x", "member", "2026-11-20T00:00:00+00:00")
    mine = subscribe(store, config, "ada@example.org", user_id=ada.id, confirmed=True)
    assert [s.id for s in subscriptions_for_user(store, ada.id)] == [mine.id]
    assert subscriptions_for_user(store, eve.id) == []
    changed = update_subscription(store, mine.id, ada.id, max_papers=5, topics=["cat:cs.CL"], timezone="Europe/Paris")
    assert (changed.max_papers, changed.timezone) == (5, "Europe/Paris")
    assert [t.text for t in changed.topics] == ["cat:cs.CL"]
    assert changed.frequency == mine.frequency
    with pytest.raises(NotFound):
        update_subscription(store, mine.id, eve.id, max_papers=1)
    with pytest.raises(NotFound):
        update_subscription(store, 999, ada.id, max_papers=1)
    with pytest.raises(BadInput) as info:
        update_subscription(store, mine.id, ada.id, status="active")
    assert info.value.where == "status"
    with pytest.raises(BadInput) as info:
        update_subscription(store, mine.id, ada.id, send_hour=-1)
    assert info.value.where == "send_hour"


def test_confirmation_mail_text_is_readable(store: Store, config: Config, sink: Sink) -> None:
    subscribe(store, config, "reader@example.org")
    with mailer(config) as m:
        send_confirmations(store, config, m)
    [message] = sink.to("reader@example.org")
    body = text_of(message)
    assert "reader@example.org" in body and "ignore this email" in body


def test_members_pause_and_resume_with_a_new_confirmation(store: Store, config: Config, sink: Sink) -> None:
    ada = store.create_user("ada", "ada@example.org", "x", "member", "2026-11-20T00:00:00+00:00")
    mine = subscribe(store, config, "ada@example.org", user_id=ada.id, confirmed=True)
    assert update_subscription(store, mine.id, ada.id, active=True).status == "active"  # nothing to resume
    assert update_subscription(store, mine.id, ada.id, active=False, max_papers=3).status == "unsubscribed"
    with pytest.raises(BadInput) as info:
        update_subscription(store, mine.id, ada.id, active=True)
    assert info.value.where == "active"
    resumed = update_subscription(store, mine.id, ada.id, config=config, active=True, frequency="weekly")
    assert (resumed.status, resumed.frequency, resumed.max_papers) == ("pending", "weekly", 3)
    with mailer(config) as m:
        assert send_confirmations(store, config, m) == 1
    assert confirm(store, config, link_token(sink.to("ada@example.org")[0], "/subscribe/confirm")).status == "active"


def test_a_member_cannot_claim_someone_elses_active_subscription(store: Store, config: Config) -> None:
    eve = store.create_user("eve", "eve@example.org", "x", "member", "2026-11-20T00:00:00+00:00")
    theirs = subscribe(store, config, "victim@example.org", confirmed=True)
    again = subscribe(store, config, "victim@example.org", user_id=eve.id, max_papers=1)
    assert (again.id, again.status, again.user_id, again.max_papers) == (theirs.id, "active", None, 10)
    assert subscriptions_for_user(store, eve.id) == []
    with pytest.raises(NotFound):
        update_subscription(store, theirs.id, eve.id, active=False)
    # A new address (confirmation pending) is the requester's: the confirmation proves it.
    fresh = subscribe(store, config, "eve2@example.org", user_id=eve.id)
    assert (fresh.status, fresh.user_id) == ("pending", eve.id)


def test_a_stranger_cannot_rewrite_a_pending_subscription(store: Store, config: Config, sink: Sink) -> None:
    owner = subscribe(store, config, "owner@example.org", frequency="weekly", topics=["cat:cs.LG"])
    eve = store.create_user("eve", "eve@example.org", "x", "member", "2026-11-20T00:00:00+00:00")
    # A stranger (anonymous, then logged in) asks for other settings before the owner has confirmed.
    subscribe(store, config, "owner@example.org", topics=["query:spam"], include_trending=False, max_papers=1)
    again = subscribe(store, config, "Owner@example.org", topics=["author:Eve Mallory"], user_id=eve.id)
    assert (again.id, again.status, again.user_id, again.frequency, again.max_papers) == (
        owner.id,
        "pending",
        None,
        "weekly",
        10,
    )
    assert [t.text for t in again.topics] == ["cat:cs.LG"]
    with mailer(config) as m:
        assert send_confirmations(store, config, m) == 1  # the owner gets a fresh link to what they asked for
    confirmed = confirm(store, config, link_token(sink.to("owner@example.org")[-1], "/subscribe/confirm"))
    assert (confirmed.status, confirmed.user_id, confirmed.frequency) == ("active", None, "weekly")
    assert [t.text for t in confirmed.topics] == ["cat:cs.LG"]
    assert subscriptions_for_user(store, eve.id) == []


def test_the_member_a_pending_subscription_belongs_to_may_change_it(store: Store, config: Config) -> None:
    ada = store.create_user("ada", "ada@example.org", "x", "member", "2026-11-20T00:00:00+00:00")
    subscribe(store, config, "ada@example.org", user_id=ada.id)
    changed = subscribe(store, config, "ada@example.org", user_id=ada.id, frequency="weekly")
    assert (changed.status, changed.user_id, changed.frequency) == ("pending", ada.id, "weekly")


def test_subscribing_again_changes_only_the_settings_it_names(store: Store, config: Config, sink: Sink) -> None:
    made = subscribe(
        store, config, "ada@example.org", frequency="weekly", topics=["cat:cs.LG"], max_papers=5, send_hour=7,
        timezone="Europe/Paris", include_trending=False, confirmed=True,
    )  # fmt: skip
    again = subscribe(store, config, "ada@example.org", confirmed=True)  # the address alone
    assert again.settings == made.settings
    hour = subscribe(store, config, "ada@example.org", send_hour=9, confirmed=True)
    assert (hour.send_hour, hour.frequency, hour.max_papers, hour.timezone) == (9, "weekly", 5, "Europe/Paris")
    assert [t.text for t in hour.topics] == ["cat:cs.LG"] and hour.include_trending is False
    pending = subscribe(store, config, "bob@example.org", frequency="weekly")  # unconfirmed: asking again keeps too
    assert subscribe(store, config, "bob@example.org").frequency == "weekly" == pending.frequency
    fresh = subscribe(store, config, "carol@example.org")  # a new address gets the defaults
    assert (fresh.frequency, fresh.include_trending, fresh.max_papers, fresh.send_hour, fresh.timezone) == (
        "daily", True, 10, 8, "UTC",
    )  # fmt: skip
