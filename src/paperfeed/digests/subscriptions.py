"""Digest subscriptions, the rules: who may subscribe to what, double opt-in, unsubscribing, and the confirmation
mails that double opt-in sends.

A subscriber is an address with settings (daily or weekly, trending or not, topics, how many papers, when). The
status machine:

    (new) ──subscribe──▶ pending ──confirm link──▶ active ──unsubscribe link──▶ unsubscribed
                            ▲                         │ 3 refusals in a row
                            └──subscribe again────────┴──▶ bounced / unsubscribed

Nothing but the confirmation mail goes to a pending address; subscribing it again sends a fresh confirmation link
but keeps the settings waiting for it (unless the member it belongs to asks): anyone may type any address, and the
owner's link must not activate a stranger's topics. Subscribing an active address again changes nothing (no mail,
no settings: only the member it belongs to, in settings, or the operator may change them); an unsubscribed or
bounced one must confirm again. ``confirmed=True`` is for callers that
already know the address belongs to the person (the CLI's operator, say) and skips both confirmation and the rate
limit, which exists to stop anyone from mail-bombing an address with confirmation mails.

Confirm and unsubscribe links carry signed tokens (made and read in ``links``); every check also compares the
address with the row's, so a token works for one address only, and not after the row was given to another one.
Confirmation links expire after 7 days; unsubscribe links never do (they sit in old mails). Subscribing queues the
confirmation mail (a deliveries row of kind "confirm"); ``send_confirmations`` sends the queue through the
``outbox``, exactly once like digests. The store does the SQL (``store.subscriptions``).
"""

from __future__ import annotations

import functools
import re
import zoneinfo
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from typing import Any

from paperfeed.community.rules import check_rate, now_iso
from paperfeed.config import Config
from paperfeed.digests.emails import compose_confirmation
from paperfeed.digests.links import confirm_url, message_id, read_token, site_url
from paperfeed.digests.outbox import Clock, DeliveryReport, Outbox, RetryPolicy, aware, iso
from paperfeed.digests.smtp import Sender
from paperfeed.errors import BadInput, NotFound
from paperfeed.search.query import parse_query
from paperfeed.store import Store
from paperfeed.store.subscriptions import Settings, Subscriber, Topic, sort_topics
from paperfeed.tokens import instance_secret

__all__ = [
    "Subscriber",
    "Topic",
    "Unsent",
    "confirm",
    "parse_topic",
    "send_confirmations",
    "subscribe",
    "subscriptions_for_user",
    "unsent_confirmation",
    "unsubscribe",
    "unsubscribe_address",
    "update_subscription",
]

FREQUENCIES = ("daily", "weekly")
MAX_PAPERS = 50
MAX_TOPICS = 20
CONFIRM_MAX_AGE = 7 * 24 * 3600
# Plain dot-atom addresses only: no quoted local parts, comments or commas, which would change what a To: header
# means. Non-ASCII addresses would need SMTPUTF8 from every server on the way.
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
_EMAIL_RE = re.compile(rf"{_ATOM}(?:\.{_ATOM})*@{_LABEL}(?:\.{_LABEL})+")
_CATEGORY_RE = re.compile(r"^[A-Za-z][A-Za-z\-]*(?:\.[A-Za-z\-]+)?$")
_PREFIXES = {"cat": "cat", "category": "cat", "author": "author", "au": "author", "query": "query", "q": "query",
             "foryou": "foryou", "for-you": "foryou"}  # fmt: skip
FOR_YOU = "library"  # the one value of a For-you topic: the papers that fit the member's library
_SETTING_FIELDS = ("frequency", "topics", "include_trending", "max_papers", "send_hour", "timezone")


# -- validation -----------------------------------------------------------------------------------------------------
def parse_topic(text: str | Topic) -> Topic:
    """``cat:cs.LG``, ``author:Ada Lovelace``, ``query:diffusion models`` or ``foryou`` (the papers that fit the
    member's library; a subscriber without an account gets no such section) → a Topic; BadInput naming "topic"."""
    if isinstance(text, Topic):
        text = text.text
    prefix, sep, rest = text.strip().partition(":")
    kind = _PREFIXES.get(prefix.strip().lower())
    if kind == "foryou":
        return Topic("foryou", FOR_YOU)
    if not sep or kind is None:
        raise BadInput(f"expected cat:…, author:…, query:… or foryou, got {text.strip()[:80]!r}", where="topic")
    value = " ".join(rest.split())
    if kind == "cat":
        if not _CATEGORY_RE.match(value) or len(value) > 40:
            raise BadInput(f"not an arXiv category: {value[:80]!r} (like cs.LG or hep-th)", where="topic")
        return Topic("cat", value)
    if kind == "author":
        if not 2 <= len(value) <= 100 or not any(c.isalpha() for c in value):
            raise BadInput("an author needs a name of 2 to 100 characters", where="topic")
        return Topic("author", value)
    if not 1 <= len(value) <= 200:
        raise BadInput("a saved search needs 1 to 200 characters", where="topic")
    query = parse_query(value)
    if query.paper_id:
        raise BadInput("a saved search needs words, not a paper id", where="topic")
    if query.is_empty:
        raise BadInput(f"nothing to search for in {value!r}", where="topic")
    return Topic("query", value)


def normalise_email(email: str) -> str:
    email = email.strip()
    if len(email) > 254 or not _EMAIL_RE.fullmatch(email):
        raise BadInput("that does not look like an email address", where="email")
    local, _, domain = email.rpartition("@")
    return f"{local}@{domain.lower()}"


def make_settings(
    *,
    frequency: str = "daily",
    topics: Iterable[str | Topic] = (),
    include_trending: bool = True,
    max_papers: int = 10,
    send_hour: int = 8,
    timezone: str = "UTC",
) -> Settings:
    """Validated settings; each bad value is a BadInput naming its field."""
    if frequency not in FREQUENCIES:
        raise BadInput(f"frequency must be {' or '.join(FREQUENCIES)}", where="frequency")
    parsed = sort_topics([parse_topic(t) for t in topics])
    if len(parsed) > MAX_TOPICS:
        raise BadInput(f"at most {MAX_TOPICS} topics", where="topics")
    if not isinstance(max_papers, int) or not 1 <= max_papers <= MAX_PAPERS:
        raise BadInput(f"max papers must be 1 to {MAX_PAPERS}", where="max_papers")
    if not isinstance(send_hour, int) or not 0 <= send_hour <= 23:
        raise BadInput("the send hour must be 0 to 23", where="send_hour")
    try:
        zoneinfo.ZoneInfo(timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, TypeError):
        raise BadInput(f"unknown time zone {timezone!r} (use a name like Europe/Paris)", where="timezone") from None
    if not include_trending and not parsed:
        raise BadInput("choose trending papers or at least one topic", where="topics")
    return Settings(frequency, bool(include_trending), max_papers, send_hour, timezone, parsed)


def next_status(current: str | None, confirmed: bool) -> str:
    """The status a subscribe request leaves an address in (see the module docstring)."""
    if confirmed or current == "active":
        return "active"
    return "pending"


# -- what people do -------------------------------------------------------------------------------------------------
def subscribe(
    store: Store,
    config: Config,
    email: str,
    *,
    frequency: str | None = None,
    topics: Iterable[str | Topic] | None = None,
    include_trending: bool | None = None,
    max_papers: int | None = None,
    send_hour: int | None = None,
    timezone: str | None = None,
    user_id: int | None = None,
    confirmed: bool = False,
    client: str | None = None,
) -> Subscriber:
    """Subscribe ``email`` (or update its settings); a pending address gets a confirmation queued (a deliveries row
    of kind "confirm": ``send_confirmations`` sends it). A setting left None keeps the address's current value (a
    new address gets ``make_settings``'s default): subscribing again never changes what it did not name.
    ``client`` (the visitor's network address) counts against the subscribe rate limit, as the address does."""
    if client is not None:
        check_rate(store, "subscribe", client)
    address = normalise_email(email)
    existing = store.subscriber_by_email(address)
    named = {
        "frequency": frequency,
        "topics": topics,
        "include_trending": include_trending,
        "max_papers": max_papers,
        "send_hour": send_hour,
        "timezone": timezone,
    }
    kept = {name: getattr(existing.settings, name) for name in _SETTING_FIELDS} if existing is not None else {}
    settings = make_settings(**{**kept, **{name: value for name, value in named.items() if value is not None}})
    if not confirmed:
        check_rate(store, "subscribe", address.lower())
        if existing is not None and existing.status == "active" and (user_id is None or existing.user_id != user_id):
            # Anyone may type any address: an active subscription's settings change only through its owner (the
            # member it belongs to, in settings) or the operator, never through a stranger's form post.
            return existing
        if existing is not None and existing.status == "pending" and (user_id is None or existing.user_id != user_id):
            # Nor does a pending one's: its confirmation link would activate whatever was asked last, so a stranger
            # could replace the topics the owner is about to confirm. The request only sends the owner a fresh link
            # to the settings already waiting (and links no account to them).
            settings, user_id = existing.settings, None
    # The confirmation's period names the request, to the microsecond: each request is a message of its own.
    request = datetime.now(UTC).isoformat(timespec="microseconds")
    subscriber, _ = store.save_subscriber(
        address,
        settings,
        user_id=user_id,
        status_for=lambda current: next_status(current, confirmed),
        now=request[:19] + "+00:00",
        request=request,
        trusted=confirmed,
        confirm_message_id=lambda sid: message_id(config, "confirm", sid, address, request),
    )
    return subscriber


def confirm(store: Store, config: Config, token: str) -> Subscriber:
    """Follow a confirmation link: the address becomes active (again clicking it changes nothing)."""
    subscriber = _from_token(store, config, "confirm", token, max_age=CONFIRM_MAX_AGE)
    if subscriber.status == "active":
        return subscriber
    if subscriber.status != "pending":
        raise BadInput("this subscription was cancelled since; subscribe again", where="token")
    store.set_subscriber_status(subscriber.id, "active", now_iso())
    return _reload(store, subscriber.id)


def unsubscribe(store: Store, config: Config, token: str) -> Subscriber:
    """Follow an unsubscribe link (or its RFC 8058 one-click POST): nothing more is sent to the address."""
    subscriber = _from_token(store, config, "unsubscribe", token, max_age=None)
    if subscriber.status != "unsubscribed":
        store.set_subscriber_status(subscriber.id, "unsubscribed", now_iso())
    return _reload(store, subscriber.id)


def unsubscribe_address(store: Store, email: str) -> Subscriber:
    """The operator's way (``paperfeed unsubscribe ADDRESS``): no token needed."""
    subscriber = store.subscriber_by_email(email.strip())
    if subscriber is None:
        raise NotFound(f"no subscriber with the address {email.strip()!r}")
    if subscriber.status != "unsubscribed":
        store.set_subscriber_status(subscriber.id, "unsubscribed", now_iso())
    return _reload(store, subscriber.id)


def subscriptions_for_user(store: Store, user_id: int) -> list[Subscriber]:
    return store.subscribers(statuses=("pending", "active", "unsubscribed", "bounced"), user_id=user_id)


def update_subscription(
    store: Store, subscriber_id: int, user_id: int, *, config: Config | None = None, **fields: Any
) -> Subscriber:
    """Change a member's own subscription: any of frequency, topics, include_trending, max_papers, send_hour,
    timezone, and ``active``: False unsubscribes; True resumes an unsubscribed or bounced one, which needs a new
    confirmation like any re-subscription (so pass ``config``: the mail is queued, ``send_confirmations`` sends it).
    Another member's (or an unknown) subscription is NotFound, so ids cannot be probed."""
    subscriber = store.subscriber(subscriber_id)
    if subscriber is None or subscriber.user_id != user_id:
        raise NotFound(f"no subscription {subscriber_id}")
    active = fields.pop("active", None)
    for name in fields:
        if name not in _SETTING_FIELDS:
            raise BadInput(f"cannot change {name!r} (only {', '.join(_SETTING_FIELDS)}, active)", where=name)
    current = subscriber.settings
    merged: dict[str, Any] = {name: getattr(current, name) for name in _SETTING_FIELDS}
    merged.update(fields)
    settings = make_settings(**merged)
    if active and subscriber.status in ("unsubscribed", "bounced"):
        if config is None:
            raise BadInput("resuming a subscription needs a confirmation mail: pass the config", where="active")
        request = datetime.now(UTC).isoformat(timespec="microseconds")
        store.save_subscriber(
            subscriber.email,
            settings,
            user_id=user_id,
            status_for=lambda _: "pending",
            now=request[:19] + "+00:00",
            request=request,
            confirm_message_id=lambda sid: message_id(config, "confirm", sid, subscriber.email, request),
        )
        return _reload(store, subscriber_id)
    store.update_subscriber(subscriber_id, settings)
    if active is not None and not active and subscriber.status != "unsubscribed":
        store.set_subscriber_status(subscriber_id, "unsubscribed", now_iso())
    return _reload(store, subscriber_id)


def send_confirmations(
    store: Store, config: Config, mailer: Sender, *, now: datetime | None = None, retry: RetryPolicy = RetryPolicy()
) -> int:
    """Send every queued confirmation mail; returns how many went out (0 when another process is sending them)."""
    clock = Clock(aware(now or datetime.now(UTC)))
    report = DeliveryReport()
    with store.sender_lock("confirmations") as got:
        if not got:
            return 0
        store.give_up_deliveries("confirm", iso(clock.start - retry.give_up_after), "gave up: failing for a day")
        secret, site = instance_secret(config), site_url(config)
        with Outbox(store, mailer, clock, report, retry) as outbox:
            for sid, period, _ in store.owed_deliveries("confirm", iso(clock.start)):
                subscriber = store.subscriber(sid)
                if subscriber is None or outbox.stopped:
                    continue
                url = confirm_url(config, subscriber, secret)
                mid = message_id(config, "confirm", subscriber.id, subscriber.email, period)
                render = functools.partial(
                    _confirmation, to=subscriber.email, url=url, site=site, mail_from=config.mail_from, mid=mid
                )
                outbox.put("confirm", subscriber, period, "pending", render)
    return report.sent


@dataclass(frozen=True)
class Unsent:
    """Why a confirmation mail has not gone out: refused for good (``refused``) or still owed; ``error`` is the
    failure as recorded (for the operator: it may name hosts and exceptions)."""

    refused: bool
    error: str

    def for_visitor(self) -> str:
        """The reason in words for the person who subscribed: the server's reply when it refused, never our
        exception text."""
        if self.refused:
            return (
                f"the mail server refused it ({self.error})"
                if self.error.startswith("SMTP ")
                else ("the mail server refused it")
            )
        return "the mail server could not be reached, or asked us to try again later"


def unsent_confirmation(store: Store, subscriber: Subscriber) -> Unsent | None:
    """Why the subscriber's newest confirmation mail has not gone out (None: it went, or none was asked for)."""
    latest = store.latest_delivery("confirm", subscriber.id)
    if latest is None or latest[0] == "sent":
        return None
    status, error = latest
    return Unsent(status == "failed", error or ("refused" if status == "failed" else "queued, not sent yet"))


def _confirmation(moment: datetime, *, to: str, url: str, site: str, mail_from: str, mid: str) -> EmailMessage:
    return compose_confirmation(to=to, confirm_url=url, site_url=site, mail_from=mail_from, message_id=mid, date=moment)


def _from_token(store: Store, config: Config, purpose: str, token: str, *, max_age: int | None) -> Subscriber:
    sid, email = read_token(config, purpose, token, max_age=max_age)
    subscriber = store.subscriber(sid)
    # The row must still hold the address the token was made for.
    if subscriber is None or subscriber.email.lower() != email.lower():
        raise BadInput("invalid or expired link", where="token")
    return subscriber


def _reload(store: Store, subscriber_id: int) -> Subscriber:
    found = store.subscriber(subscriber_id)
    if found is None:
        raise NotFound(f"no subscription {subscriber_id}")
    return found
