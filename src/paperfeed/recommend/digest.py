"""For-you sections for many members at once: what a digest run needs (100,000 subscribers in two minutes).

Ranking members one by one would repeat the same work: every member's library is compared with the same period's
papers. Here the members' signals come as the database's rows and are turned into verdicts by array operations
(``_verdicts``: no Python per signal), the papers they name are read once (features, then vectors), their cosines
to the period's candidates are computed in one matrix product per group of members (``GROUP_CELLS`` bounds its
memory), and the group's members are then scored together by ``batch.py`` (the same model as ``model.score``, as
array operations over all of them), so a digest's For-you section is what the member's page shows; reasons are
spelled out only for the papers shown (and, for a digest, only the strongest: ``first_reason``).
"""

from __future__ import annotations

import gc
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import repeat
from operator import itemgetter

import numpy as np

from paperfeed.recommend import batch
from paperfeed.recommend.batch import Ints, Member, Pool
from paperfeed.recommend.foryou import MAX_SIGNALS, NEGATIVE, POSITIVE, period_candidates
from paperfeed.recommend.model import Vectors
from paperfeed.recommend.reasons import Reason, Tags, explain_many
from paperfeed.search.indexes import indexes_for
from paperfeed.store import Store

_VERDICT = {kind: 1 for kind in POSITIVE} | {kind: 0 for kind in NEGATIVE}
GROUP_CELLS = 60_000_000  # cosines held at once (float32: 240 MB) — members are grouped to stay under it
PRODUCT_ROWS = 4096


@dataclass(frozen=True)
class Pick:
    paper_id: str
    score: float
    reasons: list[Reason]


@contextmanager
def collector_paused() -> Iterator[None]:
    """Python's cycle collector off for a digest run: the run makes millions of small objects (rows, reasons) and
    none of them in cycles, so every collection would only walk all of them again (measured: most of a run of
    100,000 members went there). Memory is still freed as it is let go."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def for_you_sections(
    store: Store,
    day_from: str,
    day_to: str,
    members: Sequence[int],
    signals: Sequence[tuple[int, str, str]],
    depth: int,
    tags: Mapping[int, Tags] | None = None,
    *,
    first_reason: bool = False,
) -> dict[int, list[Pick]]:
    """Each member's best ``depth`` papers listed between two days, with their reasons (members whose signals name
    no paper of the store get an empty list). ``signals``: the members' signals as (member, paper id, kind), each
    member's together and newest first (``Store.signal_rows_many``; papers deleted since are left out here);
    ``tags``: each member's, for the reasons; ``first_reason``: only the strongest reason of each paper (a digest
    shows one)."""
    return ForYouRun(store, day_from, day_to, depth, first_reason=first_reason).sections(members, signals, tags)


class ForYouRun:
    """The For-you sections of one period for members given a chunk at a time (a digest run, so that their signals
    never all sit in memory at once): the papers the signals name are read once for the whole run — features,
    titles, vectors, and the pool's arrays, which grow as a chunk names papers the run has not seen."""

    def __init__(self, store: Store, day_from: str, day_to: str, depth: int, *, first_reason: bool = False) -> None:
        self.store, self.depth, self.first_reason = store, depth, first_reason
        self.cands = period_candidates(store, day_from, day_to).candidates
        self.row_of: dict[str, int] = {}  # paper id -> pool row; -1: not a live paper
        self.titles: dict[str, str] = {}
        self.pool: Pool | None = None
        # every pool paper's cosines to the candidates, kept for the whole run while they fit in GROUP_CELLS (then
        # each group of members gets its own, as when they do not)
        self.sims: Vectors | None = None
        self.keep_sims = True

    def sections(
        self, members: Sequence[int], signals: Sequence[tuple[int, str, str]], tags: Mapping[int, Tags] | None = None
    ) -> dict[int, list[Pick]]:
        """``for_you_sections`` for these members (a chunk of the run's)."""
        out: dict[int, list[Pick]] = {member: [] for member in members}
        if not len(self.cands) or not signals:
            return out
        # columns of the rows, without an object per row (a chunk is a million signals)
        users = np.fromiter(map(itemgetter(0), signals), dtype=np.int64, count=len(signals))
        pids, kinds = list(map(itemgetter(1), signals)), list(map(itemgetter(2), signals))
        pool = self._learn(pids)
        cands, found, tags = self.cands, pool.found, tags or {}
        group: list[tuple[int, Member, int]] = []
        group_rows: set[int] = set()
        for member, liked, disliked in _verdicts(users, pids, kinds, self.row_of):
            m = Member(liked, liked[found[liked]], disliked[found[disliked]])
            if batch.empty(pool, m):
                continue
            if self.sims is not None:  # the run's cosines hold every paper: one group
                group.append((member, m, len(liked)))
                continue
            rows = m.liked_vec.tolist()
            new = [r for r in rows if r not in group_rows]  # the member's papers the group does not hold yet
            if group and (len(group_rows) + len(new)) * len(cands) > GROUP_CELLS:
                self._rank_group(pool, group, group_rows, tags, out)
                group, group_rows, new = [], set(), rows
            group.append((member, m, len(liked)))
            group_rows.update(new)
        if group:
            self._rank_group(pool, group, group_rows, tags, out)
        return out

    def _learn(self, pids: Sequence[str]) -> Pool:
        """The pool with every live paper of ``pids`` in it (the ones not seen yet read from the store)."""
        new = [pid for pid in dict.fromkeys(pids) if pid not in self.row_of]
        features = self.store.paper_features(new)
        known = list(features)
        start = len(self.pool.ids) if self.pool is not None else 0
        self.row_of.update(dict.fromkeys(new, -1))
        self.row_of.update((pid, start + i) for i, pid in enumerate(known))
        self.titles.update((pid, features[pid].title) for pid in known)
        if known or self.pool is None:
            vectors, found = indexes_for(self.store).dense.vectors_of([features[pid].pk for pid in known])
            more = Pool.build(known, vectors, found, [features[p].categories for p in known],
                              [features[p].authors for p in known], self.cands)  # fmt: skip
            self.pool = more if self.pool is None else self.pool.extend(more)
        assert self.pool is not None
        if self.keep_sims and len(self.pool.ids) * len(self.cands) > GROUP_CELLS:
            self.keep_sims, self.sims = False, None
        elif self.keep_sims and (self.sims is None or len(self.sims) < len(self.pool.ids)):
            more_sims = self._cosines(self.pool.vectors[start:])
            self.sims = more_sims if self.sims is None else np.concatenate((self.sims, more_sims))
        return self.pool

    def _cosines(self, vectors: Vectors) -> Vectors:
        """(papers) x (candidates), multiplied as model.score does for one member (candidates x papers), in blocks
        so the transposed copy stays small; the unembedded candidates' columns at 0."""
        cands = self.cands
        sims = np.empty((len(vectors), len(cands)), dtype=np.float32)
        for b in range(0, len(vectors), PRODUCT_ROWS):
            sims[b : b + PRODUCT_ROWS] = (cands.vectors @ vectors[b : b + PRODUCT_ROWS].T).T
        sims[:, ~cands.has_vector] = 0.0
        return sims

    def _rank_group(
        self,
        pool: Pool,
        group: list[tuple[int, Member, int]],
        group_rows: set[int],
        tags: Mapping[int, Tags],
        out: dict[int, list[Pick]],
    ) -> None:
        cands = self.cands
        if self.sims is not None:
            sims, local = self.sims, np.arange(len(pool.ids), dtype=np.int64)
        else:
            rows = np.array(sorted(group_rows), dtype=np.int64)
            local = np.full(len(pool.ids), -1, dtype=np.int64)
            local[rows] = np.arange(len(rows))
            sims = self._cosines(pool.vectors[rows])
        scored = batch.score_group(pool, cands, [m for _, m, _ in group], sims, local, self.depth)
        for (member, _, liked_count), (scores, shown) in zip(group, scored, strict=True):
            at = shown.tolist()
            said = explain_many(scores, at, self.titles, liked_count, tags.get(member), first=self.first_reason)
            out[member] = [Pick(cands.ids[i], float(scores.total[i]), r) for i, r in zip(at, said, strict=True)]


def _verdicts(
    users: Ints, pids: Sequence[str], kinds: Sequence[str], row_of: Mapping[str, int]
) -> Iterator[tuple[int, Ints, Ints]]:
    """Per member, the pool rows of the papers they liked and disliked, as ``foryou.member_model`` reads signals:
    live papers only, per paper the newest signal's verdict, the newest ``MAX_SIGNALS`` papers — as array
    operations over every member's signals at once (a digest run reads millions)."""
    n = len(users)
    member = users
    row = np.fromiter(map(row_of.__getitem__, pids), dtype=np.int64, count=n)
    verdict = np.fromiter(map(_VERDICT.get, kinds, repeat(-1)), dtype=np.int8, count=n)  # 1 liked, 0 disliked
    keep = (row >= 0) & (verdict >= 0)
    if not keep.any():
        return
    member, row, verdict = member[keep], row[keep], verdict[keep]
    group = np.concatenate(([0], np.cumsum(member[1:] != member[:-1])))  # 0, 1, … per member, in order
    _, newest = np.unique(group * (len(row_of) + 1) + row, return_index=True)  # each paper's first (newest) signal
    newest.sort()
    member, row, verdict, group = member[newest], row[newest], verdict[newest], group[newest]
    starts = np.flatnonzero(np.concatenate(([True], group[1:] != group[:-1])))
    position = np.arange(len(group)) - np.repeat(starts, np.diff(np.append(starts, len(group))))
    capped = position < MAX_SIGNALS
    row, verdict, group = row[capped], verdict[capped], group[capped]
    liked, disliked = verdict == 1, verdict == 0
    liked_rows, liked_group = row[liked], group[liked]
    disliked_rows, disliked_group = row[disliked], group[disliked]
    every = np.arange(len(starts))
    lo, hi = np.searchsorted(liked_group, every), np.searchsorted(liked_group, every, side="right")
    dlo, dhi = np.searchsorted(disliked_group, every), np.searchsorted(disliked_group, every, side="right")
    for g, who in enumerate(member[starts].tolist()):
        yield who, liked_rows[lo[g] : hi[g]], disliked_rows[dlo[g] : dhi[g]]
