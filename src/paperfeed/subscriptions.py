"""Digest subscriptions, the rules: who may subscribe to what, double opt-in, unsubscribing, and the signed links.

A subscriber is an address with settings (daily or weekly, trending or not, topics, how many papers, when). The
status machine:

    (new) ──subscribe──▶ pending ──confirm link──▶ active ──unsubscribe link──▶ unsubscribed
                            ▲                         │ 3 refusals in a row
                            └──subscribe again────────┴──▶ bounced / unsubscribed

Nothing but the confirmation mail goes to a pending address; subscribing an active address again changes nothing
(no mail, no settings: only the member it belongs to, in settings, or the operator may change them); an
unsubscribed or bounced one must confirm again. ``confirmed=True`` is for callers that
already know the address belongs to the person (the CLI's operator, say) and skips both confirmation and the rate
limit, which exists to stop anyone from mail-bombing an address with confirmation mails.

Links carry tokens (``paperfeed.tokens``) signed for a purpose ("confirm", "unsubscribe") over
``"<subscriber id>:<email>"``, and every check also compares the address with the row's: a token works for one
address only, and not after the row was given to another one. Confirmation links expire after 7 days; unsubscribe
links never do (they sit in old mails). The store does the SQL (``store.subscriptions``); sending is
``paperfeed.delivery``'s.
"""

from __future__ import annotations

import re
import zoneinfo
from collections.abc import Iterable
from datetime import UTC, datetime
from email.utils import parseaddr
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

from paperfeed import tokens
from paperfeed.community.rules import check_rate, now_iso
from paperfeed.config import Config
from paperfeed.errors import BadInput, NotFound
from paperfeed.mail import make_message_id
from paperfeed.search.query import parse_query
from paperfeed.store import Store
from paperfeed.store.subscriptions import Settings, Subscriber, Topic, sort_topics

if TYPE_CHECKING:
    from paperfeed.mail.smtp import Sender

__all__ = [
    "Subscriber",
    "Topic",
    "confirm",
    "parse_topic",
    "send_confirmations",
    "subscribe",
    "subscriptions_for_user",
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
_PREFIXES = {"cat": "cat", "category": "cat", "author": "author", "au": "author", "query": "query", "q": "query"}
_SETTING_FIELDS = ("frequency", "topics", "include_trending", "max_papers", "send_hour", "timezone")


# -- validation -----------------------------------------------------------------------------------------------------
def parse_topic(text: str | Topic) -> Topic:
    """``cat:cs.LG``, ``author:Ada Lovelace`` or ``query:diffusion models`` → a Topic; BadInput naming "topic"."""
    if isinstance(text, Topic):
        text = text.text
    prefix, sep, rest = text.strip().partition(":")
    kind = _PREFIXES.get(prefix.strip().lower())
    if not sep or kind is None:
        raise BadInput(f"expected cat:…, author:… or query:…, got {text.strip()[:80]!r}", where="topic")
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
    frequency: str = "daily",
    topics: Iterable[str | Topic] = (),
    include_trending: bool = True,
    max_papers: int = 10,
    send_hour: int = 8,
    timezone: str = "UTC",
    user_id: int | None = None,
    confirmed: bool = False,
    client: str | None = None,
) -> Subscriber:
    """Subscribe ``email`` (or update its settings); a pending address gets a confirmation queued (a deliveries row
    of kind "confirm": ``send_confirmations`` sends it). ``client`` (the visitor's network address) counts against
    the subscribe rate limit, as the address subscribed does."""
    if client is not None:
        check_rate(store, "subscribe", client)
    address = normalise_email(email)
    settings = make_settings(
        frequency=frequency,
        topics=topics,
        include_trending=include_trending,
        max_papers=max_papers,
        send_hour=send_hour,
        timezone=timezone,
    )
    if not confirmed:
        check_rate(store, "subscribe", address.lower())
        existing = store.subscriber_by_email(address)
        if existing is not None and existing.status == "active" and (user_id is None or existing.user_id != user_id):
            # Anyone may type any address: an active subscription's settings change only through its owner (the
            # member it belongs to, in settings) or the operator, never through a stranger's form post.
            return existing
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


def send_confirmations(store: Store, config: Config, mailer: Sender) -> int:
    """Send the queued confirmation mails; returns how many went out (see ``paperfeed.delivery``)."""
    from paperfeed.delivery import send_confirmations as send

    return send(store, config, mailer)


# -- links and ids --------------------------------------------------------------------------------------------------
def site_url(config: Config) -> str:
    return str(config.base_url).rstrip("/")


def token_for(secret: str, purpose: str, subscriber: Subscriber) -> str:
    return tokens.sign(secret, purpose, f"{subscriber.id}:{subscriber.email}")


def confirm_url(config: Config, subscriber: Subscriber, secret: str | None = None) -> str:
    token = token_for(secret or tokens.instance_secret(config), "confirm", subscriber)
    return f"{site_url(config)}/subscribe/confirm?token={quote(token)}"


def unsubscribe_url(config: Config, subscriber: Subscriber, secret: str | None = None) -> str:
    """The footer link and the RFC 8058 one-click target alike: the page answers GET with a button, POST by
    unsubscribing (a GET must never unsubscribe by itself: mail scanners follow links)."""
    token = token_for(secret or tokens.instance_secret(config), "unsubscribe", subscriber)
    return f"{site_url(config)}/unsubscribe?token={quote(token)}"


def manage_url(config: Config) -> str:
    return f"{site_url(config)}/settings#subscriptions"


def message_id(config: Config, kind: str, subscriber_id: int, email: str, period: str) -> str:
    """The Message-ID of one owed message: the same on every attempt, so a repeat is recognisably the same mail.
    The address and the site are in the key, so a reused subscriber id (a store rebuilt) never collides."""
    key = f"{site_url(config)}|{kind}|{subscriber_id}|{email.lower()}|{period}"
    return make_message_id(key, mail_domain(config))


def mail_domain(config: Config) -> str:
    """The domain of the From address (Message-IDs are minted under it), else the site's host."""
    address = parseaddr(str(config.mail_from))[1]
    domain = address.rpartition("@")[2].strip().lower()
    return domain or (urlsplit(site_url(config)).hostname or "localhost").lower()


def _from_token(store: Store, config: Config, purpose: str, token: str, *, max_age: int | None) -> Subscriber:
    invalid = BadInput("invalid or expired link", where="token")
    subject = tokens.verify(tokens.instance_secret(config), purpose, token.strip(), max_age=max_age)
    sid, _, email = subject.partition(":")
    if not sid.isdigit():
        raise invalid
    subscriber = store.subscriber(int(sid))
    # The row must still hold the address the token was made for.
    if subscriber is None or subscriber.email.lower() != email.lower():
        raise invalid
    return subscriber


def _reload(store: Store, subscriber_id: int) -> Subscriber:
    found = store.subscriber(subscriber_id)
    if found is None:
        raise NotFound(f"no subscription {subscriber_id}")
    return found
