"""Hugging Face Daily Papers (``huggingface.co/api/daily_papers``): JSON parser and fetcher.

This module owns turning one day's Daily Papers response into papers with HF's community signals (upvotes,
comments, who submitted it, GitHub stars, HF's AI summary and keywords). Those signals are the reason to read this
source at all: the paper metadata itself is arXiv's. Each element is ``{"paper": {...}, ...}``; the flat shape
of ``/api/papers`` (the paper object alone) is read too. HF rate-limits with 429, which PoliteClient honours;
one request a second (``MIN_INTERVAL``) keeps us well clear of it.
"""

from __future__ import annotations

import json
import re
from datetime import date
from typing import Any

from paperfeed.errors import BadInput
from paperfeed.papers import Paper, ParsedItem, Rejection, checked, clean_text, split_arxiv_id, with_links
from paperfeed.sources import Head, ParsedPage
from paperfeed.sources.http import PoliteClient

SOURCE = "hf-daily"  # the papers' source and listing kind (in papers.LISTING_KINDS); the registry says its signals
BASE_URL = "https://huggingface.co"
MIN_INTERVAL = 1.0
PAGE_LIMIT = 100  # the API's maximum page size
# The API is not known to ignore ``p``, but if it ever did, each page would repeat the first: stop there.
MAX_PAGES = 50
_PAPER_KEY_RE = re.compile(rb'"paper"\s*:')


def _check_day(day: str | None) -> str | None:
    if day is None:
        return None
    try:
        return date.fromisoformat(day).isoformat()
    except ValueError:
        raise BadInput(f"not an ISO date (YYYY-MM-DD): {day!r}", "day") from None


def _day_of(value: Any) -> str | None:
    """HF timestamps (``2026-03-06T03:55:12.777Z``, UTC) → their date; None if absent or unreadable."""
    if not isinstance(value, str) or len(value) < 10:
        return None
    try:
        return date.fromisoformat(value[:10]).isoformat()
    except ValueError:
        return None


def _str(value: Any) -> str | None:
    return (value.strip() or None) if isinstance(value, str) else None


def _count(value: Any) -> int | None:
    # bool is an int subclass; a JSON true is not a count.
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _user(value: Any) -> str | None:
    # submittedOnDailyBy names the account in "user"; the older submittedBy in "name".
    if not isinstance(value, dict):
        return None
    return _str(value.get("user")) or _str(value.get("name"))


def sniff(head: Head) -> bool:
    """Does a file hold Daily Papers? Its first JSON object has a ``paper`` (JSON Lines formats are told apart
    first, by their registry entries), or a JSON document (a list, a pretty-printed item) shows a ``paper`` key."""
    if head.record is not None:
        return "paper" in head.record
    return head.text[:1] in (b"{", b"[") and _PAPER_KEY_RE.search(head.text) is not None


def parse_daily_papers(data: bytes, where: str = SOURCE, day: str | None = None) -> ParsedPage:
    """Parse a Daily Papers response (a list, or a single element). ``day`` overrides the listing day."""
    day = _check_day(day)
    try:
        document = json.loads(data)
    except json.JSONDecodeError as exc:
        raise BadInput(f"malformed JSON: {exc}", f"{where}:{exc.lineno}") from None
    except UnicodeDecodeError as exc:
        raise BadInput(f"not UTF-8 text: {exc.reason}", where) from None
    if isinstance(document, dict):
        records: list[Any] = [document]
    elif isinstance(document, list):
        records = document
    else:
        raise BadInput(f"expected a JSON list or object, got {type(document).__name__}", where)
    return ParsedPage([_item(record, f"{where}[{index}]", day) for index, record in enumerate(records)])


def _item(record: Any, where: str, day: str | None) -> ParsedItem:
    if not isinstance(record, dict):
        return Rejection(where, "item is not a JSON object")
    nested = record.get("paper")
    paper: dict[str, Any] = nested if isinstance(nested, dict) else record
    raw_id = _str(paper.get("id"))
    if raw_id is None:
        return Rejection(where, "item has no paper id")
    parsed = split_arxiv_id(raw_id)
    if parsed is None:
        return Rejection(where, f"paper id {raw_id!r} is not an arXiv id")
    arxiv_id, version = parsed
    title = " ".join(clean_text(_str(paper.get("title")) or _str(record.get("title"))).split())
    if not title:
        return Rejection(where, f"paper {arxiv_id} has no title")

    # Every author in order, hidden ones included: "hidden" only hides the HF account link, not the person.
    authors = paper.get("authors")
    author_list = authors if isinstance(authors, list) else []
    names = [name for a in author_list if isinstance(a, dict) and (name := _str(a.get("name")))]
    listing_day = (
        day
        or _day_of(paper.get("submittedOnDailyAt"))
        or _day_of(record.get("submittedOnDailyAt"))
        or _day_of(record.get("publishedAt"))
    )

    signals: dict[str, Any] = {}
    for key, value in (
        ("upvotes", _count(paper.get("upvotes", record.get("upvotes")))),
        ("num_comments", _count(record.get("numComments", paper.get("numComments")))),
        ("submitted_by", _user(paper.get("submittedOnDailyBy")) or _user(record.get("submittedBy"))),
        ("github_stars", _count(paper.get("githubStars"))),
        ("ai_summary", _str(paper.get("ai_summary"))),
        ("submitted_at", _str(paper.get("publishedAt"))),  # the first version's submission time, to the second
    ):
        if value is not None:
            signals[key] = value
    keywords = paper.get("ai_keywords")
    if isinstance(keywords, list) and keywords:
        signals["ai_keywords"] = [k for k in keywords if isinstance(k, str)]

    github = _str(paper.get("githubRepo"))
    project = _str(paper.get("projectPage"))
    result = Paper(
        id=arxiv_id,
        title=title,
        abstract=clean_text(_str(paper.get("summary")) or _str(record.get("summary"))),
        version=version,
        authors=names,
        submitted=_day_of(paper.get("publishedAt")),
        code_urls=[github] if github else [],
        project_urls=[project] if project else [],
        listing_days={listing_day: SOURCE} if listing_day else {},
        source=SOURCE,
        signals=signals,
    )
    return checked(with_links(result), where)


def fetch_daily_papers(
    client: PoliteClient, day: str | None, base_url: str = BASE_URL, *, limit: int = PAGE_LIMIT
) -> list[ParsedItem]:
    """The Daily Papers of ``day`` (None: HF's current day), fetched in pages of ``limit`` until a short page."""
    day = _check_day(day)
    url = f"{base_url.rstrip('/')}/api/daily_papers"
    items: list[ParsedItem] = []
    seen: set[str] = set()
    for page_number in range(MAX_PAGES):
        params: dict[str, str | int] = {"p": page_number, "limit": limit}
        if day is not None:
            params["date"] = day
        response = client.get(url, params=params)
        page = parse_daily_papers(response.body, f"{SOURCE} p={page_number}", day).items
        fresh = [item for item in page if not isinstance(item, Paper) or item.id not in seen]
        seen.update(item.id for item in fresh if isinstance(item, Paper))
        items.extend(fresh)
        if len(page) < limit or not fresh:
            break
    return items
