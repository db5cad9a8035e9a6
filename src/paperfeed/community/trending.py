"""Trending: which recent papers the community is paying attention to, by one documented formula.

    points = upvotes + 0.5 × comments + 0.5 × Hugging Face upvotes + 0.25 × Hugging Face comments
    score  = points / (age_hours + 2) ^ 1.5

``age_hours`` runs from the start (00:00 UTC) of the paper's latest day in the feed (its announcement, its Hugging
Face Daily Papers day, or the day a member submitted it) to the end of the day trending is computed for (today by
default). Candidates are the papers with any points that were in the feed during the seven days up to that day, or
were upvoted or discussed during them (an older paper voted on today ranks, low, by its own age). The exponent 1.5
is gentler than Hacker News' 1.8 because papers stay news for days, not hours; local votes count double Hugging
Face's because they are this site's own readers. Each entry carries the terms of its score so a page can show why it
ranks where it does.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from paperfeed.store import Store

WINDOW_DAYS = 7
GRAVITY = 1.5
WEIGHTS = {"upvotes": 1.0, "comments": 0.5, "external_upvotes": 0.5, "external_comments": 0.25}
FORMULA = "points = upvotes + 0.5 × comments + 0.5 × HF upvotes + 0.25 × HF comments; score = points / (age h + 2)^1.5"


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
        """One line saying how the score came about."""
        parts = [f"{self.upvotes} upvote{'s' * (self.upvotes != 1)}"]
        if self.comments:
            parts.append(f"{self.comments} comment{'s' * (self.comments != 1)} × 0.5")
        if self.external_upvotes:
            parts.append(f"{self.external_upvotes} HF upvotes × 0.5")
        if self.external_comments:
            parts.append(f"{self.external_comments} HF comments × 0.25")
        return (
            f"{' + '.join(parts)} = {self.points:g} point{'' if self.points == 1 else 's'}; in the feed {self.day}, "
            f"{self.age_hours:.0f} h old → score {self.points:g} / ({self.age_hours:.0f} + 2)^{GRAVITY:g} = "
            f"{self.score:.4f}"
        )


def trending(store: Store, day: str | None = None, limit: int = 50, offset: int = 0) -> list[TrendingEntry]:
    """The trending papers as of the end of ``day`` (default: today, UTC), best first."""
    return rank(store, day)[offset : offset + limit]


def rank(store: Store, day: str | None = None, window_days: int = WINDOW_DAYS) -> list[TrendingEntry]:
    day = day or datetime.now(UTC).date().isoformat()
    end = datetime.fromisoformat(day) + timedelta(days=1)
    start = (end - timedelta(days=window_days)).date().isoformat()
    entries = []
    for paper_id, listed, up, com, ext_up, ext_com in store.active_listed(start, day):
        points = (
            WEIGHTS["upvotes"] * up
            + WEIGHTS["comments"] * com
            + WEIGHTS["external_upvotes"] * ext_up
            + WEIGHTS["external_comments"] * ext_com
        )
        age = max(0.0, (end - datetime.fromisoformat(listed)).total_seconds() / 3600)
        score = points / (age + 2) ** GRAVITY
        entries.append(TrendingEntry(paper_id, score, points, age, listed, up, com, ext_up, ext_com))
    entries.sort(key=lambda e: (-e.score, -e.points, e.paper_id))
    return entries
