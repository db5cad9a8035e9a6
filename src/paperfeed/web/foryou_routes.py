"""The For-you doors of the site: the blend control's POST (remembered per member), the For-you tab (a period
ranked wholly for the member), the JSON API under ``/api/for-you`` (ranking, blend, similar to my library or to a
collection), and the member's signals and blend as the feed pages need them.

The ranking itself is ``paperfeed.recommend``; the pages reuse ``feed_view`` and ``feed.html``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Path, Query, Request, Response
from fastapi.responses import JSONResponse, RedirectResponse
from pydantic import BaseModel, Field, StrictInt

from paperfeed.errors import NotFound, Unauthorized
from paperfeed.periods import Period, parse_period
from paperfeed.recommend.blend import check_weight
from paperfeed.recommend.foryou import POSITIVE, Signal
from paperfeed.recommend.similar import Similar, similar_to_papers
from paperfeed.store import Store, utcnow
from paperfeed.store.community import User
from paperfeed.web.security import Visitor, check_csrf
from paperfeed.web.site import BODY_ANSWERS, answers, render, site, visitor, wants_json
from paperfeed.web.views import MAX_PAGE, entries, feed_view

router = APIRouter(include_in_schema=False)
api_router = APIRouter(prefix="/api/for-you", tags=["paperfeed"])
Who = Annotated[Visitor, Depends(visitor)]
LIBRARY_SIMILAR = 20
TAB_SIMILAR = 5  # "similar to your library" on the For-you tab


def member_signals(store: Store, user: User | None) -> Sequence[Signal] | None:
    """The member's interest signals (saved, rated, upvoted; newest first), or None for a visitor."""
    return store.interest_signals(user.id) if user is not None else None


def member_weight(store: Store, user: User | None, asked: int | None) -> int:
    """The blend to show: the one asked for in the URL, else the member's remembered one, else the community's."""
    if asked is not None:
        return check_weight(asked)
    remembered = store.personal_weight(user.id) if user is not None else None
    return check_weight(remembered or 0)


@router.post("/for-you/blend")
def set_blend(
    request: Request,
    who: Who,
    weight: Annotated[int, Form(ge=0, le=100)],
    csrf: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/",
) -> Response:
    """Remember the member's blend and go back to the page they were on."""
    check_csrf(request, who, csrf)
    if who.user is None:
        raise Unauthorized("log in to choose your blend")
    chosen = check_weight(weight)
    site(request).store.set_personal_weight(who.user.id, chosen, utcnow())
    if wants_json(request):
        return JSONResponse({"personal_weight": chosen})
    target = next if next.startswith("/") and not next.startswith("//") else "/"
    return RedirectResponse(target, status_code=303)


@router.get("/for-you")
def for_you(request: Request, who: Who, period: str = "", page: int = 1, category: str = "") -> Response:
    """The For-you tab: the latest day (or ``?period=`` a day, week or month) ranked wholly for the member."""
    if who.user is None:
        raise Unauthorized("log in to see papers ranked for you")
    if not 1 <= page <= MAX_PAGE:
        page = 1
    chosen: Period | None = parse_period(period) if period else None
    store = site(request).store
    view = feed_view(
        store, chosen, who.user, page=page, category=category, signals=member_signals(store, who.user),
        personal_weight=100,
    )  # fmt: skip
    if wants_json(request):
        return JSONResponse(view.to_dict())
    # From the whole store, not only this period: what the member might have missed (first page only)
    near = similar_to_library(store, who.user, TAB_SIMILAR) if page == 1 else []
    listed = entries(store, [store.get_paper(s.paper_id) for s in near], who.user)
    for entry, found in zip(listed, near, strict=True):
        entry.reasons = found.reasons
    return render(request, "feed.html", view=view, for_you_tab=True, library_similar=listed)


def _require(who: Visitor) -> User:
    if who.user is None:
        raise Unauthorized("log in (or send a Bearer token) to get papers ranked for you")
    return who.user


def _period(period: str) -> Period | None:
    return parse_period(period) if period else None


@api_router.get("", responses=answers(401, 422))
def for_you_api(
    request: Request,
    who: Who,
    period: Annotated[
        str, Query(description="A day (2026-11-20), week (2026-W47) or month (2026-11); default: the latest day")
    ] = "",
    page: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 1,
    category: str = "",
    blend: Annotated[int, Query(ge=0, le=100, description="% personal: 100 = For you only, 0 = by votes")] = 100,
) -> dict[str, Any]:
    """The period's papers in your blend of community (upvotes) and personal (your library, ratings and upvotes),
    each with ``for_you``: both parts of its score, the explanation and the reasons in words."""
    user = _require(who)
    store = site(request).store
    view = feed_view(store, _period(period), user, page=page, category=category,
                     signals=member_signals(store, user), personal_weight=blend)  # fmt: skip
    return view.to_dict()


class BlendBody(BaseModel):
    personal_weight: StrictInt = Field(
        ge=0, le=100, description="% personal (0, 25, 50, 75 or 100; others are rounded)"
    )


@api_router.put("/blend", responses=answers(*BODY_ANSWERS, 401, 403))
def put_blend(request: Request, who: Who, body: BlendBody) -> dict[str, Any]:
    """Remember your home page's blend."""
    check_csrf(request, who, None)
    user = _require(who)
    chosen = check_weight(body.personal_weight)
    site(request).store.set_personal_weight(user.id, chosen, utcnow())
    return {"personal_weight": chosen}


@api_router.get("/blend", responses=answers(401))
def get_blend(request: Request, who: Who) -> dict[str, Any]:
    user = _require(who)
    return {"personal_weight": member_weight(site(request).store, user, None)}


@api_router.get("/similar", responses=answers(401, 422))
def similar_to_library_api(
    request: Request, who: Who, limit: Annotated[int, Query(ge=1, le=100)] = LIBRARY_SIMILAR
) -> list[dict[str, Any]]:
    """Papers from the whole store most like your library (saved, "more like this" and upvoted papers), with the
    reasons; your own papers are left out."""
    user = _require(who)
    store = site(request).store
    return [_similar_json(store, user, found) for found in similar_to_library(store, user, limit)]


def similar_to_library(store: Store, user: User, limit: int = LIBRARY_SIMILAR) -> list[Similar]:
    signals = member_signals(store, user) or []
    liked = [s.paper_id for s in signals if s.kind in POSITIVE]
    return similar_to_papers(store, liked, limit, tags=store.member_tags(user.id))


def _similar_json(store: Store, user: User | None, found: Similar) -> dict[str, Any]:
    (entry,) = entries(store, [store.get_paper(found.paper_id)], user)
    return {**entry.to_dict(), "score": round(found.score, 4), "reasons": [r.to_dict() for r in found.reasons]}


@api_router.get("/collections/{collection_id}/similar", responses=answers(404, 422))
def similar_to_collection_api(
    request: Request,
    who: Who,
    collection_id: Annotated[int, Path(ge=1, le=2**63 - 1)],
    limit: Annotated[int, Query(ge=1, le=100)] = LIBRARY_SIMILAR,
) -> list[dict[str, Any]]:
    """Papers from the whole store most like a collection (a public one, or one of yours), with the reasons; the
    collection's own papers are left out."""
    store = site(request).store
    collection = store.collection(collection_id)
    if not collection.public and (who.user is None or who.user.id != collection.owner_id):
        raise NotFound(f"no collection {collection_id}")
    papers = store.collection_paper_ids(collection_id)
    return [_similar_json(store, who.user, found) for found in similar_to_papers(store, papers, limit)]
