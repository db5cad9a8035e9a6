"""arXiv's announcement schedule: on which listing day a submission is announced, and which listing is out now.

Only the daily listing feeds say on which day, and how (new / cross-list / replacement), a paper was announced.
OAI-PMH, the arXiv API and the Kaggle snapshot give the first version's submission time instead, and a paper seen
only through them would have no day in the feed. This module derives that day from arXiv's published schedule
(info.arxiv.org/help/availability.html), all times US Eastern (``America/New_York``, so daylight saving time is
followed):

=====================================  ===================  ==============================
submitted (ET)                          announced (ET)       listing day (stored as)
=====================================  ===================  ==============================
Monday 14:00 – Tuesday 14:00            Tuesday 20:00        Wednesday
Tuesday 14:00 – Wednesday 14:00         Wednesday 20:00      Thursday
Wednesday 14:00 – Thursday 14:00        Thursday 20:00       Friday
Thursday 14:00 – Friday 14:00           Sunday 20:00         Monday
Friday 14:00 – Monday 14:00             Monday 20:00         Tuesday
=====================================  ===================  ==============================

How the listing day is dated: a listing day is the Eastern calendar date *after* the announcement evening. That is
how the listing feeds date their entries (the Monday 20:00 announcement is ``<published>…-09-29T00:00:00-04:00``,
a Tuesday, in ``tests/fixtures/arxiv_rss``) and how arXiv's own /list pages and mailings head it, so derived days
and the feeds' days land on the same dates (Monday to Friday) in ``paper_days``. The rule is therefore: the first
14:00 deadline on a weekday at or after the submission, then the next weekday after that deadline's date. A
submission at exactly 14:00:00 misses the deadline.

What the rule cannot know: arXiv's holidays (no announcement that evening, the deadline moves; a few days a year),
papers put on hold by moderation or reclassified (announced days or weeks later), and submissions whose first
version was replaced before announcement (the first version's time still counts). A derived day is stored with the
kind ``derived`` (``papers.DERIVED_KIND``) so that a real listing, when one is seen, replaces it.
"""

from __future__ import annotations

import email.utils
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from paperfeed.papers import DERIVED_KIND

ARXIV_TZ = ZoneInfo("America/New_York")
DEADLINE = time(14, 0)
# The listing feeds (rss.arxiv.org) are rebuilt once a day, shortly after midnight Eastern.
FEED_READY = time(0, 30)
_FRIDAY = 4


def next_weekday(day: date) -> date:
    """The first Monday-to-Friday date after ``day``."""
    day += timedelta(days=1)
    while day.weekday() > _FRIDAY:
        day += timedelta(days=1)
    return day


def deadline_day(submitted: datetime) -> date:
    """The Eastern date of the first weekday 14:00 deadline the submission made (naive times are UTC)."""
    local = (submitted if submitted.tzinfo else submitted.replace(tzinfo=UTC)).astimezone(ARXIV_TZ)
    day = local.date()
    if day.weekday() <= _FRIDAY and local.time() < DEADLINE:
        return day
    return next_weekday(day)


def listing_day(submitted: datetime) -> date:
    """The listing day (see the module docstring for its dating) a submission at ``submitted`` is announced on."""
    return next_weekday(deadline_day(submitted))


def announcement_time(submitted: datetime) -> datetime:
    """The moment (Eastern) the submission's announcement goes out: 20:00 on the evening before its listing day."""
    evening = listing_day(submitted) - timedelta(days=1)
    return datetime.combine(evening, time(20, 0), tzinfo=ARXIV_TZ)


def parse_moment(timestamp: str | None) -> datetime | None:
    """An ISO 8601 time (``2026-11-16T19:18:42Z``) or RFC 822 one (``Mon, 16 Nov 2026 19:18:42 GMT``).

    None when there is no time of day to go by (a bare date cannot tell which side of 14:00 it was) or the text is
    not a time."""
    text = (timestamp or "").strip()
    if len(text) <= 10:
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        pass
    try:
        return email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None


def listing_day_of(timestamp: str | None) -> str | None:
    """``listing_day`` of an ISO 8601 or RFC 822 time as ``YYYY-MM-DD``; None without a time of day."""
    moment = parse_moment(timestamp)
    return listing_day(moment).isoformat() if moment is not None else None


def derived_days(submitted: datetime | None) -> dict[str, str]:
    """The ``listing_days`` of a sighting that knows only its first version's submission time (``{}`` without it)."""
    return {listing_day(submitted).isoformat(): DERIVED_KIND} if submitted is not None else {}


def latest_feed_day(now: datetime) -> date:
    """The listing day whose feed is out at ``now``: today's (Eastern) from 00:30 on a weekday, else the last one."""
    local = now.astimezone(ARXIV_TZ)
    day = local.date() if local.time() >= FEED_READY else local.date() - timedelta(days=1)
    while day.weekday() > _FRIDAY:
        day -= timedelta(days=1)
    return day
