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

- HF always sends ``submittedBy`` (daily items) and ``submittedOnDailyBy`` as an object: ours is the member who
  submitted the paper here, else the Hugging Face account that submitted it there (imported signals), else the
  listing that brought it to the feed (an ``org``-type account named after it: ``arxiv`` for arXiv's daily listing,
  ``daily-papers`` for a saved Daily Papers page). A paper that was never in a feed has no submitter: null.
- ``publishedAt`` inside ``paper`` is the first version's submission time when a source told us (the arXiv API or
  Hugging Face itself: the ``submitted_at`` signal), else midnight of its
  submission day, else of its announcement day.

docs/hf-api.md lists every field HF sends and what we send for it.

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
from paperfeed.store.summaries import MachineSummary

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


# The listing kinds that bring a paper to the daily feed without a person submitting it, as HF-style accounts.
_LISTING_ACCOUNTS = {
    "new": ("arxiv", "arXiv daily listing"),
    "cross": ("arxiv", "arXiv daily listing"),
    "derived": ("arxiv", "arXiv daily listing"),
    "seed": ("daily-papers", "Daily Papers page"),
    "hf-daily": ("huggingface", "Hugging Face Daily Papers"),
}


def listing_account_json(name: str, fullname: str) -> dict[str, Any]:
    """The listing that brought a paper to the feed, shaped as HF's user overview (``type`` "org")."""
    return {**user_json(name), "fullname": fullname, "type": "org"}


def comment_json(
    comment_id: int,
    created_at: str,
    author: str,
    body: str,
    html: str,
    *,
    hidden: bool = False,
    hidden_reason: str | None = None,
) -> dict[str, Any]:
    """One element of ``comments`` in ``GET /api/papers/{id}?field=comments``.

    paperfeed's comments are never edited, have no replies and no reactions, so those fields say exactly that
    (``edited`` false, ``numEdits`` 0, ``parentCommentId`` null, ``reactions`` empty). ``hiddenBy`` (a moderator)
    and ``identifiedLanguage`` are not known and are left out."""
    stamp = hf_datetime(_moment(created_at)) or created_at
    person = user_json(author)
    data: dict[str, Any] = {
        "edited": False,
        "hidden": hidden,
        "latest": {"raw": body, "html": html, "updatedAt": stamp, "author": person},
        "numEdits": 0,
        "editors": [author],
        "editorAvatarUrls": [person["avatarUrl"]],
        "reactions": [],
        "isReport": False,
        "parentCommentId": None,
    }
    if hidden and hidden_reason:
        data["hiddenReason"] = hidden_reason
    return {"id": str(comment_id), "createdAt": stamp, "author": person, "type": "comment", "data": data}


def _moment(value: str) -> datetime | None:
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def paper_json(
    paper: Paper, activity: PaperActivity, *, base_url: str, machine: MachineSummary | None = None
) -> dict[str, Any]:
    """``GET /api/papers/{id}``: the paper object plus linked repos (none: we do not index the Hub).

    ``numComments`` is not in HF's response but ``PaperInfo`` reads it, so clients get our comment count.
    """
    return {
        **_paper(paper, activity, _daily_at(paper, activity, None), machine),
        "numComments": activity.num_comments,
        "linkedModels": [],
        "numTotalModels": 0,
        "linkedDatasets": [],
        "numTotalDatasets": 0,
        "linkedSpaces": [],
        "numTotalSpaces": 0,
    }


def daily_item_json(
    paper: Paper, activity: PaperActivity, *, base_url: str, day: str, machine: MachineSummary | None = None
) -> dict[str, Any]:
    """One element of ``GET /api/daily_papers`` for the feed of ``day`` (YYYY-MM-DD)."""
    return _daily_item(paper, activity, base_url, _daily_at(paper, activity, day), machine)


def list_item_json(
    paper: Paper, activity: PaperActivity, *, base_url: str, machine: MachineSummary | None = None
) -> dict[str, Any]:
    """One element of ``GET /api/papers``: the flat paper object with a ``thumbnailUrl``."""
    return {
        **_paper(paper, activity, _daily_at(paper, activity, None), machine),
        "thumbnailUrl": _thumbnail(paper, base_url),
        "numComments": activity.num_comments,
    }


def search_item_json(
    paper: Paper,
    activity: PaperActivity,
    *,
    base_url: str,
    highlight: str | None = None,
    machine: MachineSummary | None = None,
) -> dict[str, Any]:
    """One element of ``GET /api/papers/search``.

    HF's current search returns daily-item-like objects (``{"paper": {...}, ...}``) and returned a flat
    ``{id, title, thumbnailUrl, source}`` in 2024; this carries both, so clients of either shape read it.
    ``highlight`` (a snippet around the match) is ours, not HF's.
    """
    item = {
        **_daily_item(paper, activity, base_url, _daily_at(paper, activity, None), machine),
        "id": paper.id,
        "thumbnailUrl": _thumbnail(paper, base_url),
        "source": "paperfeed",
    }
    if highlight is not None:
        item["highlight"] = highlight
    return item


def _daily_item(
    paper: Paper, activity: PaperActivity, base_url: str, daily_at: str | None, machine: MachineSummary | None = None
) -> dict[str, Any]:
    inner = _paper(paper, activity, daily_at, machine)
    return {
        "paper": inner,
        # A paper with no daily-feed time at all (no announcement day known): HF then repeats the paper's date.
        "publishedAt": daily_at or _published_at(paper),
        "title": _title(paper),
        "summary": paper.abstract,
        "mediaUrls": [],
        "thumbnail": _thumbnail(paper, base_url),
        "numComments": activity.num_comments,
        "submittedBy": _submitter(paper, activity),
        "isAuthorParticipating": False,
        # Not in HF's daily items (only inside "paper"), but PaperInfo reads these from the top level only: without
        # them the client sees no links, and 0 upvotes as None.
        **{key: inner[key] for key in _TOP_LEVEL_COPIES if key in inner},
    }


def _paper(
    paper: Paper, activity: PaperActivity, daily_at: str | None, machine: MachineSummary | None = None
) -> dict[str, Any]:
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
        "submittedOnDailyBy": _submitter(paper, activity),
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
    # Else ours, when the index job has made them (extractive: a sentence and phrases of the abstract); never both.
    if machine is not None and hf_summary(paper) is None:
        if machine.sentence:
            data["ai_summary"] = machine.sentence
        if machine.keyphrases:
            data["ai_keywords"] = list(machine.keyphrases)
    return data


def hf_summary(paper: Paper) -> MachineSummary | None:
    """Hugging Face's own ``ai_summary`` and ``ai_keywords``, when they were imported with the paper (then they are
    shown, not ours)."""
    signals = _hf_signals(paper)
    sentence, keywords = signals.get("ai_summary"), signals.get("ai_keywords")
    if not isinstance(sentence, str) and not isinstance(keywords, list):
        return None
    return MachineSummary(
        sentence if isinstance(sentence, str) and sentence.strip() else None,
        [k for k in keywords if isinstance(k, str)] if isinstance(keywords, list) else [],
    )


def _title(paper: Paper) -> str:
    return " ".join(paper.title.split())


def _published_at(paper: Paper) -> str | None:
    """The first version's submission time a source gave, else midnight of the submission (or announcement) day."""
    for sighting in [{"signals": paper.signals}, *paper.sightings.values()]:
        signals = sighting.get("signals")
        stamp = signals.get("submitted_at") if isinstance(signals, dict) else None
        moment = _moment(stamp) if isinstance(stamp, str) else None
        if moment is None:
            continue
        day = (moment.astimezone(UTC) if moment.tzinfo else moment).date().isoformat()
        if paper.submitted is None or day == paper.submitted[:10]:  # a stamp of this paper's first version
            return hf_datetime(moment)
    return hf_datetime(paper.submitted) or hf_datetime(paper.announced) or hf_datetime(paper.updated)


def _submitter(paper: Paper, activity: PaperActivity) -> dict[str, Any] | None:
    """Who put the paper in the feed: a member here, else HF's submitter, else the listing it came from."""
    if activity.submitter:
        return user_json(activity.submitter)
    on_hf = _hf_signals(paper).get("submitted_by")
    if isinstance(on_hf, str) and on_hf:
        return user_json(on_hf)
    for _day, kind in sorted(paper.listing_days.items()):
        if kind in _LISTING_ACCOUNTS:
            return listing_account_json(*_LISTING_ACCOUNTS[kind])
    return None


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
