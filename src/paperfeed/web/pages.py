"""The HTML pages: feed, trending, search, paper, submit, accounts, profile, settings, moderation.

Each route parses its input, calls one view or core function, and renders a template; every mutation is a POST
checked for CSRF that answers with a redirect (303) for forms or JSON for scripts. A page asked for with
``Accept: application/json`` returns the same view as JSON.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Path, Query, Request, Response
from fastapi.responses import JSONResponse, RedirectResponse

from paperfeed.community import rules
from paperfeed.digests.subscriptions import subscriptions_for_user
from paperfeed.errors import BadInput, Forbidden, SourceError, Unauthorized
from paperfeed.papers import canonical_id
from paperfeed.periods import Period, day_period, parse_day, parse_period
from paperfeed.store.community import User
from paperfeed.web.feed_routes import member_feed_token
from paperfeed.web.foryou_routes import member_signals, member_weight
from paperfeed.web.images import avatar_svg, thumbnail_svg
from paperfeed.web.security import (
    Visitor,
    check_csrf,
    clear_session,
    client_address,
    set_session,
)
from paperfeed.web.site import render, site, visitor, wants_json
from paperfeed.web.views import MAX_PAGE, feed_view, paper_view, profile_view, search_view, trending_view

router = APIRouter(include_in_schema=False)
Csrf = Annotated[str, Form(alias="csrf")]
Who = Annotated[Visitor, Depends(visitor)]
RowId = Annotated[int, Path(ge=1, le=2**63 - 1)]  # a database row id: larger numbers would overflow SQL integers
PageNo = Annotated[int, Query(ge=1, le=MAX_PAGE)]  # the views refuse deeper search pages by the search's own bound
Blend = Annotated[int | None, Query(ge=0, le=100)]  # % personal, for this page only (the control remembers it)


def _page(request: Request, template: str, view: Any, **context: Any) -> Response:
    if wants_json(request):
        return JSONResponse(view.to_dict())
    return render(request, template, view=view, **context)


def _done(request: Request, location: str, data: dict[str, Any] | None = None) -> Response:
    """The answer to a successful POST: JSON for scripts, a redirect (Post/Redirect/Get) for forms."""
    if wants_json(request):
        return JSONResponse(data or {"ok": True})
    return RedirectResponse(location, status_code=303)


def _safe_next(target: str | None) -> str:
    return target if target and target.startswith("/") and not target.startswith("//") else "/"


# -- feeds -----------------------------------------------------------------------------------------------------------
def _feed(
    request: Request, who: Visitor, period: Period | None, page: int, sort: str, category: str, blend: int | None
) -> Response:
    """A feed page; a member's comes in their blend of community and personal (``?blend=`` overrides it)."""
    store = site(request).store
    view = feed_view(
        store, period, who.user, page=page, sort=sort, category=category,
        signals=member_signals(store, who.user), personal_weight=member_weight(store, who.user, blend),
    )  # fmt: skip
    return _page(request, "feed.html", view)


@router.get("/")
def home(
    request: Request, who: Who, page: PageNo = 1, sort: str = "votes", category: str = "", blend: Blend = None
) -> Response:
    return _feed(request, who, None, page, sort, category, blend)


@router.get("/papers/date/{day}")
def by_day(
    request: Request, who: Who, day: str, page: PageNo = 1, sort: str = "votes", category: str = "", blend: Blend = None
) -> Response:
    return _feed(request, who, day_period(parse_day(day)), page, sort, category, blend)


@router.get("/papers/week/{week}")
def by_week(
    request: Request, who: Who, week: str, page: PageNo = 1, sort: str = "votes", category: str = "",
    blend: Blend = None,
) -> Response:  # fmt: skip
    return _feed(request, who, parse_period(week, where="week", kind="week"), page, sort, category, blend)


@router.get("/papers/month/{month}")
def by_month(
    request: Request, who: Who, month: str, page: PageNo = 1, sort: str = "votes", category: str = "",
    blend: Blend = None,
) -> Response:  # fmt: skip
    return _feed(request, who, parse_period(month, where="month", kind="month"), page, sort, category, blend)


@router.get("/papers/trending")
def trending_page(request: Request, who: Who, day: str | None = None) -> Response:
    if day:
        parse_day(day, where="day")
    return _page(request, "trending.html", trending_view(site(request).store, who.user, day))


@router.get("/search")
def search_page(
    request: Request,
    who: Who,
    q: str = "",
    page: PageNo = 1,
    category: str = "",
    author: str = "",
    date_from: Annotated[str, Query(alias="from")] = "",
    date_to: Annotated[str, Query(alias="to")] = "",
    sort: str = "relevance",
) -> Response:
    view = search_view(
        site(request).store,
        who.user,
        q,
        page=page,
        category=category,
        author=author,
        date_from=date_from,
        date_to=date_to,
        sort=sort,
    )
    return _page(request, "search.html", view)


# -- one paper -------------------------------------------------------------------------------------------------------
@router.get("/papers/{paper_id:path}/vote")
def vote_get(paper_id: str) -> Response:
    return RedirectResponse(f"/papers/{paper_id}", status_code=303)


@router.post("/papers/{paper_id:path}/vote")
def vote(request: Request, who: Who, paper_id: str, csrf: Csrf = "", up: Annotated[str, Form()] = "1") -> Response:
    check_csrf(request, who, csrf)
    result = rules.upvote(site(request).store, who.user, paper_id, up != "0")
    return _done(
        request,
        f"/papers/{paper_id}",
        {"paper": result.paper_id, "upvoted": result.upvoted, "upvotes": result.upvotes},
    )


@router.post("/papers/{paper_id:path}/comments")
def add_comment(request: Request, who: Who, paper_id: str, body: Annotated[str, Form()], csrf: Csrf = "") -> Response:
    check_csrf(request, who, csrf)
    made = rules.comment(site(request).store, who.user, paper_id, body)
    return _done(request, f"/papers/{paper_id}#comment-{made.id}", {"id": made.id})


@router.post("/papers/{paper_id:path}/remove-submission")
def remove_submission(request: Request, who: Who, paper_id: str, csrf: Csrf = "") -> Response:
    check_csrf(request, who, csrf)
    rules.remove_submission(site(request).store, who.user, paper_id)
    return _done(request, f"/papers/{paper_id}")


@router.get("/papers/{paper_id:path}/thumbnail.svg")
def thumbnail(request: Request, paper_id: str) -> Response:
    paper = site(request).store.get_paper(paper_id)
    return Response(
        thumbnail_svg(paper), media_type="image/svg+xml", headers={"Cache-Control": "public, max-age=86400"}
    )


@router.get("/avatars/{user_id}.svg")
def avatar(user_id: str) -> Response:
    return Response(avatar_svg(user_id), media_type="image/svg+xml", headers={"Cache-Control": "public, max-age=86400"})


@router.get("/abs/{paper_id:path}")
def arxiv_style(paper_id: str) -> Response:
    """arXiv's own path (``/abs/2606.13008v2``): people edit arxiv.org links into ours."""
    return RedirectResponse(f"/papers/{canonical_id(paper_id)}", status_code=301)


@router.get("/papers/{paper_id:path}")
def paper_page(request: Request, who: Who, paper_id: str, similar: str = "relevance") -> Response:
    canonical = canonical_id(paper_id)
    if canonical != paper_id:  # a version or an arXiv: prefix: one page per paper, at its stored id
        return RedirectResponse(f"/papers/{canonical}", status_code=301)
    view = paper_view(site(request).store, paper_id, who.user, similar_sort=similar)
    return _page(request, "paper.html", view)


@router.post("/comments/{comment_id}/hide")
def hide_comment(
    request: Request,
    who: Who,
    comment_id: RowId,
    csrf: Csrf = "",
    reason: Annotated[str, Form()] = "",
    show: Annotated[str, Form()] = "",
) -> Response:
    check_csrf(request, who, csrf)
    hidden = rules.hide_comment(site(request).store, who.user, comment_id, reason, hide=not show)
    return _done(request, f"/papers/{hidden.paper_id}#comment-{comment_id}")


# -- submitting ------------------------------------------------------------------------------------------------------
@router.get("/submit")
def submit_form(request: Request, who: Who) -> Response:
    if who.user is None:
        return RedirectResponse("/login?next=/submit", status_code=303)
    return render(request, "submit.html", error=None, value="")


@router.post("/submit")
def submit(request: Request, who: Who, paper: Annotated[str, Form()] = "", csrf: Csrf = "") -> Response:
    check_csrf(request, who, csrf)
    s = site(request)
    today = datetime.now(UTC).date().isoformat()
    try:
        found = rules.submit(s.store, who.user, paper, s.fetch_paper, today)
    except (BadInput, SourceError) as exc:
        if wants_json(request):
            raise
        return render(request, "submit.html", status=exc.http_status, error=exc.shown, value=paper)
    return _done(request, f"/papers/{found.id}", {"paper": found.id, "day": today})


# -- accounts ----------------------------------------------------------------------------------------------------------
@router.get("/signup")
def signup_form(request: Request, next: str = "/") -> Response:
    return render(request, "signup.html", error=None, where=None, name="", email="", next=_safe_next(next))


@router.post("/signup")
def signup(
    request: Request,
    who: Who,
    name: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    email: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/",
    csrf: Csrf = "",
) -> Response:
    check_csrf(request, who, csrf)
    s = site(request)
    try:
        user = rules.sign_up(
            s.store, name, password, email, client=client_address(request), signups_open=s.config.signups
        )
    except BadInput as exc:
        return render(
            request, "signup.html", status=422, error=exc.reason, where=exc.where, name=name, email=email, next=next
        )
    return _logged_in(request, user, _safe_next(next))


@router.get("/login")
def login_form(request: Request, next: str = "/") -> Response:
    return render(request, "login.html", error=None, login="", next=_safe_next(next))


@router.post("/login")
def login(
    request: Request,
    who: Who,
    login: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/",
    csrf: Csrf = "",
) -> Response:
    check_csrf(request, who, csrf)
    s = site(request)
    try:
        user = rules.log_in(s.store, login, password, client=client_address(request))
    except (Unauthorized, Forbidden) as exc:
        if wants_json(request):
            raise
        return render(request, "login.html", status=exc.http_status, error=str(exc), login=login, next=next)
    return _logged_in(request, user, _safe_next(next))


def _logged_in(request: Request, user: User, target: str) -> Response:
    s = site(request)
    token = rules.start_session(s.store, user, s.config.session_days)
    response = _done(request, target, {"name": user.name})
    set_session(response, token, s.config.session_days, s.secure_cookies)
    return response


@router.post("/logout")
def logout(request: Request, who: Who, csrf: Csrf = "") -> Response:
    check_csrf(request, who, csrf)
    s = site(request)
    rules.end_session(s.store, who.session_token)
    response = _done(request, "/")
    clear_session(response, s.secure_cookies)
    return response


# -- members -----------------------------------------------------------------------------------------------------------
@router.get("/u/{name}")
def profile(request: Request, who: Who, name: str) -> Response:
    return _page(request, "profile.html", profile_view(site(request).store, name, who.user))


@router.post("/u/{name}/block")
def block(request: Request, who: Who, name: str, csrf: Csrf = "", unblock: Annotated[str, Form()] = "") -> Response:
    check_csrf(request, who, csrf)
    rules.block_member(site(request).store, who.user, name, block=not unblock)
    return _done(request, f"/u/{name}")


@router.post("/u/{name}/role")
def change_role(request: Request, who: Who, name: str, role: Annotated[str, Form()] = "", csrf: Csrf = "") -> Response:
    check_csrf(request, who, csrf)
    rules.set_role(site(request).store, who.user, name, role)
    return _done(request, f"/u/{name}")


@router.get("/settings")
def settings(request: Request, who: Who) -> Response:
    if who.user is None:
        return RedirectResponse("/login?next=/settings", status_code=303)
    return _settings(request, who)


def _settings(request: Request, who: Who, status: int = 200, **extra: Any) -> Response:
    member = rules.require_member(who.user)
    s = site(request)
    context: dict[str, Any] = {"message": None, "error": None, "new_token": None, **extra}
    return render(
        request,
        "settings.html",
        status=status,
        tokens=s.store.api_tokens(member.id),
        subscriptions=subscriptions_for_user(s.store, member.id),
        member_feed=f"/feeds/u/{member_feed_token(s, member.id)}/feed",
        for_you_feed=f"/feeds/for-you/{member_feed_token(s, member.id)}/feed",
        **context,
    )


@router.post("/settings/password")
def change_password(
    request: Request,
    who: Who,
    old: Annotated[str, Form()] = "",
    new: Annotated[str, Form()] = "",
    csrf: Csrf = "",
) -> Response:
    check_csrf(request, who, csrf)
    s = site(request)
    member = rules.require_member(who.user)
    try:
        rules.change_password(s.store, member, old, new, keep_session=who.session_token, client=client_address(request))
    except (BadInput, Unauthorized, Forbidden) as exc:
        return _settings(request, who, status=exc.http_status, error=str(exc))
    return _settings(request, who, message="Password changed. Your private feed has a new URL.")


@router.post("/settings/feed/reset")
def reset_feed(request: Request, who: Who, csrf: Csrf = "") -> Response:
    """A new private feed URL; the old one stops working (a feed reader that has it gets 404)."""
    check_csrf(request, who, csrf)
    s = site(request)
    member = rules.require_member(who.user)
    rules.reset_feed_url(s.store, member)
    if wants_json(request):
        return JSONResponse({"feed": f"{s.base_url}/feeds/u/{member_feed_token(s, member.id)}/feed.rss"})
    return _settings(request, who, message="Your private feed has a new URL; the old one no longer works.")


@router.post("/settings/tokens")
def new_token(request: Request, who: Who, name: Annotated[str, Form()] = "", csrf: Csrf = "") -> Response:
    check_csrf(request, who, csrf)
    token = rules.create_api_token(site(request).store, rules.require_member(who.user), name)
    if wants_json(request):
        return JSONResponse({"token": token})
    return _settings(request, who, new_token=token)


@router.post("/settings/tokens/{token_id}/revoke")
def revoke_token(request: Request, who: Who, token_id: RowId, csrf: Csrf = "") -> Response:
    check_csrf(request, who, csrf)
    rules.revoke_api_token(site(request).store, who.user, token_id)
    return _done(request, "/settings")
