"""RSS 2.0, Atom and JSON Feed documents for the daily feed, trending, categories, authors, searches and a member's
own private feed, with ETag / Last-Modified so feed readers polling every few minutes mostly get a 304.

Each route picks its papers through the same core functions as the pages (listing, trending, search) and hands
them to ``paperfeed.formats.feeds.render_feed``; nothing here knows feed syntax.
"""

from __future__ import annotations

import hmac
from collections.abc import Sequence
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from urllib.parse import quote

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from paperfeed.community.trending import trending
from paperfeed.errors import BadInput, NotFound
from paperfeed.formats.feeds import FORMATS, MEDIA_TYPES, FeedItem, FeedMeta, feed_etag, last_modified, render_feed
from paperfeed.papers import Paper
from paperfeed.periods import Period, day_period, parse_day, parse_period
from paperfeed.recommend.foryou import rank_period
from paperfeed.search.engine import search
from paperfeed.store import Store
from paperfeed.tokens import sign, verify
from paperfeed.web.site import Site, render, site, wants_json

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


def _categories(category: str) -> list[str]:
    found = category.split()
    if len(found) > 20 or any(len(c) > 40 for c in found):
        raise BadInput("give at most 20 categories like cs.LG, separated by spaces", where="category")
    return found


def _listing_feed(request: Request, fmt: str, period: Period | None, category: str) -> Response:
    """The papers of a period (None: the latest feed day not after today) as the page shows them, most upvoted
    first, optionally only those in ``category``."""
    s = site(request)
    categories = _categories(category)
    if period is None:
        day = s.store.latest_feed_day(until=datetime.now(UTC).date().isoformat())
        first, last = (day, day) if day else ("", "")
        title, page, description = f"daily papers {day or ''}".strip(), "/", "The latest announcement day's papers."
    else:
        first, last = period.day_range
        title, description = f"papers {period.label}", f"The papers of {period.label}."
        page = f"/papers/{'date' if period.kind == 'day' else period.kind}/{period.key}"
    ids, _ = s.store.listing(first, last, limit=FEED_SIZE, categories=categories) if first else ([], 0)
    if categories:
        title += " · " + " ".join(categories)
        page += f"?category={quote(' '.join(categories))}"
    return _respond(request, fmt, _meta(s, request, title, page, description), _items(s, _ordered(s.store, ids)))


@router.get("")
def feeds_index(request: Request) -> Response:
    """Every kind of feed with its URLs, filled in with this site's latest day, week and month."""
    s = site(request)
    day = s.store.latest_feed_day(until=datetime.now(UTC).date().isoformat()) or datetime.now(UTC).date().isoformat()
    latest = day_period(parse_day(day))
    week = parse_period(latest.first.strftime("%G-W%V"), kind="week")
    month = parse_period(latest.first.strftime("%Y-%m"), kind="month")
    # The examples are of this site: the latest day's first paper's category and author.
    ids, _ = s.store.listing(day, day, limit=1, count=False)
    example = _ordered(s.store, ids)
    category = (example[0].categories or ["cs.LG"])[0] if example else "cs.LG"
    author = (example[0].authors or ["Ada Lovelace"])[0] if example else "Ada Lovelace"
    kinds = [
        ("The latest day", "The papers of the latest announcement day, most upvoted first.", "/feeds/daily", ""),
        ("Trending", "What the community is reading now, with why each paper ranks.", "/feeds/trending", ""),
        ("One day", "Any day's papers: /feeds/date/YYYY-MM-DD.", f"/feeds/date/{latest.key}", ""),
        ("One week", "Any ISO week's papers: /feeds/week/YYYY-Www.", f"/feeds/week/{week.key}", ""),
        ("One month", "Any month's papers: /feeds/month/YYYY-MM.", f"/feeds/month/{month.key}", ""),
        (
            "A category",
            "New papers in an arXiv category: /feeds/category/NAME.",
            f"/feeds/category/{quote(category)}",
            "",
        ),
        ("An author", "New papers by an author: /feeds/author/NAME.", f"/feeds/author/{quote(author)}", ""),
        ("A search", "New papers matching a search: /feeds/search.rss?q=….", "/feeds/search", "?q=diffusion"),
        (
            "Day, week or month in categories",
            "Add ?category=NAME (several separated by spaces) to a day, week, month or latest-day feed.",
            "/feeds/daily",
            f"?category={quote(category)}",
        ),
    ]
    if wants_json(request):
        return JSONResponse(
            [
                {"name": name, "about": about, **{fmt: f"{s.base_url}{path}.{fmt}{query}" for fmt in FORMATS}}
                for name, about, path, query in kinds
            ]
        )
    return render(request, "feeds.html", kinds=kinds)


@router.get("/daily.{fmt}")
def daily(request: Request, fmt: str, category: str = "") -> Response:
    _split(f"daily.{fmt}")
    return _listing_feed(request, fmt, None, category)


@router.get("/date/{name}")
def day_feed(request: Request, name: str, category: str = "") -> Response:
    day, fmt = _split(name)
    return _listing_feed(request, fmt, day_period(parse_day(day)), category)


@router.get("/week/{name}")
def week_feed(request: Request, name: str, category: str = "") -> Response:
    week, fmt = _split(name)
    return _listing_feed(request, fmt, parse_period(week, where="week", kind="week"), category)


@router.get("/month/{name}")
def month_feed(request: Request, name: str, category: str = "") -> Response:
    month, fmt = _split(name)
    return _listing_feed(request, fmt, parse_period(month, where="month", kind="month"), category)


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
def search_feed(request: Request, fmt: str, q: str = "", sort: str = "published") -> Response:
    _split(f"search.{fmt}")
    if not q.strip():
        raise BadInput("a search feed needs a query", where="q")
    s = site(request)
    # By default the most relevant matches, newest first (as the page's sort=published): a reader sees new matches
    # arrive at the top.
    papers = [h.paper for h in search(s.store, q, 2 * FEED_SIZE, highlight=False, sort=sort).hits]
    meta = _meta(s, request, f"search: {q}", f"/search?q={q}", f"New papers matching “{q}”.")
    return _respond(
        request, fmt, meta, _items(s, papers[:FEED_SIZE], dict.fromkeys((p.id for p in papers), f"Matches “{q}”"))
    )


def member_feed_token(s: Site, user_id: int) -> str:
    """The credential in a member's private feed URL: their id and their feed key (``rules.reset_feed_url``
    replaces the key, which revokes every URL made with the old one), signed."""
    key = s.store.feed_key(user_id)
    return sign(s.key, MEMBER_FEED_PURPOSE, f"{user_id}:{key}" if key else str(user_id))


def _member_feed_user(s: Site, token: str) -> int:
    user_id, _, key = verify(s.key, MEMBER_FEED_PURPOSE, token).partition(":")
    current = s.store.feed_key(int(user_id)) if user_id.isdigit() else None
    if current is None or not hmac.compare_digest(key, current):
        raise NotFound("no such feed")  # revoked or the account deleted: as if it never existed
    return int(user_id)


@router.get("/u/{token}/{name}")
def member_feed(request: Request, token: str, name: str) -> Response:
    """A member's private feed (what they submitted and upvoted, latest first), read without logging in: the
    signed token in the URL is the credential, so a feed reader can poll it."""
    _, fmt = _split(name)
    s = site(request)
    user_id = _member_feed_user(s, token)
    user = s.store.user_by_id(user_id)
    if user is None or user.blocked:
        raise NotFound("no such feed")
    ids = list(dict.fromkeys([*s.store.submitted_by(user.id, FEED_SIZE), *s.store.upvoted_by(user.id, FEED_SIZE)]))
    meta = _meta(s, request, f"{user.name}'s papers", f"/u/{user.name}", f"Papers {user.name} submitted or upvoted.")
    return _respond(request, fmt, meta, _items(s, _ordered(s.store, ids)), private=True)


@router.get("/for-you/{token}/{name}")
def for_you_feed(request: Request, token: str, name: str) -> Response:
    """A member's private For-you feed: the latest feed day's papers ranked for them (their library, ratings and
    upvotes), each item saying why; the signed token is the credential, as for the member's feed."""
    _, fmt = _split(name)
    s = site(request)
    user = s.store.user_by_id(_member_feed_user(s, token))
    if user is None or user.blocked:
        raise NotFound("no such feed")
    latest = s.store.latest_feed_day(until=datetime.now(UTC).date().isoformat())
    why: dict[str, str] = {}
    if latest:
        signals = s.store.interest_signals(user.id)
        ranking = rank_period(s.store, signals, latest, latest, tags=s.store.member_tags(user.id))
        if not ranking.model.profile.empty:
            rows = ranking.order[:FEED_SIZE]
            for row, said in zip(rows, ranking.why_many(rows), strict=True):
                why[ranking.ids[row]] = "For you: " + "; ".join(r.text for r in said)
    meta = _meta(s, request, f"for {user.name}", "/for-you", f"The latest day's papers ranked for {user.name}.")
    return _respond(request, fmt, meta, _items(s, _ordered(s.store, list(why)), why), private=True)
