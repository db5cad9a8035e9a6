"""Trending: which recent papers the community is paying attention to, by one documented formula.

The formula is written once, as data: ``TERMS`` (what counts and how much) and ``GRAVITY``/``AGE_OFFSET_HOURS``
(how fast a paper fades). ``rank`` computes with them, ``FORMULA`` (the text shown on the trending page and in the
API) and ``TrendingEntry.why`` (each paper's explanation) are derived from them, so changing a weight here changes
the ranking and its explanations together. Today it reads:

    points = upvotes + 0.5 × comments + 0.5 × HF upvotes + 0.25 × HF comments
    score  = points / (age_hours + 2) ^ 1.5

``age_hours`` runs from the start (00:00 UTC) of the paper's latest day in the feed (its announcement, its Hugging
Face Daily Papers day, or the day a member submitted it) to the end of the day trending is computed for. That day
is by default the latest day in the feed not after today (``as_of``), so a store whose papers stop before today
(the demo, an instance that stopped harvesting) still ranks the papers of its last week rather than an empty
window. Candidates are the papers with any points that were in the feed during the seven days up to that day, or
were upvoted or discussed during them (an older paper voted on ranks, low, by its own age). The exponent 1.5 is
gentler than Hacker News' 1.8 because papers stay news for days, not hours; local votes count double Hugging
Face's because they are this site's own readers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta

from paperfeed.store import Store

WINDOW_DAYS = 7


@dataclass(frozen=True)
class Term:
    """One count that earns points: the ``TrendingEntry`` field it reads, its weight, and how people read it."""

    field: str
    weight: float
    one: str  # "1 upvote"
    many: str  # "3 upvotes"; also the term's name in FORMULA
    always_shown: bool = False  # in ``why`` even when zero (so an explanation never starts with "+")

    def count(self, n: int) -> str:
        return f"{n} {self.one if n == 1 else self.many}"


TERMS = (
    Term("upvotes", 1.0, "upvote", "upvotes", always_shown=True),
    Term("comments", 0.5, "comment", "comments"),
    Term("external_upvotes", 0.5, "HF upvotes", "HF upvotes"),
    Term("external_comments", 0.25, "HF comments", "HF comments"),
)
GRAVITY = 1.5
AGE_OFFSET_HOURS = 2.0  # a paper of age 0 does not divide by zero, and the first hours do not dominate


def _weighted(weight: float, what: str) -> str:
    return what if weight == 1 else f"{weight:g} × {what}"


FORMULA = (
    "points = "
    + " + ".join(_weighted(t.weight, t.many) for t in TERMS)
    + f"; score = points / (age h + {AGE_OFFSET_HOURS:g})^{GRAVITY:g}"
)


def readable(x: float) -> str:
    """``x`` with three significant digits and never in exponent notation: scores fall to 0.000123 and below for
    papers days old, which a fixed four decimals showed as 0.0000."""
    if x == 0 or not math.isfinite(x):
        return f"{x:g}"
    decimals = max(0, 2 - math.floor(math.log10(abs(x))))
    return f"{x:.{decimals}f}"


def score(points: float, age_hours: float) -> float:
    return float(points / (age_hours + AGE_OFFSET_HOURS) ** GRAVITY)


@dataclass(frozen=True)
class TrendingEntry:
    paper_id: str
    score: float
    points: float
    age_hours: float
    day: str
    upvotes: int
    comments: int
    external_upvotes: int
    external_comments: int

    def why(self) -> str:
        """One line saying how the score came about, term by term."""
        counts = [(t, int(getattr(self, t.field))) for t in TERMS]
        parts = [t.count(n) + ("" if t.weight == 1 else f" × {t.weight:g}") for t, n in counts if n or t.always_shown]
        age = f"{self.age_hours:.0f}"
        days = f" ({self.age_hours / 24:.0f} days)" if self.age_hours >= 72 else ""
        return (
            f"{' + '.join(parts)} = {self.points:g} point{'' if self.points == 1 else 's'}; in the feed {self.day}, "
            f"{age} h{days} old → score {self.points:g} / ({age} + {AGE_OFFSET_HOURS:g})^{GRAVITY:g} = "
            + readable(self.score)
        )


def as_of(store: Store, today: date | None = None) -> str:
    """The day trending is computed for when none is asked for: the latest day in the feed not after ``today``
    (UTC), else ``today`` itself (an empty feed)."""
    today_key = (today or datetime.now(UTC).date()).isoformat()
    return store.latest_feed_day(until=today_key) or today_key


def window(day: str, window_days: int = WINDOW_DAYS) -> tuple[str, str]:
    """The first and last day of the window ending with ``day``."""
    first = date.fromisoformat(day) - timedelta(days=window_days - 1)
    return first.isoformat(), day


def trending(store: Store, day: str | None = None, limit: int = 50, offset: int = 0) -> list[TrendingEntry]:
    """The trending papers as of the end of ``day`` (default: ``as_of``), best first."""
    return rank(store, day)[offset : offset + limit]


def rank(store: Store, day: str | None = None, window_days: int = WINDOW_DAYS) -> list[TrendingEntry]:
    """Every candidate, best first; without ``day``, as of ``as_of`` with votes and comments up to today counted
    as activity in the window (a vote cast today on a paper of the feed's last week, or on an older one, counts)."""
    today = datetime.now(UTC).date().isoformat()
    active_to = today if day is None else day
    day = day or as_of(store)
    end = datetime.fromisoformat(day) + timedelta(days=1)
    start, _ = window(day, window_days)
    entries = []
    for paper_id, listed, up, com, ext_up, ext_com in store.active_listed(start, day, active_to):
        age = max(0.0, (end - datetime.fromisoformat(listed)).total_seconds() / 3600)
        counted = TrendingEntry(paper_id, 0.0, 0.0, age, listed, up, com, ext_up, ext_com)
        points = sum(t.weight * getattr(counted, t.field) for t in TERMS)
        entries.append(replace(counted, score=score(points, age), points=points))
    entries.sort(key=lambda e: (-e.score, -e.points, e.paper_id))
    return entries
