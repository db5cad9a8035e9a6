"""A member's For-you ranking of a period's feed: their signals and the period's papers from the store, the vectors
from the search index, the model (``model.py``) in between.

Per request it reads the member's signal papers (one query for their features, one for their vectors: a few hundred
rows) and scores the period's candidates. The candidates — every paper listed in the period, with their vectors and
the model's inverted indexes — are the same for every member, so they are built once per (store, period) and kept
until the store or its vector index changes (``CANDIDATE_CACHE`` periods, least recently used dropped): nothing on a
member's request grows with the size of the store, and a rating is in the very next ranking (no state to update).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from paperfeed.recommend.model import Candidates, Profile, Scores, score
from paperfeed.recommend.reasons import Reason, Tags, explain_many
from paperfeed.search.indexes import indexes_for
from paperfeed.store import Store
from paperfeed.store.recommend import PaperFeatures

POSITIVE = ("saved", "more", "upvote")
NEGATIVE = ("less",)
MAX_SIGNALS = 500  # the newest signals a ranking learns from (a library is "20–200 papers"; more adds little)
CANDIDATE_CACHE = 16


class Rated(Protocol):
    """What the model reads of a signal: the paper and what the member did (the order of a list says which is newer)."""

    @property
    def paper_id(self) -> str: ...
    @property
    def kind(self) -> str: ...


class Signal(Rated, Protocol):
    """One of a member's interest signals (``store.library.InterestSignal``): a paper, what the member did, when."""

    @property
    def at(self) -> datetime: ...


@dataclass
class MemberModel:
    """A member's trained profile, the titles of the papers it learned from and the member's tags (for the
    reasons)."""

    profile: Profile
    titles: dict[str, str] = field(default_factory=dict)
    liked_count: int = 0
    disliked_count: int = 0
    tags: Tags = field(default_factory=dict)


def member_model(
    store: Store, signals: Sequence[Signal], chosen_categories: Sequence[str] = (), tags: Tags | None = None
) -> MemberModel:
    """Train the member's profile from their signals (newest first; per paper the newest signal counts, so "less"
    after "more" means less). Papers without a vector yet still count by their categories and authors. ``tags``
    (``Store.member_tags``) only go into the reasons."""
    verdict: dict[str, bool] = {}
    for signal in signals:
        if signal.kind not in POSITIVE and signal.kind not in NEGATIVE:
            continue
        if signal.paper_id not in verdict:
            verdict[signal.paper_id] = signal.kind in POSITIVE
        if len(verdict) >= MAX_SIGNALS:
            break
    features = store.paper_features(list(verdict))
    indexes = indexes_for(store)
    dense = indexes.dense
    ids = [pid for pid in verdict if pid in features]
    vectors, found = dense.vectors_of([features[pid].pk for pid in ids])
    liked, disliked = [], []
    for row, pid in enumerate(ids):
        f = features[pid]
        vector = vectors[row] if found[row] else None
        if verdict[pid]:
            liked.append((pid, vector, f.categories, f.authors))
        else:
            disliked.append((pid, vector))
    profile = Profile.build(liked, disliked, dim=dense.dim, chosen_categories=chosen_categories)
    return MemberModel(profile, {pid: features[pid].title for pid in ids}, len(liked), len(disliked), tags or {})


@dataclass(frozen=True)
class PeriodCandidates:
    candidates: Candidates
    features: list[PaperFeatures]


_CACHE: OrderedDict[tuple[int, str, str, int, int], PeriodCandidates] = OrderedDict()
_CACHE_LOCK = threading.Lock()


def period_candidates(store: Store, day_from: str, day_to: str) -> PeriodCandidates:
    """Every paper listed between two days with its vector and features; cached until the store or the vector index
    moves on (a new paper, a new vector), keyed by the store object."""
    dense = indexes_for(store).dense
    key = (id(store), day_from, day_to, store.max_seq(), dense.applied_seq())
    with _CACHE_LOCK:
        hit = _CACHE.get(key)
        if hit is not None:
            _CACHE.move_to_end(key)
            return hit
    features = store.listed_features(day_from, day_to)
    vectors, found = dense.vectors_of([f.pk for f in features])
    built = PeriodCandidates(
        Candidates([f.id for f in features], vectors, found, [f.categories for f in features],
                   [f.authors for f in features]),
        features,
    )  # fmt: skip
    with _CACHE_LOCK:
        _CACHE[key] = built
        while len(_CACHE) > CANDIDATE_CACHE:
            _CACHE.popitem(last=False)
    return built


def forget_candidates() -> None:
    """Drop every cached period (tests, and benchmarks that measure a cold ranking)."""
    with _CACHE_LOCK:
        _CACHE.clear()


@dataclass(frozen=True)
class Ranking:
    """A period's papers scored for one member: ``scores`` row i is ``ids[i]``; ``order`` is best first."""

    model: MemberModel
    scores: Scores
    ids: list[str]
    order: list[int]

    @property
    def personal(self) -> dict[str, float]:
        return {pid: float(self.scores.total[i]) for i, pid in enumerate(self.ids)}

    def why(self, row: int) -> list[Reason]:
        """The reasons for the paper in ``row``, strongest first."""
        return self.why_many([row])[0]

    def why_many(self, rows: Sequence[int]) -> list[list[Reason]]:
        """The reasons for the papers in ``rows`` (a page's), each strongest first."""
        model = self.model
        return explain_many(self.scores, rows, model.titles, model.liked_count, model.tags)


def rank_period(
    store: Store,
    signals: Sequence[Signal],
    day_from: str,
    day_to: str,
    chosen_categories: Sequence[str] = (),
    tags: Tags | None = None,
) -> Ranking:
    """The member's ranking of every paper listed between two days (inclusive); ``tags``: the member's, for the
    reasons."""
    trained = member_model(store, signals, chosen_categories, tags)
    period = period_candidates(store, day_from, day_to)
    scores = score(trained.profile, period.candidates)
    return Ranking(trained, scores, period.candidates.ids, [int(i) for i in scores.order()])
