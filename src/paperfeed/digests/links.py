"""The addresses digests point at and the ids they carry: the site's URL, signed confirm and unsubscribe links, the
settings link, and deterministic Message-IDs.

Every link in a mail and every Message-ID is made here, so that the subscription rules (which read the tokens back),
the digest composer, the outbox and the web pages all agree on them. ``site_url`` is the one way to get the public
URL of this instance (``base_url`` without its trailing slash); the web app uses it too.

Tokens (``paperfeed.tokens``) are signed for a purpose ("confirm", "unsubscribe") over ``"<subscriber id>:<email>"``:
``read_token`` gives back both halves, and the rules compare the address with the row's, so a token works for one
address only, and not after the row was given to another one.

A Message-ID is the same on every attempt to send one owed message, so a repeat is recognisably the same mail.
"""

from __future__ import annotations

import hashlib
import re
from email.utils import parseaddr
from urllib.parse import quote, urlsplit

from paperfeed import tokens
from paperfeed.config import Config
from paperfeed.errors import BadInput
from paperfeed.store.subscriptions import Subscriber

_DOMAIN_RE = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9.\-]*[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\]")


def site_url(config: Config) -> str:
    """The public URL of this instance without a trailing slash: links are ``site_url(config) + "/path"``."""
    return config.base_url.rstrip("/")


def token_for(secret: str, purpose: str, subscriber: Subscriber) -> str:
    return tokens.sign(secret, purpose, f"{subscriber.id}:{subscriber.email}")


def read_token(config: Config, purpose: str, token: str, *, max_age: int | None) -> tuple[int, str]:
    """The (subscriber id, address) a ``token_for`` token was signed over; BadInput naming "token" otherwise."""
    subject = tokens.verify(tokens.instance_secret(config), purpose, token.strip(), max_age=max_age)
    sid, _, email = subject.partition(":")
    if not sid.isdigit():
        raise BadInput("invalid or expired link", where="token")
    return int(sid), email


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


def make_message_id(key: str, domain: str) -> str:
    """A Message-ID that is the same every time for the same ``key`` (e.g. ``digest:sub42:2026-11-20``).

    A retried or re-run send then repeats the id instead of minting a new one, so receivers that deduplicate
    on Message-ID show one copy.
    """
    if not _DOMAIN_RE.fullmatch(domain):
        raise ValueError(f"not a domain for a Message-ID: {domain!r}")
    return f"<{hashlib.sha256(key.encode('utf-8')).hexdigest()[:32]}@{domain}>"


def mail_domain(config: Config) -> str:
    """The domain of the From address (Message-IDs are minted under it), else the site's host."""
    address = parseaddr(config.mail_from)[1]
    domain = address.rpartition("@")[2].strip().lower()
    return domain or (urlsplit(site_url(config)).hostname or "localhost").lower()
