"""For-you sections for many members at once: what a digest run needs (100,000 subscribers in two minutes).

Ranking members one by one would repeat the same work: every member's library is compared with the same period's
papers. Here the papers of all the members' signals are read once (features, then vectors), their cosines to the
period's candidates are computed in one matrix product per group of members (``GROUP_CELLS`` bounds its memory),
and the group's members are then scored together by ``batch.py`` (the same model as ``model.score``, as array
operations over all of them), so a digest's For-you section is what the member's page shows; reasons are spelled
out only for the papers shown.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from paperfeed.recommend import batch
from paperfeed.recommend.batch import Member, Pool
from paperfeed.recommend.foryou import MAX_SIGNALS, NEGATIVE, POSITIVE, Rated, period_candidates
from paperfeed.recommend.model import Candidates
from paperfeed.recommend.reasons import Reason, Tags, explain
from paperfeed.search.indexes import indexes_for
from paperfeed.store import Store

GROUP_CELLS = 60_000_000  # cosines held at once (float32: 240 MB) — members are grouped to stay under it
PRODUCT_ROWS = 4096


@dataclass(frozen=True)
class Pick:
    paper_id: str
    score: float
    reasons: list[Reason]


def for_you_sections(
    store: Store,
    day_from: str,
    day_to: str,
    members: Mapping[int, Sequence[Rated]],
    depth: int,
    tags: Mapping[int, Tags] | None = None,
) -> dict[int, list[Pick]]:
    """Each member's best ``depth`` papers listed between two days, with their reasons (members whose signals name
    no paper of the store get an empty list); ``tags``: each member's tags, which the reasons name."""
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
    pool = Pool.build(known, vectors, found, [features[p].categories for p in known],
                      [features[p].authors for p in known], cands)  # fmt: skip
    titles = {pid: features[pid].title for pid in known}
    tags = tags or {}
    group: list[tuple[int, Member, int]] = []
    group_rows: set[int] = set()
    for member, verdict in verdicts.items():
        liked = np.array([row_of[pid] for pid, ok in verdict.items() if ok and pid in row_of], dtype=np.int64)
        disliked = np.array([row_of[pid] for pid, ok in verdict.items() if not ok and pid in row_of], dtype=np.int64)
        m = Member(liked, liked[found[liked]], disliked[found[disliked]])
        if batch.empty(pool, m):
            out[member] = []
            continue
        rows = set(m.liked_vec.tolist())
        if group and len(group_rows | rows) * len(cands) > GROUP_CELLS:
            _rank_group(pool, group, group_rows, cands, depth, titles, tags, out)
            group, group_rows = [], set()
        group.append((member, m, len(liked)))
        group_rows |= rows
    if group:
        _rank_group(pool, group, group_rows, cands, depth, titles, tags, out)
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


def _rank_group(
    pool: Pool,
    group: list[tuple[int, Member, int]],
    group_rows: set[int],
    cands: Candidates,
    depth: int,
    titles: dict[str, str],
    tags: Mapping[int, Tags],
    out: dict[int, list[Pick]],
) -> None:
    rows = np.array(sorted(group_rows), dtype=np.int64)
    local = np.full(len(pool.ids), -1, dtype=np.int64)
    local[rows] = np.arange(len(rows))
    # (papers of the group) x (candidates), multiplied as model.score does for one member (candidates x papers),
    # in blocks so the transposed copy stays small
    sims = np.empty((len(rows), len(cands)), dtype=np.float32)
    for b in range(0, len(rows), PRODUCT_ROWS):
        sims[b : b + PRODUCT_ROWS] = (cands.vectors @ pool.vectors[rows[b : b + PRODUCT_ROWS]].T).T
    sims[:, ~cands.has_vector] = 0.0
    for (member, _, liked_count), (scores, shown) in zip(
        group, batch.score_group(pool, cands, [m for _, m, _ in group], sims, local, depth), strict=True
    ):
        own = tags.get(member)
        out[member] = [
            Pick(cands.ids[i], float(scores.total[i]), explain(scores, i, titles, liked_count, own))
            for i in shown.tolist()
        ]
