"""Email subscriptions on the web: the "Get trending papers in your email inbox" form, the confirmation link,
one-click unsubscribe (RFC 8058), members' subscription settings, and the same through the JSON API.

The rules live in ``paperfeed.digests.subscriptions``. The confirmation mail is sent while the visitor waits (one
try, a short timeout, no back-off), because the page must say what happened: "we sent a link" only when the mail
server took the message (or the local outbox kept it, ``PAPERFEED_MAIL_TRANSPORT=outbox``: the page then says so and
links ``/outbox``); otherwise the page says it could not be sent, and the operator gets an error in the log. An
unsent confirmation stays queued: the worker's digest job (or ``paperfeed digest send``) retries it.
"""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request, Response
from fastapi.responses import JSONResponse, RedirectResponse
from pydantic import BaseModel, Field

from paperfeed.community import rules
from paperfeed.config import Config
from paperfeed.digests import subscriptions
from paperfeed.errors import BadInput, PaperfeedError
from paperfeed.store import Store
from paperfeed.store.subscriptions import Subscriber
from paperfeed.web.security import Visitor, check_csrf, client_address
from paperfeed.web.site import BODY_ANSWERS, Text, answers, render, site, visitor, wants_json

log = logging.getLogger("paperfeed.web")
router = APIRouter(include_in_schema=False)
api_router = APIRouter(prefix="/api", tags=["paperfeed"])
Who = Annotated[Visitor, Depends(visitor)]
Csrf = Annotated[str, Form(alias="csrf")]


INTERACTIVE_TIMEOUT = 10  # seconds per SMTP step while a visitor waits; the worker's retries take longer ones


def _send_confirmations(store: Store, config: Config, subscriber: Subscriber) -> str | None:
    """Send the queued confirmations now; returns why ``subscriber``'s is not sent, in words for the visitor (None:
    it went out). The operator's log gets the failure itself."""
    from paperfeed.digests.outbox import RetryPolicy
    from paperfeed.digests.transport import open_mailer, where_mail_goes

    reason: str | None = None
    try:
        with open_mailer(config, timeout=INTERACTIVE_TIMEOUT) as mailer:
            subscriptions.send_confirmations(store, config, mailer, retry=RetryPolicy(attempts=1))
    except PaperfeedError as exc:
        reason = str(exc)
    unsent = subscriptions.unsent_confirmation(store, subscriber)
    if unsent is None:
        return None
    log.error(
        "confirmation mail to %s not sent through %s: %s (%s)",
        subscriber.email,
        where_mail_goes(config),
        reason or unsent.error,
        "refused for good: the address may be wrong"
        if unsent.refused
        else "check PAPERFEED_MAIL_TRANSPORT and PAPERFEED_SMTP_*; it stays queued, and the worker or `paperfeed "
        "digest send` retries it",
    )
    return unsent.for_visitor()


def _confirmation(config: Config, subscriber: Subscriber, unsent: str | None) -> dict[str, Any]:
    """What the JSON answers say about the confirmation mail: sent, kept in the outbox, or not sent (and why)."""
    from paperfeed.digests.transport import uses_outbox

    if subscriber.status != "pending":
        return {"confirmation": "none needed"}
    if unsent:
        return {"confirmation": "not sent", "confirmation_error": unsent}
    return {"confirmation": "kept in the local outbox" if uses_outbox(config) else "sent"}


def _topics(raw: str) -> list[str]:
    return [line.strip() for line in raw.replace(",", "\n").splitlines() if line.strip()]


@router.post("/subscribe")
def subscribe_form(
    request: Request,
    who: Who,
    email: Annotated[str, Form()] = "",
    frequency: Annotated[str | None, Form()] = None,
    topics: Annotated[str | None, Form()] = None,
    csrf: Csrf = "",
) -> Response:
    """Subscribe from a form; fields the form does not post (the settings page posts the address alone) keep the
    address's current settings."""
    check_csrf(request, who, csrf)
    s = site(request)
    try:
        subscriber = subscriptions.subscribe(
            s.store,
            s.config,
            email,
            client=client_address(request),
            frequency=frequency or None,
            topics=_topics(topics) if topics is not None else None,
            user_id=who.user.id if who.user else None,
        )
    except BadInput as exc:
        if wants_json(request):
            raise
        return render(request, "subscribed.html", status=exc.http_status, error=str(exc), email=email)
    unsent = _send_confirmations(s.store, s.config, subscriber) if subscriber.status == "pending" else None
    if wants_json(request):
        return JSONResponse(
            {"email": subscriber.email, "status": subscriber.status, **_confirmation(s.config, subscriber, unsent)}
        )
    return render(request, "subscribed.html", error=None, email=email, subscriber=subscriber, unsent=unsent)


@router.get("/subscribe/confirm")
def confirm(request: Request, token: str = "") -> Response:
    s = site(request)
    subscriber = subscriptions.confirm(s.store, s.config, token)
    return render(request, "subscription_done.html", what="confirmed", subscriber=subscriber)


@router.get("/unsubscribe")
def unsubscribe_page(request: Request, token: str = "") -> Response:
    """A page with a button, not an unsubscribe: mail scanners open every link in a message."""
    return render(request, "unsubscribe.html", token=token)


@router.post("/unsubscribe")
def unsubscribe(
    request: Request,
    token: str = "",
    one_click: Annotated[str, Form(alias="List-Unsubscribe")] = "",
) -> Response:
    """RFC 8058 one-click (``List-Unsubscribe=One-Click`` posted by the mail provider) and the page's button: the
    signed token is the credential, so there is no session or CSRF token to check."""
    s = site(request)
    subscriber = subscriptions.unsubscribe(s.store, s.config, token)
    if one_click or wants_json(request):
        return JSONResponse({"email": subscriber.email, "status": subscriber.status})
    return render(request, "subscription_done.html", what="unsubscribed", subscriber=subscriber)


@router.post("/settings/subscriptions/{subscriber_id}")
def update(
    request: Request,
    who: Who,
    subscriber_id: int,
    frequency: Annotated[str, Form()] = "daily",
    topics: Annotated[str, Form()] = "",
    include_trending: Annotated[str, Form()] = "",
    max_papers: Annotated[int, Form()] = 10,
    send_hour: Annotated[int, Form()] = 8,
    timezone: Annotated[str, Form()] = "UTC",
    active: Annotated[str, Form()] = "1",
    csrf: Csrf = "",
) -> Response:
    check_csrf(request, who, csrf)
    member = rules.require_member(who.user)
    s = site(request)
    changed = subscriptions.update_subscription(
        s.store,
        subscriber_id,
        member.id,
        config=s.config,
        frequency=frequency,
        topics=_topics(topics),
        include_trending=bool(include_trending),
        max_papers=max_papers,
        send_hour=send_hour,
        timezone=timezone,
        active=active == "1",
    )
    if changed.status == "pending":  # a resumed subscription is confirmed again; settings show if it went out
        _send_confirmations(s.store, s.config, changed)
    return RedirectResponse("/settings#subscriptions", status_code=303)


class SubscribeBody(BaseModel):
    """A field left out keeps the address's current setting (a new address gets the default named here)."""

    email: Text
    frequency: str | None = Field(None, pattern="^(daily|weekly)$", description="daily (default) or weekly")
    topics: list[Text] | None = Field(None, description='e.g. ["cat:cs.LG", "query:diffusion models"]; default none')
    include_trending: bool | None = Field(None, description="default true")
    max_papers: int | None = Field(None, ge=1, le=50, description="default 10")
    send_hour: int | None = Field(None, ge=0, le=23, description="default 8")
    timezone: Text | None = Field(None, description="default UTC")


@api_router.post("/subscriptions", responses=answers(*BODY_ANSWERS, 403, 429))
def subscribe_api(request: Request, who: Who, body: SubscribeBody) -> dict[str, Any]:
    """Subscribe an address to digests; a confirmation mail with a signed link is sent first (double opt-in).
    ``confirmation`` says what became of it: "sent", "kept in the local outbox", "not sent" (with
    ``confirmation_error``; it stays queued and is retried), or "none needed"."""
    check_csrf(request, who, None)
    s = site(request)
    subscriber = subscriptions.subscribe(
        s.store,
        s.config,
        body.email,
        client=client_address(request),
        frequency=body.frequency,
        topics=body.topics,
        include_trending=body.include_trending,
        max_papers=body.max_papers,
        send_hour=body.send_hour,
        timezone=body.timezone,
        user_id=who.user.id if who.user else None,
    )
    unsent = _send_confirmations(s.store, s.config, subscriber) if subscriber.status == "pending" else None
    return {"email": subscriber.email, "status": subscriber.status, **_confirmation(s.config, subscriber, unsent)}
