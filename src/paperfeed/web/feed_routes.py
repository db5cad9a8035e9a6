"""RSS 2.0, Atom and JSON Feed documents for the daily feed, trending, categories, authors, searches and a member's
own private feed, with ETag / Last-Modified so feed readers polling every few minutes mostly get a 304.

Each route picks its papers through the same core functions as the pages (listing, trending, search) and hands
them to ``paperfeed.formats.feeds.render_feed``; nothing here knows feed syntax.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime

from fastapi import APIRouter, Request, Response

from paperfeed.community.trending import trending
from paperfeed.errors import BadInput, NotFound
from paperfeed.formats.feeds import FORMATS, MEDIA_TYPES, FeedItem, FeedMeta, feed_etag, last_modified, render_feed
from paperfeed.papers import Paper
from paperfeed.search.engine import search
from paperfeed.store import Store
from paperfeed.tokens import sign, verify
from paperfeed.web.site import Site, site

router = APIRouter(prefix="/feeds", include_in_schema=False)
FEED_SIZE = 50
MEMBER_FEED_PURPOSE = "member-feed"


def _split(name: str) -> tuple[str, str]:
    stem, dot, fmt = name.rpartition(".")
    if not dot or fmt not in FORMATS:
        raise NotFound(f"feeds end in .rss, .atom or .json, not {name!r}")
    return stem, fmt


def _day_time(day: str | None) -> datetime:
    try:
        return datetime.fromisoformat((day or "1970-01-01")[:10]).replace(tzinfo=UTC)
    except ValueError:
        return datetime(1970, 1, 1, tzinfo=UTC)


def _items(s: Site, papers: Sequence[Paper], reasons: dict[str, str] | str = "") -> list[FeedItem]:
    """Feed items for papers; ``reasons`` says why each is there (one text for all, or per paper id)."""
    return [
        FeedItem(
            paper=p,
            url=f"{s.base_url}/papers/{p.id}",
            published=_day_time(p.announced or p.submitted),
            reason=reasons if isinstance(reasons, str) else reasons.get(p.id, ""),
        )
        for p in papers
    ]


def _respond(request: Request, fmt: str, meta: FeedMeta, items: list[FeedItem], private: bool = False) -> Response:
    body = render_feed(fmt, meta, items)
    etag = feed_etag(body)
    modified = last_modified(meta, items)
    headers = {
        "ETag": etag,
        "Last-Modified": format_datetime(modified, usegmt=True),
        "Cache-Control": ("private" if private else "public") + ", max-age=300",
    }
    if _not_modified(request, etag, modified):
        return Response(status_code=304, headers=headers)
    return Response(body, media_type=MEDIA_TYPES[fmt], headers=headers)


def _not_modified(request: Request, etag: str, modified: datetime) -> bool:
    match = request.headers.get("if-none-match")
    if match is not None:  # ETag wins over dates when both are sent (RFC 9110 §13.2.2)
        return etag in [tag.strip() for tag in match.split(",")] or match.strip() == "*"
    since = request.headers.get("if-modified-since")
    if since:
        try:
            return modified <= parsedate_to_datetime(since)
        except (TypeError, ValueError):
            return False
    return False


def _meta(s: Site, request: Request, title: str, page: str, description: str) -> FeedMeta:
    return FeedMeta(
        title=f"paperfeed — {title}",
        page_url=s.base_url + page,
        feed_url=s.base_url + request.url.path + (f"?{request.url.query}" if request.url.query else ""),
        description=description,
    )


def _ordered(store: Store, ids: list[str]) -> list[Paper]:
    found = store.get_papers(ids)
    return [found[i] for i in ids if i in found]


@router.get("/daily.{fmt}")
def daily(request: Request, fmt: str) -> Response:
    _split(f"daily.{fmt}")
    s = site(request)
    day = s.store.latest_feed_day(until=datetime.now(UTC).date().isoformat())
    ids, _ = s.store.listing(day, day, limit=FEED_SIZE) if day else ([], 0)
    meta = _meta(s, request, f"daily papers {day or ''}".strip(), "/", "The latest announcement day's papers.")
    return _respond(request, fmt, meta, _items(s, _ordered(s.store, ids)))


@router.get("/trending.{fmt}")
def trending_feed(request: Request, fmt: str) -> Response:
    _split(f"trending.{fmt}")
    s = site(request)
    ranked = trending(s.store, limit=FEED_SIZE)
    reasons = {t.paper_id: f"Trending: {t.why()}" for t in ranked}
    meta = _meta(s, request, "trending", "/papers/trending", "Papers the community is reading now.")
    return _respond(request, fmt, meta, _items(s, _ordered(s.store, [t.paper_id for t in ranked]), reasons))


@router.get("/category/{name}")
def category_feed(request: Request, name: str) -> Response:
    category, fmt = _split(name)
    s = site(request)
    hits = search(s.store, "", FEED_SIZE, mode="keyword", categories=[category], highlight=False).hits
    meta = _meta(s, request, category, f"/search?category={category}", f"New papers in {category}.")
    return _respond(
        request,
        fmt,
        meta,
        _items(s, [h.paper for h in hits], dict.fromkeys((h.paper.id for h in hits), f"In {category}")),
    )


@router.get("/author/{name}")
def author_feed(request: Request, name: str) -> Response:
    author, fmt = _split(name)
    s = site(request)
    hits = search(s.store, "", FEED_SIZE, mode="keyword", authors=[author], highlight=False).hits
    meta = _meta(s, request, author, f"/search?author={author}", f"New papers by {author}.")
    return _respond(request, fmt, meta, _items(s, [h.paper for h in hits]))


@router.get("/search.{fmt}")
def search_feed(request: Request, fmt: str, q: str = "") -> Response:
    _split(f"search.{fmt}")
    if not q.strip():
        raise BadInput("a search feed needs a query", where="q")
    s = site(request)
    # The most relevant matches, newest first: a reader sees new matches arrive at the top.
    hits = search(s.store, q, 2 * FEED_SIZE, highlight=False).hits
    papers = sorted((h.paper for h in hits), key=lambda p: (p.announced or p.submitted or "", p.id), reverse=True)
    meta = _meta(s, request, f"search: {q}", f"/search?q={q}", f"New papers matching “{q}”.")
    return _respond(
        request, fmt, meta, _items(s, papers[:FEED_SIZE], dict.fromkeys((p.id for p in papers), f"Matches “{q}”"))
    )


def member_feed_token(s: Site, user_id: int) -> str:
    return sign(s.key, MEMBER_FEED_PURPOSE, str(user_id))


@router.get("/u/{token}/{name}")
def member_feed(request: Request, token: str, name: str) -> Response:
    """A member's private feed (what they submitted and upvoted, latest first), read without logging in: the
    signed token in the URL is the credential, so a feed reader can poll it."""
    _, fmt = _split(name)
    s = site(request)
    user_id = int(verify(s.key, MEMBER_FEED_PURPOSE, token))
    user = s.store.user_by_id(user_id)
    if user is None or user.blocked:
        raise NotFound("no such feed")
    ids = list(dict.fromkeys([*s.store.submitted_by(user.id, FEED_SIZE), *s.store.upvoted_by(user.id, FEED_SIZE)]))
    meta = _meta(s, request, f"{user.name}'s papers", f"/u/{user.name}", f"Papers {user.name} submitted or upvoted.")
    return _respond(request, fmt, meta, _items(s, _ordered(s.store, ids)), private=True)
