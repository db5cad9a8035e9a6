"""Email subscriptions on the web: the "Get trending papers in your email inbox" form, the confirmation link,
one-click unsubscribe (RFC 8058), members' subscription settings, and the same through the JSON API.

The rules live in ``paperfeed.digests.subscriptions``; the confirmation mail goes out after the response (a background
task), and if the mail server is down the worker's digest job sends it later, so a visitor never waits on SMTP.
"""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Depends, Form, Request, Response
from fastapi.responses import JSONResponse, RedirectResponse
from pydantic import BaseModel, Field

from paperfeed.community import rules
from paperfeed.config import Config
from paperfeed.digests import subscriptions
from paperfeed.errors import BadInput, PaperfeedError
from paperfeed.store import Store
from paperfeed.web.security import Visitor, check_csrf, client_address
from paperfeed.web.site import BODY_ANSWERS, Text, answers, render, site, visitor, wants_json

log = logging.getLogger("paperfeed.web")
router = APIRouter(include_in_schema=False)
api_router = APIRouter(prefix="/api", tags=["paperfeed"])
Who = Annotated[Visitor, Depends(visitor)]
Csrf = Annotated[str, Form(alias="csrf")]


def _send_confirmations(store: Store, config: Config) -> None:
    from paperfeed.digests.smtp import Mailer

    try:
        with Mailer.from_config(config) as mailer:
            subscriptions.send_confirmations(store, config, mailer)
    except PaperfeedError as exc:  # the worker's digest job retries pending confirmations
        log.warning("confirmation mail not sent now: %s", exc)


def _topics(raw: str) -> list[str]:
    return [line.strip() for line in raw.replace(",", "\n").splitlines() if line.strip()]


@router.post("/subscribe")
def subscribe_form(
    request: Request,
    who: Who,
    background: BackgroundTasks,
    email: Annotated[str, Form()] = "",
    frequency: Annotated[str, Form()] = "daily",
    topics: Annotated[str, Form()] = "",
    csrf: Csrf = "",
) -> Response:
    check_csrf(request, who, csrf)
    s = site(request)
    try:
        subscriptions.subscribe(
            s.store,
            s.config,
            email,
            client=client_address(request),
            frequency=frequency,
            topics=_topics(topics),
            user_id=who.user.id if who.user else None,
        )
    except BadInput as exc:
        if wants_json(request):
            raise
        return render(request, "subscribed.html", status=exc.http_status, error=str(exc), email=email)
    background.add_task(_send_confirmations, s.store, s.config)
    if wants_json(request):
        return JSONResponse({"email": email, "status": "pending"})
    return render(request, "subscribed.html", error=None, email=email)


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
    background: BackgroundTasks,
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
    subscriptions.update_subscription(
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
    background.add_task(_send_confirmations, s.store, s.config)  # a resumed subscription is confirmed again
    return RedirectResponse("/settings#subscriptions", status_code=303)


class SubscribeBody(BaseModel):
    email: Text
    frequency: str = Field("daily", pattern="^(daily|weekly)$")
    topics: list[Text] = Field(default_factory=list, description='e.g. ["cat:cs.LG", "query:diffusion models"]')
    include_trending: bool = True
    max_papers: int = Field(10, ge=1, le=50)
    send_hour: int = Field(8, ge=0, le=23)
    timezone: Text = "UTC"


@api_router.post("/subscriptions", responses=answers(*BODY_ANSWERS, 403, 429))
def subscribe_api(request: Request, who: Who, body: SubscribeBody, background: BackgroundTasks) -> dict[str, Any]:
    """Subscribe an address to digests; a confirmation mail with a signed link is sent first (double opt-in)."""
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
    background.add_task(_send_confirmations, s.store, s.config)
    return {"email": subscriber.email, "status": subscriber.status}
