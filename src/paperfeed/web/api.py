"""The JSON API: the Hugging Face papers API (same paths, parameters and fields) and paperfeed's own endpoints.

``/api/daily_papers``, ``/api/papers``, ``/api/papers/search`` and ``/api/papers/{id}`` answer exactly as
huggingface.co does, so ``huggingface_hub.HfApi(endpoint=…)`` works against a paperfeed unchanged. The rest
(voting, comments, submitting, similar papers, filtered search, trending with reasons) is paperfeed's own, for
scripts: authenticate with ``Authorization: Bearer pf_…`` (a token made in settings).
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from enum import Enum
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from pydantic import BaseModel, BeforeValidator, Field, StrictBool, WithJsonSchema

from paperfeed.community import rules
from paperfeed.community.related import SIMILAR_SORTS, similar_papers
from paperfeed.errors import BadInput
from paperfeed.formats.hf import PaperActivity as HfActivity
from paperfeed.formats.hf import comment_json, daily_item_json, list_item_json, paper_json, search_item_json
from paperfeed.papers import Paper
from paperfeed.periods import Period, day_period, parse_day, parse_period
from paperfeed.search.engine import MAX_DEPTH, search
from paperfeed.search.engine import SORTS as SEARCH_SORTS
from paperfeed.search.fusion import explain_ranking
from paperfeed.store import Store
from paperfeed.store.community import Activity
from paperfeed.web.security import Visitor, check_csrf
from paperfeed.web.site import BODY_ANSWERS, Site, Text, answers, site, visitor
from paperfeed.web.views import MAX_PAGE, daily_ids, entries, paper_view, search_view, trending_view

router = APIRouter(prefix="/api")
Who = Annotated[Visitor, Depends(visitor)]
HF: list[str | Enum] = ["Hugging Face compatible"]
OWN: list[str | Enum] = ["paperfeed"]
# A paper of the bundled demo corpus as the example: API explorers and fuzzers then reach a real paper.
PaperId = Annotated[str, Path(description="An arXiv id (new or old style), without version", examples=["2603.04592"])]


def _hf_activity(activity: Activity) -> HfActivity:
    submitted = datetime.fromisoformat(activity.submitted_at) if activity.submitted_at else None
    return HfActivity(
        upvotes=activity.upvotes,
        num_comments=activity.comments + activity.external_comments,
        submitter=activity.submitter,
        submitted_at=submitted.astimezone(UTC) if submitted else None,
        hf_upvotes=activity.external_upvotes,
    )


def _papers(store: Store, ids: list[str]) -> list[tuple[Paper, HfActivity]]:
    found = store.get_papers(ids)
    activity = store.activity(ids)
    return [(found[i], _hf_activity(activity[i])) for i in ids if i in found]


# -- Hugging Face compatible ---------------------------------------------------------------------------------------
@router.get("/daily_papers", tags=HF, responses=answers(422))
def daily_papers(
    request: Request,
    p: Annotated[int, Query(ge=0, le=MAX_PAGE, description="Page, from 0")] = 0,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    date_: Annotated[str | None, Query(alias="date", description="YYYY-MM-DD")] = None,
    week: Annotated[str | None, Query(description="YYYY-Www")] = None,
    month: Annotated[str | None, Query(description="YYYY-MM")] = None,
    submitter: Annotated[str | None, Query(description="Name of the member who submitted the paper")] = None,
    sort: Annotated[str, Query(pattern="^(publishedAt|trending)$")] = "publishedAt",
) -> list[dict[str, Any]]:
    """Daily papers, newest first (or by trending score), optionally for one day, week or month."""
    s = site(request)
    period: Period | None = None
    if date_:
        period = day_period(parse_day(date_, where="date"))
    elif week:
        period = parse_period(week, where="week", kind="week")
    elif month:
        period = parse_period(month, where="month", kind="month")
    ids, days = daily_ids(s.store, period, sort=sort, submitter=submitter, offset=p * limit, limit=limit)
    made = s.store.summaries_of(ids)
    return [
        daily_item_json(
            paper, act, base_url=s.base_url, day=days.get(paper.id) or paper.announced or "", machine=made.get(paper.id)
        )
        for paper, act in _papers(s.store, ids)
    ]


def _cursor(published: str, paper_id: str) -> str:
    return base64.urlsafe_b64encode(f"{published}|{paper_id}".encode()).decode().rstrip("=")


def _parse_cursor(cursor: str) -> tuple[str, str]:
    try:
        published, paper_id = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode().split("|", 1)
    except (ValueError, UnicodeDecodeError):
        raise BadInput("not a cursor from this API", where="cursor") from None
    return published, paper_id


@router.get("/papers", tags=HF, responses=answers(422))
def list_papers(
    request: Request,
    response: Response,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
) -> list[dict[str, Any]]:
    """Papers by published date, newest first; the next page's URL is in the ``Link`` header (rel="next")."""
    s = site(request)
    page = s.store.published_page(_parse_cursor(cursor) if cursor else None, limit)
    if len(page) == limit:
        # From the configured base URL, never the Host header: a forged Host must not put its link in a cache.
        query = request.url.include_query_params(cursor=_cursor(page[-1][1], page[-1][0])).query
        response.headers["Link"] = f'<{s.base_url}{request.url.path}?{query}>; rel="next"'
    ids = [i for i, _ in page]
    made = s.store.summaries_of(ids)
    return [
        list_item_json(paper, act, base_url=s.base_url, machine=made.get(paper.id))
        for paper, act in _papers(s.store, ids)
    ]


@router.get("/papers/search", tags=HF, responses=answers(422))
def search_papers(
    request: Request,
    q: Annotated[str, Query(max_length=250)] = "",
    limit: Annotated[int, Query(ge=1, le=120)] = 20,
) -> list[dict[str, Any]]:
    """Hybrid (keyword + semantic) search."""
    s = site(request)
    if not q.strip():
        return []
    # HF allows 120 results here, more than a page of our own search: ask the engine directly, not the page view.
    results = search(s.store, q, limit)
    listed = entries(s.store, [h.paper for h in results.hits], None)
    made = s.store.summaries_of([e.paper.id for e in listed])
    return [
        search_item_json(
            e.paper,
            _hf_activity(e.activity),
            base_url=s.base_url,
            highlight=hit.title_html,
            machine=made.get(e.paper.id),
        )
        for e, hit in zip(listed, results.hits, strict=True)
    ]


# -- paperfeed's own ---------------------------------------------------------------------------------------------
_SEARCH_HELP = (
    "Search with filters (category, author, date range) and highlighted matches. At most the first "
    f"{MAX_DEPTH} results are served: a page past them is refused (422, naming ``page``). {explain_ranking()}"
)


@router.get("/search", tags=OWN, description=_SEARCH_HELP, responses=answers(422))
def search_filtered(
    request: Request,
    who: Who,
    q: str = "",
    page: Annotated[int, Query(ge=1, le=MAX_DEPTH, description=f"Page, from 1; page × limit at most {MAX_DEPTH}")] = 1,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    category: str = "",
    author: str = "",
    date_from: Annotated[str, Query(alias="from")] = "",
    date_to: Annotated[str, Query(alias="to")] = "",
    mode: Annotated[str, Query(pattern="^(hybrid|keyword|dense)$")] = "hybrid",
    sort: Annotated[
        str, Query(pattern=f"^({'|'.join(SEARCH_SORTS)})$", description="relevance, or published (newest first)")
    ] = "relevance",
) -> dict[str, Any]:
    view = search_view(
        site(request).store,
        who.user,
        q,
        page=page,
        limit=limit,
        category=category,
        author=author,
        date_from=date_from,
        date_to=date_to,
        mode=mode,
        sort=sort,
    )
    return view.to_dict()


@router.get("/trending", tags=OWN, responses=answers(422))
def trending_api(request: Request, who: Who, day: str | None = None) -> dict[str, Any]:
    """Trending papers with the formula and, per paper, why it ranks where it does."""
    if day:
        parse_day(day, where="day")
    return trending_view(site(request).store, who.user, day or None).to_dict()


def _vote_int(value: object) -> object:
    return bool(value) if type(value) is int and value in (0, 1) else value


# JSON true/false, and 1/0 as existing scripts send it; nothing else (no "yes", no 2), as the schema says.
VoteUp = Annotated[
    StrictBool,
    BeforeValidator(_vote_int),
    WithJsonSchema({"anyOf": [{"type": "boolean"}, {"type": "integer", "enum": [0, 1]}]}),
]


class VoteBody(BaseModel):
    up: VoteUp = Field(True, description="true (or 1) to upvote, false (or 0) to withdraw")


class CommentBody(BaseModel):
    body: Text = Field(description="Plain text or a small Markdown subset; at most 5000 characters")


class SubmitBody(BaseModel):
    paper: Text = Field(description="An arXiv id or arxiv.org URL")


@router.get("/me", tags=OWN, responses=answers(401, 403))
def me(who: Who) -> dict[str, Any]:
    """The member this token or session belongs to."""
    user = rules.require_member(who.user)
    return {"name": user.name, "role": user.role, "joined": user.created_at}


@router.post("/submit", tags=OWN, responses=answers(*BODY_ANSWERS, 401, 403, 404, 429, 502))
def submit_api(request: Request, who: Who, body: SubmitBody) -> dict[str, Any]:
    """Submit a paper to today's feed (fetched from arXiv when new here)."""
    check_csrf(request, who, None)
    s: Site = site(request)
    today = datetime.now(UTC).date().isoformat()  # the same day as the submit page (UTC), whatever the server's zone
    paper = rules.submit(s.store, who.user, body.paper, s.fetch_paper, today)
    return {"paper": paper.id, "day": today, "submitter": rules.require_member(who.user).name}


@router.get("/papers/{paper_id:path}/similar", tags=OWN, responses=answers(404, 422))
def similar_api(
    request: Request,
    who: Who,
    paper_id: PaperId,
    limit: Annotated[int, Query(ge=1, le=50)] = 10,
    sort: Annotated[
        str,
        Query(pattern=f"^({'|'.join(SIMILAR_SORTS)})$", description="relevance, recency (newest first) or popularity"),
    ] = "relevance",
) -> list[dict[str, Any]]:
    """Papers most like this one (nearest by meaning and by distinctive words), most similar first; ``sort=recency``
    or ``popularity`` orders the most similar ones newest first or by upvotes and comments (trending's points)."""
    s = site(request)
    hits = similar_papers(s.store, paper_id, limit, sort=sort)
    return [e.to_dict() for e in entries(s.store, [h.paper for h in hits], who.user)]


@router.get("/papers/{paper_id:path}/comments", tags=OWN, responses=answers(404, 422))
def comments_api(request: Request, paper_id: PaperId) -> list[dict[str, Any]]:
    s = site(request)
    s.store.get_paper(paper_id)
    return [
        {"id": c.id, "author": c.author, "created_at": c.created_at, "body": c.body}
        for c in s.store.comments_on(paper_id)
    ]


@router.post("/papers/{paper_id:path}/comments", tags=OWN, responses=answers(*BODY_ANSWERS, 401, 403, 404, 429))
def comment_api(request: Request, who: Who, paper_id: PaperId, body: CommentBody) -> dict[str, Any]:
    check_csrf(request, who, None)
    made = rules.comment(site(request).store, who.user, paper_id, body.body)
    return {"id": made.id, "author": made.author, "created_at": made.created_at, "body": made.body}


@router.post("/papers/{paper_id:path}/vote", tags=OWN, responses=answers(*BODY_ANSWERS, 401, 403, 404))
def vote_api(request: Request, who: Who, paper_id: PaperId, body: VoteBody) -> dict[str, Any]:
    """Upvote (``{"up": true}``) or withdraw the upvote (``{"up": false}``); idempotent."""
    check_csrf(request, who, None)
    result = rules.upvote(site(request).store, who.user, paper_id, body.up)
    return {"paper": result.paper_id, "upvoted": result.upvoted, "upvotes": result.upvotes}


@router.get("/papers/{paper_id:path}", tags=HF, responses=answers(404, 422))
def paper_api(request: Request, who: Who, paper_id: PaperId) -> dict[str, Any]:
    """One paper, in the Hugging Face shape (plus ``comments`` when asked for with ``field=comments``)."""
    s = site(request)
    view = paper_view(s.store, paper_id, who.user, similar_limit=0)
    data = paper_json(view.entry.paper, _hf_activity(view.entry.activity), base_url=s.base_url, machine=view.machine)
    if "comments" in request.query_params.getlist("field"):
        # Moderators see hidden comments too, marked hidden.
        data["comments"] = [
            comment_json(
                c.id,
                c.created_at,
                c.author,
                c.body,
                html,
                hidden=c.hidden_at is not None,
                hidden_reason=c.hidden_reason,
            )
            for c, html in view.comments
        ]
    return data
