"""The per-member interest model: a member's signals in, every candidate paper's personal score and its reasons out.

It is trained per request and has no state of its own, so it is incremental by construction: a rating changes the
next ranking at once, and there is no nightly job. What it learns from is small (a library of a few hundred papers)
and what it ranks is one period's feed, so a ranking is two small matrix products over vectors the search index
already holds; nothing here grows with the size of the store.

The score of a candidate (chosen by ``bench/recommend.py``, see docs/benchmarks.md) adds four parts:

* **closeness**: the mean cosine of the candidate to its ``NEIGHBOURS`` closest liked papers (saved, "more like
  this", upvoted). Nearest neighbours rather than one centroid: a researcher has several interests, and a centroid
  sits between them; the neighbours are also the reason given ("close to A and B in your library").
* **less like this**: minus ``LESS_WEIGHT`` times the cosine to the closest paper rated "less", so a paper like a
  rejected one sinks, and the rejected paper itself goes to the end.
* **author pull**: ``AUTHOR_WEIGHT`` when an author of the candidate wrote liked papers (up to three count).
* **category pull**: ``CATEGORY_WEIGHT`` times the share of liked papers in the candidate's closest category.

The model sees vectors, categories and author names only: plain arrays and lists, so the benchmark runs the very
same function over a data set that never enters a store.
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

Vectors = npt.NDArray[np.float32]

NEIGHBOURS = 3  # liked papers whose closeness is averaged (and named as the reason)
LESS_WEIGHT = 0.5
SELF_LESS = 3.0  # a paper rated "less" counts as this alike to itself: it goes to the end of the member's ranking
AUTHOR_WEIGHT = 0.15
AUTHOR_SATURATION = 3  # liked papers by one author beyond which the pull grows no more
CATEGORY_WEIGHT = 0.05
HUB_WEIGHT = 0.0  # times a candidate's hubness (its closeness to the period's papers in general) taken off
HUB_NEIGHBOURS = 10
HUB_SAMPLE = 2000
REASON_CLOSE = 0.45  # a neighbour at least this close is named as a reason (MiniLM cosines of related abstracts)


@functools.lru_cache(maxsize=1 << 16)
def author_key(name: str) -> str:
    """Authors are matched by name, case and spacing aside (the data has no author ids)."""
    return " ".join(name.lower().split())


@dataclass(frozen=True)
class Profile:
    """What a member's signals say: liked and disliked papers (ids with their vectors, same order), and the
    categories and authors of the liked papers (how many liked papers each)."""

    liked_ids: list[str]
    liked: Vectors
    disliked_ids: list[str] = field(default_factory=list)
    disliked: Vectors | None = None
    categories: Counter[str] = field(default_factory=Counter)
    authors: Counter[str] = field(default_factory=Counter)

    @property
    def empty(self) -> bool:
        return not self.liked_ids and not self.disliked_ids and not self.categories

    @classmethod
    def build(
        cls,
        liked: Sequence[tuple[str, Vectors | None, Sequence[str], Sequence[str]]],
        disliked: Sequence[tuple[str, Vectors | None]] = (),
        dim: int = 384,
        chosen_categories: Sequence[str] = (),
    ) -> Profile:
        """From (id, vector or None, categories, authors) of each liked paper and (id, vector) of each disliked one;
        papers without a vector yet still count for their categories and authors. ``chosen_categories`` (a member's
        own choice, e.g. at cold start) count as if each had one liked paper."""
        with_vec = [(pid, v) for pid, v, _, _ in liked if v is not None]
        # one count per liked paper: a category or author named twice on a paper counts once
        cats = Counter(c for _, _, categories, _ in liked for c in set(categories))
        auths = Counter(k for _, _, _, authors in liked for k in {author_key(a) for a in authors})
        cats.update(set(chosen_categories))
        neg = [(pid, v) for pid, v in disliked if v is not None]
        return cls(
            [pid for pid, _ in with_vec],
            _stack([v for _, v in with_vec], dim),
            [pid for pid, _ in neg],
            _stack([v for _, v in neg], dim) if neg else None,
            cats,
            auths,
        )


def _stack(vectors: Sequence[Vectors], dim: int) -> Vectors:
    if not vectors:
        return np.zeros((0, dim), dtype=np.float32)
    out: Vectors = np.vstack(vectors).astype(np.float32, copy=False)
    return out


class Candidates:
    """The papers to rank: ids, one vector row each (``has_vector`` False: a zero row, not embedded yet), and each
    paper's categories and authors. Built once per period and shared by every member's ranking (``foryou.py``
    caches it), so the inverted indexes (author -> rows, category -> rows) make a member's pulls cost their
    library's size, not the period's."""

    def __init__(
        self,
        ids: Sequence[str],
        vectors: Vectors,
        has_vector: npt.NDArray[np.bool_],
        categories: Sequence[Sequence[str]],
        authors: Sequence[Sequence[str]],
    ) -> None:
        self.ids = list(ids)
        self.vectors = vectors
        self.has_vector = has_vector
        self.categories = [list(c) for c in categories]
        self.authors = [list(a) for a in authors]
        self.author_keys = [[author_key(a) for a in names] for names in self.authors]  # same order as ``authors``
        self.row = {pid: i for i, pid in enumerate(self.ids)}
        self.by_author: dict[str, list[int]] = {}
        self.by_category: dict[str, list[int]] = {}
        for i, keys in enumerate(self.author_keys):
            for key in set(keys):
                self.by_author.setdefault(key, []).append(i)
        for i, cats in enumerate(self.categories):
            for cat in set(cats):
                self.by_category.setdefault(cat, []).append(i)
        self._hubness: npt.NDArray[np.float32] | None = None

    @property
    def hubness(self) -> npt.NDArray[np.float32]:
        """Per candidate, its mean cosine to its ``HUB_NEIGHBOURS`` closest papers among (a sample of) the others:
        some abstracts are close to everything, and would otherwise top every member's ranking. Computed once per
        period (the candidates are cached), against at most ``HUB_SAMPLE`` of them."""
        if self._hubness is None:
            n = len(self.ids)
            out = np.zeros(n, dtype=np.float32)
            rows = np.flatnonzero(self.has_vector)
            if len(rows) > HUB_NEIGHBOURS + 1:
                sample = rows if len(rows) <= HUB_SAMPLE else np.random.default_rng(0).choice(rows, HUB_SAMPLE, False)
                sims = self.vectors[rows] @ self.vectors[sample].T
                k = HUB_NEIGHBOURS + 1  # the paper itself may be in the sample
                top = -np.partition(-sims, k - 1, axis=1)[:, :k]
                out[rows] = np.sort(top, axis=1)[:, :-1].mean(axis=1) if len(sample) == len(rows) else top.mean(axis=1)
            self._hubness = out
        return self._hubness

    def __len__(self) -> int:
        return len(self.ids)


@dataclass(frozen=True)
class Scored:
    """One candidate's personal score and what made it: closeness (mean cosine to its nearest liked papers), the
    liked papers it is closest to (id, cosine), the pulls, and the closest disliked paper when one pushed it down."""

    paper_id: str
    score: float
    closeness: float
    nearest: list[tuple[str, float]]
    author: str | None = None  # the author (as written on the candidate) whose liked papers pulled it in
    author_papers: int = 0
    category: str | None = None
    category_papers: int = 0
    less: tuple[str, float] | None = None
    penalty: float = 0.0


@dataclass(frozen=True)
class Scores:
    """Every candidate's personal score as arrays (row i is candidate i); ``explain(i)`` spells one out. ``sims``:
    the candidates' cosines to the liked papers (rows: candidates, or those of ``sims_rows`` {candidate row: row};
    columns: ``profile.liked_ids``), kept for the reasons that look past the nearest few."""

    profile: Profile
    candidates: Candidates
    total: npt.NDArray[np.float32]
    closeness: npt.NDArray[np.float32]
    near_idx: npt.NDArray[np.int64]
    near_sim: npt.NDArray[np.float32]
    author_n: npt.NDArray[np.int64]
    category_n: npt.NDArray[np.int64]
    penalty: npt.NDArray[np.float32]
    less_idx: npt.NDArray[np.int64]
    sims: Vectors | None = None
    sims_rows: dict[int, int] | None = None

    def order(self) -> npt.NDArray[np.int64]:
        """Candidate rows, best first (ties keep the candidates' order)."""
        out: npt.NDArray[np.int64] = np.argsort(-self.total, kind="stable")
        return out

    def explain(self, i: int) -> Scored:
        """Candidate ``i``'s score and what made it."""
        return self.explain_many([i])[0]

    def explain_many(self, rows: Sequence[int]) -> list[Scored]:
        """The scores of the candidates in ``rows`` and what made them (the arrays are read once for all of them:
        a digest spells out ten papers for each of many members)."""
        profile, cands = self.profile, self.candidates
        at = np.asarray(rows, dtype=np.int64)
        liked, disliked = profile.liked_ids, profile.disliked_ids
        out = []
        for i, total, closeness, near_idx, near_sim, less_idx, penalty in zip(
            at.tolist(), self.total[at].tolist(), self.closeness[at].tolist(), self.near_idx[at].tolist(),
            self.near_sim[at].tolist(), self.less_idx[at].tolist(), self.penalty[at].tolist(), strict=True,
        ):  # fmt: skip
            nearest = [(liked[j], s) for j, s in zip(near_idx, near_sim, strict=True) if s > -1]
            author, author_n = _best(profile.authors, cands.authors[i], cands.author_keys[i])
            category, category_n = _best(profile.categories, cands.categories[i], cands.categories[i])
            less = (disliked[less_idx], min(1.0, penalty / LESS_WEIGHT)) if less_idx >= 0 else None
            out.append(Scored(cands.ids[i], total, closeness, nearest, author, author_n, category, category_n, less,
                              penalty))  # fmt: skip
        return out

    def liked_sims(self, rows: Sequence[int]) -> Vectors | None:
        """The cosines of the candidates in ``rows`` to every liked paper (columns: ``profile.liked_ids``), when
        kept for all of them (reasons that look past the nearest few read them)."""
        if self.sims is None:
            return None
        if self.sims_rows is None:
            return self.sims[np.asarray(rows, dtype=np.int64)]
        if not all(r in self.sims_rows for r in rows):
            return None
        return self.sims[[self.sims_rows[r] for r in rows]]


def score(profile: Profile, candidates: Candidates, liked_sims: Vectors | None = None) -> Scores:
    """Every candidate's personal score (sort it with ``order()``, or mix it into the blend). ``liked_sims``: the
    cosines of candidates (rows) to the liked papers (columns) when the caller has them already (a digest run
    computes them for all its members' papers at once, see ``digest.py``)."""
    n = len(candidates)
    closeness = np.zeros(n, dtype=np.float32)
    near_idx = np.zeros((n, 0), dtype=np.int64)
    near_sim = np.zeros((n, 0), dtype=np.float32)
    sims: Vectors | None = None
    if len(profile.liked_ids) and n:
        sims = candidates.vectors @ profile.liked.T if liked_sims is None else np.array(liked_sims, dtype=np.float32)
        sims[~candidates.has_vector] = 0.0
        for col, pid in enumerate(profile.liked_ids):  # a liked paper in the feed is ranked by the rest of the library
            row = candidates.row.get(pid)
            if row is not None:
                sims[row, col] = -1.0
        near_idx, near_sim = _top(sims, min(NEIGHBOURS, sims.shape[1]))
        closeness = near_sim.mean(axis=1)
    penalty, less_idx = less_like(profile, candidates)
    author_n = _pull(profile.authors, candidates.by_author, n)
    category_n = _pull(profile.categories, candidates.by_category, n)
    total_liked = max(1, len(profile.liked_ids) or sum(profile.categories.values()))
    total = combine(candidates, closeness, penalty, author_n, category_n, total_liked)
    return Scores(profile, candidates, total, closeness, near_idx, near_sim, author_n, category_n, penalty, less_idx,
                  sims)  # fmt: skip


def less_like(profile: Profile, candidates: Candidates) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.int64]]:
    """Per candidate, the "less like this" penalty and the row of the disliked paper behind it (-1: none)."""
    n = len(candidates)
    penalty = np.zeros(n, dtype=np.float32)
    less_idx = np.full(n, -1, dtype=np.int64)
    if profile.disliked is not None and len(profile.disliked_ids) and n:
        neg = candidates.vectors @ profile.disliked.T
        neg[~candidates.has_vector] = 0.0
        for col, pid in enumerate(profile.disliked_ids):  # a disliked paper itself sinks below anything merely alike
            row = candidates.row.get(pid)
            if row is not None:
                neg[row, col] = SELF_LESS
        less_idx = neg.argmax(axis=1)
        penalty = LESS_WEIGHT * np.maximum(neg.max(axis=1), 0.0)
    return penalty, less_idx


def combine(
    candidates: Candidates,
    closeness: npt.NDArray[np.float32],
    penalty: npt.NDArray[np.float32],
    author_n: npt.NDArray[np.int64],
    category_n: npt.NDArray[np.int64],
    total_liked: int | npt.NDArray[np.int64],
) -> npt.NDArray[np.float32]:
    """The score from its parts: one member's (1-d arrays) or many members' (rows; ``total_liked`` a column). One
    expression for both, so a digest's batched scores are the very numbers a member's page computes."""
    out: npt.NDArray[np.float32] = (
        closeness
        - (HUB_WEIGHT * candidates.hubness if HUB_WEIGHT else 0.0)
        - penalty
        + AUTHOR_WEIGHT * np.minimum(author_n, AUTHOR_SATURATION) / AUTHOR_SATURATION
        + CATEGORY_WEIGHT * np.minimum(1.0, category_n / total_liked)
    ).astype(np.float32)
    return out


def _top(sims: Vectors, k: int) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]:
    """Per row, the columns of its ``k`` largest values and the values, largest first: ``k`` passes of argmax, which
    for a few neighbours is several times faster than a partition of every row."""
    rows = np.arange(len(sims))
    work = sims.copy() if k > 1 else sims
    idx = np.empty((len(sims), k), dtype=np.int64)
    val = np.empty((len(sims), k), dtype=np.float32)
    for j in range(k):
        best = work.argmax(axis=1)
        idx[:, j] = best
        val[:, j] = work[rows, best]
        if j + 1 < k:
            work[rows, best] = -np.inf
    return idx, val


def _pull(counts: Counter[str], rows_of: dict[str, list[int]], n: int) -> npt.NDArray[np.int64]:
    """Per candidate, the largest count among its keys (authors or categories): one pass over the member's keys."""
    best = np.zeros(n, dtype=np.int64)
    for key, count in counts.items():
        rows = rows_of.get(key)
        if rows:
            np.maximum.at(best, rows, count)
    return best


def _best(counts: Counter[str], names: Sequence[str], keys: Sequence[str]) -> tuple[str | None, int]:
    """The name (as written) whose key has the largest count, the first of equals; ``keys[i]`` is ``names[i]``'s."""
    best, best_n = None, 0
    for name, key in zip(names, keys, strict=True):
        count = counts.get(key, 0)
        if count > best_n:
            best, best_n = name, count
    return best, best_n
