"""The data of each page, built once and rendered as HTML (templates) or JSON (``to_dict``).

A view takes the store and plain arguments (the member looking, a period, a query) and returns plain dataclasses;
it knows nothing of HTTP. The HTML routes pass a view to a template; the JSON routes return its ``to_dict()``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from paperfeed.community.markup import render_comment
from paperfeed.community.related import similar_papers
from paperfeed.community.trending import FORMULA, WINDOW_DAYS, TrendingEntry, as_of, rank, trending, window
from paperfeed.errors import BadInput, NotFound
from paperfeed.formats.bibtex import bibtex
from paperfeed.formats.hf import hf_summary
from paperfeed.papers import CONTENT_ID_PREFIX, Paper, canonical_id, is_web_url
from paperfeed.periods import Period, day_period, parse_day
from paperfeed.recommend import blend as blending
from paperfeed.recommend.foryou import Signal, rank_period
from paperfeed.recommend.reasons import Reason, Tags
from paperfeed.search.engine import MAX_DEPTH, MAX_QUERY, search
from paperfeed.search.engine import SORTS as SEARCH_SORTS
from paperfeed.store import Store
from paperfeed.store.community import Activity, Comment, User
from paperfeed.store.summaries import MachineSummary

PAGE_SIZE = 30
SNIPPET = 400  # characters of a search result's abstract shown around the first match
MAX_PAGE_SIZE = 100
# Feeds page through at most MAX_PAGE pages (300,000 papers in one period; arXiv lists ~25,000 a month): pages past
# the last are empty, pages past MAX_PAGE are refused, so no offset ever overflows the database's 64-bit integers.
MAX_PAGE = 10_000
MAX_OFFSET = MAX_PAGE * MAX_PAGE_SIZE  # the furthest any listing (feeds, HF daily_papers) is paged


@dataclass
class Entry:
    """One paper as a list shows it."""

    paper: Paper
    activity: Activity
    voted: bool = False
    why: str | None = None  # trending: how the score came about
    title_html: str | None = None  # search: highlighted (already escaped) title / abstract
    abstract_html: str | None = None
    reasons: list[Reason] = field(default_factory=list)  # For you: why it fits the member
    blend: blending.Blended | None = None  # For you: the blended score's two parts
    blend_why: str | None = None
    saved: bool | None = None  # in the member's library (None: nobody is logged in)

    @property
    def upvotes(self) -> int:
        return self.activity.upvotes + self.activity.external_upvotes

    @property
    def on_arxiv(self) -> bool:
        return not self.paper.id.startswith(CONTENT_ID_PREFIX)

    @property
    def dated(self) -> bool:
        """Does the paper have a date of its own (submitted, updated or announced)?"""
        return bool(self.paper.submitted or self.paper.updated or self.paper.announced)

    @property
    def first_listed(self) -> tuple[str, str] | None:
        """(day, kind) of the first listing that showed the paper, e.g. the date line of a Daily Papers page."""
        days = self.paper.listing_days
        first = min(days, default=None)
        return (first, days[first]) if first else None

    @property
    def unknown(self) -> list[str]:
        """What is not known about the paper, in words for its page (seed papers: authors, date, identifier)."""
        missing = [] if self.paper.authors else ["authors"]
        if not self.dated:
            missing.append("date")
        if not self.on_arxiv and not self.paper.doi:
            missing.append("identifier (arXiv id or DOI)")
        return missing

    @property
    def citable(self) -> bool:
        """Enough to cite: an arXiv id or DOI, or authors. A title alone is not a citation."""
        return self.on_arxiv or bool(self.paper.doi) or bool(self.paper.authors)

    def to_dict(self) -> dict[str, Any]:
        p = self.paper
        data: dict[str, Any] = {
            "id": p.id,
            "title": p.title,
            "authors": p.authors,
            "categories": p.categories,
            "abstract": p.abstract,
            "submitted": p.submitted,
            "announced": p.announced,
            "code_urls": [u for u in p.code_urls if is_web_url(u)],
            "project_urls": [u for u in p.project_urls if is_web_url(u)],
            "upvotes": self.upvotes,
            "local_upvotes": self.activity.upvotes,
            "hf_upvotes": self.activity.external_upvotes,
            "comments": self.activity.comments,
            "submitter": self.activity.submitter,
            "voted": self.voted,
            "unknown": self.unknown,
        }
        if self.saved is not None:
            data["saved"] = self.saved
        if self.why is not None:
            data["why"] = self.why
        if self.title_html is not None:
            data["title_html"] = self.title_html
            data["abstract_html"] = self.abstract_html
        if self.blend is not None:
            data["for_you"] = {
                **self.blend.to_dict(),
                "explanation": self.blend_why,
                "reasons": [r.to_dict() for r in self.reasons],
            }
        return data


def entries(store: Store, papers: list[Paper], user: User | None) -> list[Entry]:
    ids = [p.id for p in papers]
    activity = store.activity(ids)
    voted = store.voted(user.id, ids) if user else set()
    saved = store.saved_among(user.id, ids) if user else set()  # one query for the page's save buttons
    return [Entry(p, activity[p.id], p.id in voted, saved=(p.id in saved) if user else None) for p in papers]


def _ordered(store: Store, ids: list[str]) -> list[Paper]:
    found = store.get_papers(ids)
    return [found[i] for i in ids if i in found]


@dataclass
class FeedView:
    period: Period
    entries: list[Entry]
    total: int
    page: int
    pages: int
    sort: str
    previous: str | None  # the neighbouring period's key, when it has papers (days) or exists (weeks, months)
    next: str | None
    category: str = ""  # only papers in these categories (space-separated), as asked for with ?category=
    latest: bool = False  # no period was asked for: the latest day (the home page)
    personal: PersonalPart | None = None  # a member's blend (None: a visitor, or a member without signals)

    @property
    def feed_path(self) -> str:
        """The feed of what this page shows, without its format: the latest day's, or this period's."""
        if self.latest:
            return "/feeds/daily"
        return f"/feeds/{'date' if self.period.kind == 'day' else self.period.kind}/{self.period.key}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "period": self.period.key,
            "kind": self.period.kind,
            "category": self.category,
            "total": self.total,
            "page": self.page,
            "pages": self.pages,
            "sort": self.sort,
            "previous": self.previous,
            "next": self.next,
            **({"for_you": self.personal.to_dict()} if self.personal else {}),
            "papers": [e.to_dict() for e in self.entries],
        }


@dataclass
class PersonalPart:
    """The For-you side of a feed page: the member's blend and what their model learned from."""

    weight: int  # % personal (0: the plain feed)
    liked: int
    disliked: int
    applied: bool  # the order on the page is the blend (False: weight 0, sort by newest, or nothing to learn from)
    top_upvotes: int = 0

    @property
    def label(self) -> str:
        return blending.LABELS[self.weight]

    def to_dict(self) -> dict[str, Any]:
        return {"personal_weight": self.weight, "learned_from": {"liked": self.liked, "less": self.disliked},
                "applied": self.applied}  # fmt: skip


def check_page(page: int, limit: int = PAGE_SIZE, *, deepest: int = MAX_OFFSET) -> None:
    """Refuse a page or page size out of range, naming the parameter; ``deepest`` is the last result that may be
    shown (MAX_OFFSET for listings, the search engine's MAX_DEPTH for searches)."""
    if not 1 <= limit <= MAX_PAGE_SIZE:
        raise BadInput(f"limit must be between 1 and {MAX_PAGE_SIZE}", where="limit")
    last = max(1, deepest // limit)
    if not 1 <= page <= last:
        raise BadInput(f"page must be between 1 and {last} (at most {deepest} results are shown)", where="page")


def feed_view(
    store: Store,
    period: Period | None,
    user: User | None,
    *,
    page: int = 1,
    sort: str = "votes",
    category: str = "",
    signals: Sequence[Signal] | None = None,
    personal_weight: int = 0,
) -> FeedView:
    """A day's, week's or month's feed; no period means the latest day with papers that is not after today (a
    store whose papers stop before today still opens on its last day). With a member's ``signals`` the page says
    what their blend is, and with a ``personal_weight`` above 0 (and the votes order) the papers come in the blend
    of community and personal scores, each with its reasons (``recommend``)."""
    check_page(page)
    if sort not in ("votes", "published"):
        raise BadInput("sort must be votes or published", where="sort")
    categories = category.split()
    if len(categories) > 20 or any(len(c) > 40 for c in categories):
        raise BadInput("give at most 20 categories like cs.LG, separated by spaces", where="category")
    is_latest = period is None
    if period is None:
        today = datetime.now(UTC).date()
        latest = store.latest_feed_day(until=today.isoformat())
        period = day_period(date.fromisoformat(latest) if latest else today)
    first, last = period.day_range
    personal: PersonalPart | None = None
    explained: dict[str, tuple[blending.Blended, list[Reason], str]] = {}
    ids: list[str] = []
    total = -1
    if signals:
        weight = blending.check_weight(personal_weight)
        personal = PersonalPart(weight, 0, 0, False)
        if weight and sort == "votes":
            tags = store.member_tags(user.id) if user is not None else {}
            ids, total = _blended_page(store, signals, tags, period, weight, page, categories, personal, explained)
    if total < 0:
        ids, total = store.listing(
            first, last, sort=sort, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE, categories=categories
        )
    if period.kind == "day":
        previous = store.feed_day_near(first, -1)
        following = store.feed_day_near(first, +1)
    else:
        previous = period.shift(-1).key
        following = period.shift(1).key if period.shift(1).first <= date.today() else None
    listed = entries(store, _ordered(store, ids), user)
    for entry in listed:
        if entry.paper.id in explained:
            entry.blend, entry.reasons, entry.blend_why = explained[entry.paper.id]
    return FeedView(
        period,
        listed,
        total,
        page,
        max(1, -(-total // PAGE_SIZE)),
        sort,
        previous,
        following,
        " ".join(categories),
        is_latest,
        personal,
    )


def _blended_page(
    store: Store,
    signals: Sequence[Signal],
    tags: Tags,
    period: Period,
    weight: int,
    page: int,
    categories: list[str],
    personal: PersonalPart,
    explained: dict[str, tuple[blending.Blended, list[Reason], str]],
) -> tuple[list[str], int]:
    """One page of the period in the member's blended order, its total, and each shown paper's explanation; total
    -1 when the member's signals name no paper of this store (the page is then the plain feed)."""
    first, last = period.day_range
    ranking = rank_period(store, signals, first, last, tags=tags)
    model = ranking.model
    personal.liked, personal.disliked = model.liked_count, model.disliked_count
    if model.profile.empty:
        return [], -1
    blended, top = blending.blend(ranking, store.listed_upvotes(first, last), weight)
    if categories:
        wanted = set(categories)
        cats = ranking.scores.candidates.categories
        blended = [b for b in blended if wanted.intersection(cats[b.row])]
    personal.applied, personal.top_upvotes = True, top
    shown = blended[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
    word = period.kind
    for b, said in zip(shown, ranking.why_many([b.row for b in shown]), strict=True):
        explained[b.paper_id] = (b, said, b.explain(top, word))
    return [b.paper_id for b in shown], len(blended)


def daily_ids(
    store: Store, period: Period | None, *, sort: str, submitter: str | None, offset: int, limit: int
) -> tuple[list[str], dict[str, str]]:
    """The HF ``daily_papers`` selection: paper ids newest first (``publishedAt``) or by trending score, over a
    period (else everything, or the last week for trending), and each paper's day in the feed."""
    if offset < 0 or not 1 <= limit <= MAX_PAGE_SIZE or offset > MAX_OFFSET:
        raise BadInput(f"daily papers page through at most {MAX_OFFSET} papers", where="p")
    if sort == "trending":
        window = (period.last - period.first).days + 1 if period else WINDOW_DAYS
        ranked = rank(store, period.last.isoformat() if period else None, window_days=window)
        if submitter is not None:
            by = store.activity([t.paper_id for t in ranked])
            ranked = [t for t in ranked if (by[t.paper_id].submitter or "").lower() == submitter.lower()]
        return [t.paper_id for t in ranked][offset : offset + limit], {t.paper_id: t.day for t in ranked}
    first, last = period.day_range if period else ("0000-00-00", "9999-12-31")
    # No total: HF's answer has none, and counting every listed paper is what made this slow at 100k papers.
    ids, _ = store.listing(first, last, sort="published", limit=limit, offset=offset, submitter=submitter, count=False)
    return ids, store.first_listing_days(ids)


@dataclass
class TrendingView:
    day: str  # trending as of the end of this day: the one asked for, else the latest feed day not after today
    window_from: str  # the first day of the window (the window's last day is ``day``)
    entries: list[Entry]
    formula: str
    feed_ends: bool = False  # no day was asked for and the feed's latest day is before today: the window ends there

    def to_dict(self) -> dict[str, Any]:
        return {
            "day": self.day,
            "window": {"from": self.window_from, "to": self.day},
            "formula": self.formula,
            "papers": [e.to_dict() for e in self.entries],
        }


def trending_view(store: Store, user: User | None, day: str | None = None, limit: int = PAGE_SIZE) -> TrendingView:
    ranked: list[TrendingEntry] = trending(store, day, limit=limit)
    feed_ends = False
    if day is None:
        day = as_of(store)
        feed_ends = day < datetime.now(UTC).date().isoformat()
    listed = entries(store, _ordered(store, [t.paper_id for t in ranked]), user)
    why = {t.paper_id: t.why() for t in ranked}
    for entry in listed:
        entry.why = why.get(entry.paper.id)
    first, _ = window(day)
    return TrendingView(day, first, listed, FORMULA, feed_ends)


@dataclass
class SearchView:
    query: str
    entries: list[Entry]
    total: int
    page: int
    took_ms: float
    filters: dict[str, str]
    notes: list[str] = field(default_factory=list)
    sort: str = "relevance"
    exact: bool = True  # False: at least ``total`` match (more keyword matches than were ranked)

    @property
    def has_more(self) -> bool:
        return self.page * PAGE_SIZE < self.total and (self.page + 1) * PAGE_SIZE <= MAX_DEPTH

    def to_dict(self) -> dict[str, Any]:
        return {
            "query": self.query,
            "filters": self.filters,
            "sort": self.sort,
            "total": self.total,
            "total_exact": self.exact,
            "page": self.page,
            "took_ms": round(self.took_ms, 1),
            "notes": self.notes,
            "papers": [e.to_dict() for e in self.entries],
        }


def search_view(
    store: Store,
    user: User | None,
    query: str,
    *,
    page: int = 1,
    limit: int = PAGE_SIZE,
    category: str = "",
    author: str = "",
    date_from: str = "",
    date_to: str = "",
    mode: str = "hybrid",
    sort: str = "relevance",
) -> SearchView:
    check_page(page, limit, deepest=MAX_DEPTH)
    for name, value in (("from", date_from), ("to", date_to)):
        if value:
            parse_day(value, where=name)
    if len(query) > MAX_QUERY:
        raise BadInput(f"the query is longer than {MAX_QUERY} characters", where="q")
    if sort not in SEARCH_SORTS:
        raise BadInput(f"sort must be one of {', '.join(SEARCH_SORTS)}", where="sort")
    filters = {"category": category, "author": author, "from": date_from, "to": date_to}
    if not query.strip() and not any(filters.values()):
        return SearchView(query, [], 0, page, 0.0, filters, sort=sort)
    results = search(
        store,
        query,
        limit,
        offset=(page - 1) * limit,
        mode=mode,  # type: ignore[arg-type]
        categories=[c for c in category.split() if c],
        authors=[author] if author.strip() else [],
        date_from=date_from or None,
        date_to=date_to or None,
        snippet=SNIPPET,
        sort=sort,
    )
    listed = entries(store, [h.paper for h in results.hits], user)
    for entry, hit in zip(listed, results.hits, strict=True):
        entry.title_html, entry.abstract_html = hit.title_html, hit.abstract_html
    return SearchView(query, listed, results.total, page, results.took_ms, filters, results.notes, sort, results.exact)


@dataclass
class PaperView:
    entry: Entry
    comments: list[tuple[Comment, str]]  # (comment, its sanitised HTML)
    similar: list[Entry]
    bibtex: str | None  # None when too little is known to cite the paper
    similar_sort: str = "relevance"
    library: dict[str, Any] | None = None  # the member's own: entry, rating, collections (None: nobody logged in)
    # The machine-made summary and keyphrases: Hugging Face's own where they were imported, else the index job's
    # extractive ones; None when neither exists (a page never runs the model)
    machine: MachineSummary | None = None
    machine_by: str = "paperfeed"  # who made ``machine``: "paperfeed" or "huggingface"

    def to_dict(self) -> dict[str, Any]:
        mine = {}
        if self.library is not None:
            entry = self.library["entry"]
            mine = {
                "library": {
                    "saved": entry is not None,
                    "state": entry.state if entry else None,
                    "tags": list(entry.tags) if entry else [],
                    "note": entry.note if entry else "",
                    "rating": self.library["rating"],
                    "collections": [c.slug for c in self.library["collections"] if c.id in self.library["holding"]],
                }
            }
        return {
            **mine,
            **self.entry.to_dict(),
            "comments_list": [
                {"id": c.id, "author": c.author, "created_at": c.created_at, "body": c.body, "html": html}
                for c, html in self.comments
            ],
            "similar": [e.to_dict() for e in self.similar],
            "similar_sort": self.similar_sort,
            "bibtex": self.bibtex,
            **(
                {
                    "machine_summary": {
                        "ai_summary": self.machine.sentence,
                        "ai_keywords": self.machine.keyphrases,
                        "by": self.machine_by,
                    }
                }
                if self.machine
                else {}
            ),
        }


def paper_view(
    store: Store, paper_id: str, user: User | None, *, similar_limit: int = 8, similar_sort: str = "relevance"
) -> PaperView:
    """One paper, found by any way of writing its id (a version suffix, an ``arXiv:`` prefix), with its similar
    papers in the order ``similar_sort`` names (``community.related.SIMILAR_SORTS``)."""
    paper_id = canonical_id(paper_id)
    paper = store.get_papers([paper_id]).get(paper_id)
    if paper is None:
        raise NotFound(f"no paper with id {paper_id!r}")
    (entry,) = entries(store, [paper], user)
    moderator = user is not None and user.is_moderator
    comments = [(c, render_comment(c.body)) for c in store.comments_on(paper_id, include_hidden=moderator)]
    near: list[Paper] = []
    if similar_limit > 0:
        try:
            near = [h.paper for h in similar_papers(store, paper_id, similar_limit, sort=similar_sort)]
        except NotFound:  # no vector yet (just submitted, index not caught up)
            near = []
    citation = bibtex(paper) if entry.citable else None
    library = None
    if user is not None:
        library = {
            "entry": store.library_entry(user.id, paper_id),
            "rating": store.ratings_of(user.id, [paper_id]).get(paper_id, 0),
            "collections": store.collections_of(user.id),
            "holding": store.collections_with(user.id, [paper_id]).get(paper_id, []),
        }
    # Hugging Face's own summary, when imported, wins over what the index job stored.
    machine, machine_by = hf_summary(paper), "huggingface"
    if machine is None:
        machine, machine_by = store.summaries_of([paper.id]).get(paper.id), "paperfeed"
    return PaperView(entry, comments, entries(store, near, user), citation, similar_sort, library, machine, machine_by)


@dataclass
class ProfileView:
    member: User
    submitted: list[Entry]
    upvoted: list[Entry]

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.member.name,
            "role": self.member.role,
            "joined": self.member.created_at,
            "blocked": self.member.blocked,
            "submitted": [e.to_dict() for e in self.submitted],
            "upvoted": [e.to_dict() for e in self.upvoted],
        }


def profile_view(store: Store, name: str, viewer: User | None) -> ProfileView:
    member = store.user_by_name(name)
    if member is None:
        raise NotFound(f"no member named {name!r}")
    return ProfileView(
        member,
        entries(store, _ordered(store, store.submitted_by(member.id, 50)), viewer),
        entries(store, _ordered(store, store.upvoted_by(member.id, 50)), viewer),
    )
