"""The Hugging Face papers API's JSON shapes, built from our papers, so ``HfApi(endpoint=<paperfeed>)`` just works.

This module owns field names and formats only; the routes (``/api/daily_papers``, ``/api/papers``,
``/api/papers/search``, ``/api/papers/{id}``) live in the web app. The shapes follow real recorded responses and
HF's OpenAPI spec (tests/test_hf_format.py compares key sets), and how ``huggingface_hub.hf_api.PaperInfo`` reads
them, which has quirks worth knowing:

- ``title``, ``numComments``, ``submittedBy``, ``projectPage``, ``githubRepo``, ``githubStars`` and ``ai_*`` are
  read from the top level only, where HF's daily items do not have them (so the client never sees HF's links):
  our daily items repeat them there. ``authors``, ``summary``, ``upvotes``, ``publishedAt`` and ``discussionId``
  come from ``paper`` first (``upvotes`` with ``or``, so 0 falls through to the top-level copy).
- The top-level ``publishedAt`` of a daily item becomes ``submitted_at`` (when the paper reached the daily feed),
  so that is what we put there; the paper's own ``publishedAt`` is its first arXiv version, at 00:00Z.
- ``User`` takes the account name from ``user``; the older ``submittedBy`` shape names it in ``name``: user objects
  carry both.

Timestamps are ISO 8601 UTC with milliseconds and "Z" (``2026-11-20T00:00:00.000Z``), the one format
``huggingface_hub.utils.parse_datetime`` documents. Ids HF gives as 24-hex Mongo ids are derived from stable inputs
(author name and position, paper id, member name) so they do not change between requests.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from paperfeed.papers import Paper, is_web_url
from paperfeed.sources.hf_daily import SOURCE as HF_SOURCE

# HF serves avatars and thumbnails from paths like these; the web app must serve (or redirect) them.
AVATAR_PATH = "/avatars/{id}.svg"
THUMBNAIL_PATH = "/papers/{id}/thumbnail.svg"
_TOP_LEVEL_COPIES = ("upvotes", "projectPage", "githubRepo", "githubStars", "ai_summary", "ai_keywords")


@dataclass(frozen=True)
class PaperActivity:
    """Community activity on a paper, as the store counts it."""

    upvotes: int = 0
    num_comments: int = 0
    submitter: str | None = None  # member name who submitted it to the daily feed
    submitted_at: datetime | None = None
    hf_upvotes: int = 0  # upvotes imported from Hugging Face signals


def hf_datetime(value: datetime | str | None) -> str | None:
    """``2026-11-20T00:00:00.000Z``: a datetime (naive means UTC) or an ISO date (midnight UTC); None stays None."""
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = datetime.combine(date.fromisoformat(value[:10]), datetime.min.time())
        except ValueError:
            return None
    moment = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def object_id(*parts: str) -> str:
    """A stable 24-hex id (the shape of HF's Mongo ids) for the given parts."""
    return hashlib.sha1("\x1f".join(parts).encode("utf-8")).hexdigest()[:24]


def user_json(name: str) -> dict[str, Any]:
    """A member as HF's user overview (``submittedBy`` / ``submittedOnDailyBy``)."""
    uid = object_id("user", name)
    return {
        "_id": uid,
        "avatarUrl": AVATAR_PATH.format(id=uid),
        "fullname": name,
        "name": name,
        "user": name,
        "type": "user",
        "isPro": False,
        "isHf": False,
        "isHfAdmin": False,
        "isMod": False,
        "followerCount": 0,
        "isUserFollowing": False,
    }


def comment_json(
    comment_id: int, created_at: str, author: str, body: str, html: str, *, hidden: bool = False
) -> dict[str, Any]:
    """One element of ``comments`` in ``GET /api/papers/{id}?field=comments``."""
    return {
        "id": str(comment_id),
        "createdAt": created_at,
        "author": {"name": author},
        "type": "comment",
        "data": {"latest": {"raw": body, "html": html, "updatedAt": created_at}, "hidden": hidden},
    }


def paper_json(paper: Paper, activity: PaperActivity, *, base_url: str) -> dict[str, Any]:
    """``GET /api/papers/{id}``: the paper object plus linked repos (none: we do not index the Hub).

    ``numComments`` is not in HF's response but ``PaperInfo`` reads it, so clients get our comment count.
    """
    return {
        **_paper(paper, activity, _daily_at(paper, activity, None)),
        "numComments": activity.num_comments,
        "linkedModels": [],
        "numTotalModels": 0,
        "linkedDatasets": [],
        "numTotalDatasets": 0,
        "linkedSpaces": [],
        "numTotalSpaces": 0,
    }


def daily_item_json(paper: Paper, activity: PaperActivity, *, base_url: str, day: str) -> dict[str, Any]:
    """One element of ``GET /api/daily_papers`` for the feed of ``day`` (YYYY-MM-DD)."""
    return _daily_item(paper, activity, base_url, _daily_at(paper, activity, day))


def list_item_json(paper: Paper, activity: PaperActivity, *, base_url: str) -> dict[str, Any]:
    """One element of ``GET /api/papers``: the flat paper object with a ``thumbnailUrl``."""
    return {
        **_paper(paper, activity, _daily_at(paper, activity, None)),
        "thumbnailUrl": _thumbnail(paper, base_url),
        "numComments": activity.num_comments,
    }


def search_item_json(
    paper: Paper, activity: PaperActivity, *, base_url: str, highlight: str | None = None
) -> dict[str, Any]:
    """One element of ``GET /api/papers/search``.

    HF's current search returns daily-item-like objects (``{"paper": {...}, ...}``) and returned a flat
    ``{id, title, thumbnailUrl, source}`` in 2024; this carries both, so clients of either shape read it.
    ``highlight`` (a snippet around the match) is ours, not HF's.
    """
    item = {
        **_daily_item(paper, activity, base_url, _daily_at(paper, activity, None)),
        "id": paper.id,
        "thumbnailUrl": _thumbnail(paper, base_url),
        "source": "paperfeed",
    }
    if highlight is not None:
        item["highlight"] = highlight
    return item


def _daily_item(paper: Paper, activity: PaperActivity, base_url: str, daily_at: str | None) -> dict[str, Any]:
    inner = _paper(paper, activity, daily_at)
    return {
        "paper": inner,
        # A paper with no daily-feed time at all (no announcement day known): HF then repeats the paper's date.
        "publishedAt": daily_at or _published_at(paper),
        "title": _title(paper),
        "summary": paper.abstract,
        "mediaUrls": [],
        "thumbnail": _thumbnail(paper, base_url),
        "numComments": activity.num_comments,
        "submittedBy": user_json(activity.submitter) if activity.submitter else None,
        "isAuthorParticipating": False,
        # Not in HF's daily items (only inside "paper"), but PaperInfo reads these from the top level only: without
        # them the client sees no links, and 0 upvotes as None.
        **{key: inner[key] for key in _TOP_LEVEL_COPIES if key in inner},
    }


def _paper(paper: Paper, activity: PaperActivity, daily_at: str | None) -> dict[str, Any]:
    signals = _hf_signals(paper)
    data: dict[str, Any] = {
        "id": paper.id,
        "authors": [
            {"_id": object_id("author", paper.id, str(position), name), "name": name, "hidden": False}
            for position, name in enumerate(paper.authors)
        ],
        "mediaUrls": [],
        # A paper with no date of its own (some non-arXiv ones) was at least around when it reached the feed.
        "publishedAt": _published_at(paper) or daily_at,
        "submittedOnDailyAt": daily_at,
        "title": _title(paper),
        "submittedOnDailyBy": user_json(activity.submitter) if activity.submitter else None,
        "summary": paper.abstract,
        "upvotes": activity.upvotes + activity.hf_upvotes,
        "discussionId": object_id("discussion", paper.id),
        "projectPage": next(filter(is_web_url, paper.project_urls), None),
        "githubRepo": next((url for url in paper.code_urls if is_web_url(url) and _host(url) == "github.com"), None),
    }
    # What Hugging Face said about the paper, passed on when we imported it (never made up).
    stars = signals.get("github_stars")
    if isinstance(stars, int) and not isinstance(stars, bool):
        data["githubStars"] = stars
    if isinstance(signals.get("ai_summary"), str):
        data["ai_summary"] = signals["ai_summary"]
    keywords = signals.get("ai_keywords")
    if isinstance(keywords, list):
        data["ai_keywords"] = [k for k in keywords if isinstance(k, str)]
    return data


def _title(paper: Paper) -> str:
    return " ".join(paper.title.split())


def _published_at(paper: Paper) -> str | None:
    return hf_datetime(paper.submitted) or hf_datetime(paper.announced) or hf_datetime(paper.updated)


def _daily_at(paper: Paper, activity: PaperActivity, day: str | None) -> str | None:
    if activity.submitted_at is not None:
        return hf_datetime(activity.submitted_at)
    return hf_datetime(day or None) or hf_datetime(paper.announced)


def _thumbnail(paper: Paper, base_url: str) -> str:
    return base_url.rstrip("/") + THUMBNAIL_PATH.format(id=paper.id)


def _host(url: str) -> str:
    parts = url.split("/")
    return parts[2].lower().removeprefix("www.") if len(parts) > 2 else ""


def _hf_signals(paper: Paper) -> dict[str, Any]:
    seen = paper.sightings.get(HF_SOURCE)
    if isinstance(seen, dict) and isinstance(seen.get("signals"), dict):
        signals: dict[str, Any] = seen["signals"]
        return signals
    return paper.signals if paper.source == HF_SOURCE else {}
