"""The blend a member chooses between what their community reads and what fits them, and how it explains itself.

Both parts are put on one scale from 0 to 1 over the period's papers, so a member can read the sum:

* **community** = the paper's upvotes (ours plus Hugging Face's) over the most any paper of the period has: the
  order of the plain feed, which sorts by votes;
* **personal** = the share of the period's papers the member's model ranks below it (1.0: the best fit of the day).

score = (1 - w) x community + w x personal, with w the member's personal weight (0, 25, 50, 75 or 100 %). Ties keep
the personal order. At w = 0 the page is the plain feed and nothing is computed (``feed_view`` does not call this).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from paperfeed.recommend.foryou import Ranking

STEPS = (0, 25, 50, 75, 100)  # the control's positions, in % personal
DEFAULT = 50
LABELS = {0: "Community", 25: "Mostly community", 50: "Half and half", 75: "Mostly personal", 100: "Personal"}


def check_weight(weight: int) -> int:
    """The nearest step of the control (a hand-written URL may say 60)."""
    return min(STEPS, key=lambda s: abs(s - weight))


@dataclass(frozen=True)
class Blended:
    paper_id: str
    score: float
    community: float
    personal: float
    upvotes: int
    row: int  # the paper's row in the ranking's scores (``Ranking.scores.explain(row)``)
    weight: int  # % personal

    def explain(self, top_upvotes: int, period_word: str) -> str:
        w = self.weight / 100
        community = f"{self.upvotes} upvote{'s' if self.upvotes != 1 else ''}"
        if top_upvotes:
            community += f" of the {period_word}'s top {top_upvotes}"
        return (
            f"community {self.community:.2f} ({community}) × {1 - w:.0%} + personal {self.personal:.2f} "
            f"(fits you better than {self.personal:.0%} of the {period_word}'s papers) × {w:.0%} = {self.score:.2f}"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "score": round(self.score, 4),
            "community": round(self.community, 4),
            "personal": round(self.personal, 4),
            "upvotes": self.upvotes,
            "personal_weight": self.weight,
        }


def blend(ranking: Ranking, upvotes: Mapping[str, int], weight: int) -> tuple[list[Blended], int]:
    """The period's papers in blended order, and the most upvotes any of them has."""
    n = len(ranking.ids)
    if n == 0:
        return [], 0
    w = check_weight(weight) / 100
    personal = np.zeros(n, dtype=np.float64)
    order = np.asarray(ranking.order, dtype=np.int64)
    personal[order] = 1.0 - np.arange(n) / max(1, n - 1) if n > 1 else 1.0
    votes = np.array([upvotes.get(pid, 0) for pid in ranking.ids], dtype=np.float64)
    top = int(votes.max()) if n else 0
    community = votes / top if top else np.zeros(n)
    total = (1 - w) * community + w * personal
    blended_order = sorted(range(n), key=lambda i: (-total[i], -personal[i]))
    return [
        Blended(ranking.ids[i], float(total[i]), float(community[i]), float(personal[i]), int(votes[i]), i,
                check_weight(weight))
        for i in blended_order
    ], top  # fmt: skip
