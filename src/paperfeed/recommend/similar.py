"""Papers like a set of papers — "similar to this collection", "similar to my library" — from the whole store.

Candidates are the vector index's nearest neighbours of the set's papers (the newest ``SEEDS`` of them, ``PER_SEED``
neighbours each: approximate search, so the cost does not grow with the store), then ranked by the same model as
For you (closeness to the set's nearest papers, author and category pulls), with the reasons it gives; the set's
own papers are left out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from paperfeed.errors import BadInput
from paperfeed.recommend.model import Candidates, Profile, score
from paperfeed.recommend.reasons import Reason, Tags, explain_many
from paperfeed.search.indexes import indexes_for
from paperfeed.store import Store

SEEDS = 50
PER_SEED = 20
MAX_LIMIT = 100


@dataclass(frozen=True)
class Similar:
    paper_id: str
    score: float
    reasons: list[Reason]


def similar_to_papers(
    store: Store, paper_ids: Sequence[str], limit: int = 20, *, date_from: str | None = None, tags: Tags | None = None
) -> list[Similar]:
    """The papers most like ``paper_ids`` (in the order given, newest first for a library), best first; with
    ``date_from``, only papers of that day or later; ``tags``: the member's, when the set is their library (the
    reasons name them)."""
    if not 1 <= limit <= MAX_LIMIT:
        raise BadInput(f"limit must be between 1 and {MAX_LIMIT}", where="limit")
    ids = list(dict.fromkeys(paper_ids))
    features = store.paper_features(ids)
    ids = [pid for pid in ids if pid in features]
    if not ids:
        return []
    dense = indexes_for(store).dense
    vectors, found = dense.vectors_of([features[pid].pk for pid in ids])
    liked = [(pid, vectors[i] if found[i] else None, features[pid].categories, features[pid].authors)
             for i, pid in enumerate(ids)]  # fmt: skip
    profile = Profile.build(liked, dim=dense.dim)
    own = set(ids)
    pool: dict[int, None] = {}
    for i in [i for i in range(len(ids)) if found[i]][:SEEDS]:
        for pk, _ in dense.nearest(vectors[i], PER_SEED + 1, date_from=date_from):
            pool[pk] = None
    by_pk = store.ids_for_pks(list(pool))
    cand_ids = [by_pk[pk] for pk in pool if pk in by_pk and by_pk[pk] not in own]
    if not cand_ids:
        return []
    cand_features = store.paper_features(cand_ids)
    cand_ids = [pid for pid in cand_ids if pid in cand_features]
    cand_vectors, cand_found = dense.vectors_of([cand_features[pid].pk for pid in cand_ids])
    candidates = Candidates(cand_ids, cand_vectors, cand_found, [cand_features[p].categories for p in cand_ids],
                            [cand_features[p].authors for p in cand_ids])  # fmt: skip
    scores = score(profile, candidates)
    titles = {pid: features[pid].title for pid in ids}
    rows = scores.order()[:limit].tolist()
    said = explain_many(scores, rows, titles, len(ids), tags)
    return [Similar(cand_ids[i], float(scores.total[i]), r) for i, r in zip(rows, said, strict=True)]
