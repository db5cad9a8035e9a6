"""For-you sections for many members at once: what a digest run needs (100,000 subscribers in two minutes).

Ranking members one by one would repeat the same work: every member's library is compared with the same period's
papers. Here the papers of all the members' signals are read once (features, then vectors), their cosines to the
period's candidates are computed in one matrix product per group of members (``GROUP_CELLS`` bounds its memory),
and each member's ranking then only gathers the rows of their own papers from it and runs the same model
(``model.score`` with ``liked_sims``), so a digest's For-you section is exactly what the member's page shows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from paperfeed.recommend.foryou import MAX_SIGNALS, NEGATIVE, POSITIVE, Rated, period_candidates
from paperfeed.recommend.model import Candidates, Profile, Vectors, score
from paperfeed.recommend.reasons import Reason, reasons
from paperfeed.search.indexes import indexes_for
from paperfeed.store import Store
from paperfeed.store.recommend import PaperFeatures

GROUP_CELLS = 60_000_000  # cosines held at once (float32: 240 MB) — members are grouped to stay under it


@dataclass(frozen=True)
class Pick:
    paper_id: str
    score: float
    reasons: list[Reason]


def for_you_sections(
    store: Store, day_from: str, day_to: str, members: Mapping[int, Sequence[Rated]], depth: int
) -> dict[int, list[Pick]]:
    """Each member's best ``depth`` papers listed between two days, with their reasons (members whose signals name
    no paper of the store get an empty list)."""
    period = period_candidates(store, day_from, day_to)
    cands = period.candidates
    verdicts = {member: _verdicts(signals) for member, signals in members.items()}
    wanted = list(dict.fromkeys(pid for v in verdicts.values() for pid in v))
    features = store.paper_features(wanted)
    known = [pid for pid in wanted if pid in features]
    row_of = {pid: i for i, pid in enumerate(known)}
    dense = indexes_for(store).dense
    vectors, found = dense.vectors_of([features[pid].pk for pid in known])
    out: dict[int, list[Pick]] = {}
    if not len(cands):
        return {member: [] for member in members}
    pool = _Pool(verdicts, row_of, features, vectors, found, dense.dim)
    group: list[int] = []
    group_rows: set[int] = set()
    for member, verdict in verdicts.items():
        rows = {row_of[pid] for pid in verdict if pid in row_of}
        if group and len(group_rows | rows) * len(cands) > GROUP_CELLS:
            _rank_group(pool, group, group_rows, cands, depth, out)
            group, group_rows = [], set()
        group.append(member)
        group_rows |= rows
    if group:
        _rank_group(pool, group, group_rows, cands, depth, out)
    return out


def _verdicts(signals: Sequence[Rated]) -> dict[str, bool]:
    """Per paper, the newest signal's verdict (True: liked), as ``foryou.member_model`` reads them."""
    verdict: dict[str, bool] = {}
    for s in signals:
        if (s.kind in POSITIVE or s.kind in NEGATIVE) and s.paper_id not in verdict:
            verdict[s.paper_id] = s.kind in POSITIVE
            if len(verdict) >= MAX_SIGNALS:
                break
    return verdict


@dataclass(frozen=True)
class _Pool:
    """The papers of every member's signals: their features, vector rows and which have a vector."""

    verdicts: dict[int, dict[str, bool]]
    row_of: dict[str, int]
    features: dict[str, PaperFeatures]
    vectors: Vectors
    found: npt.NDArray[np.bool_]
    dim: int


def _rank_group(
    pool: _Pool, group: list[int], group_rows: set[int], cands: Candidates, depth: int, out: dict[int, list[Pick]]
) -> None:
    verdicts, row_of, features, vectors, found = pool.verdicts, pool.row_of, pool.features, pool.vectors, pool.found
    dim = pool.dim
    rows = np.array(sorted(group_rows), dtype=np.int64)
    local = {int(r): i for i, r in enumerate(rows)}
    # (papers of the group) x (candidates): a member's liked rows of it are model.score's liked_sims, transposed
    sims = vectors[rows] @ cands.vectors.T if len(rows) else np.zeros((0, len(cands)), np.float32)
    for member in group:
        verdict = verdicts[member]
        liked_ids = [pid for pid, ok in verdict.items() if ok and pid in row_of and found[row_of[pid]]]
        liked = [
            (pid, vectors[row_of[pid]] if found[row_of[pid]] else None, features[pid].categories, features[pid].authors)
            for pid, ok in verdict.items() if ok and pid in row_of
        ]  # fmt: skip
        disliked = [(pid, vectors[row_of[pid]] if found[row_of[pid]] else None) for pid, ok in verdict.items()
                    if not ok and pid in row_of]  # fmt: skip
        profile = Profile.build(liked, disliked, dim=dim)
        if profile.empty:
            out[member] = []
            continue
        liked_sims = sims[[local[row_of[pid]] for pid in liked_ids]].T if liked_ids else None
        scores = score(profile, cands, liked_sims)
        titles = {pid: features[pid].title for pid in verdict if pid in features}
        picks = []
        for i in scores.order()[:depth]:
            picks.append(Pick(cands.ids[int(i)], float(scores.total[int(i)]),
                              reasons(scores.explain(int(i)), titles, len(liked))))  # fmt: skip
        out[member] = picks
