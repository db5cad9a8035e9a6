"""The model's scores for many members at once: what makes a digest run of 100,000 subscribers fit in two minutes.

``model.score`` ranks one member with a handful of numpy calls, but a few hundred microseconds of Python per member
(building the profile's counters, the author and category pulls key by key) is most of a digest run. Here a group
of members is scored with array operations over all of them:

* **closeness**: each member's liked papers' rows of the group's (papers x candidates) cosines are gathered into one
  (members x liked x candidates) block, padded with -inf, and the ``NEIGHBOURS`` best per candidate taken by
  argmax passes, as ``model._top`` does per member;
* **pulls**: each pool paper's authors and categories are numbered among the candidates' (a sparse row per paper),
  so a member's counts are one ``np.unique`` over their papers' keys, and the pull (the largest count among a
  candidate's keys) one ``np.maximum.at`` over the candidates holding those keys;
* **total**: ``model.combine``, the very expression a member's page uses; "less like this" goes through
  ``model.less_like`` for the members who rated any paper less.

Reasons are then spelled out only for the papers shown, from a ``model.Scores`` whose profile holds just the
counts a candidate can look up. Row for row the numbers are those of ``model.score`` (tests compare both paths).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt

from paperfeed.recommend.model import (
    NEIGHBOURS,
    Candidates,
    Profile,
    Scores,
    Vectors,
    _top,
    author_key,
    combine,
    less_like,
)

Ints = npt.NDArray[np.int64]
CHUNK_CELLS = 4_000_000  # cosines gathered at once for one chunk of members (float32: 16 MB)


@dataclass(frozen=True)
class Keys:
    """Authors or categories numbered among the candidates': per pool paper the numbers it has (``ptr``/``idx``,
    compressed rows) and per number the candidate rows that have it (``cand_ptr``/``cand_rows``)."""

    names: list[str]
    ptr: Ints
    idx: Ints
    cand_ptr: Ints
    cand_rows: Ints

    @classmethod
    def build(cls, per_paper: Iterable[Iterable[str]], rows_of: dict[str, list[int]]) -> Keys:
        names = list(rows_of)
        column = {k: i for i, k in enumerate(names)}
        lens: list[int] = []
        flat: list[int] = []
        for keys in per_paper:
            hit = [column[k] for k in keys if k in column]
            lens.append(len(hit))
            flat.extend(hit)
        cand_lens = [len(rows_of[k]) for k in names]
        cand_rows = [r for k in names for r in rows_of[k]]
        return cls(names, _offsets(lens), np.array(flat, dtype=np.int64), _offsets(cand_lens),
                   np.array(cand_rows, dtype=np.int64))  # fmt: skip

    def extend(self, more: Keys) -> Keys:
        """These papers' keys and then ``more``'s (built over the same candidates)."""
        return replace(self, ptr=np.concatenate((self.ptr, more.ptr[1:] + self.ptr[-1])),
                       idx=np.concatenate((self.idx, more.idx)))  # fmt: skip


def _offsets(lens: Sequence[int]) -> Ints:
    out = np.zeros(len(lens) + 1, dtype=np.int64)
    out[1:] = np.cumsum(lens)
    return out


def _expand(ptr: Ints, idx: Ints, items: Ints) -> tuple[Ints, Ints]:
    """For compressed rows ``items``: (position in ``items``, value) of every entry of those rows."""
    starts = ptr[items]
    lens = ptr[items + 1] - starts
    owner = np.repeat(np.arange(len(items), dtype=np.int64), lens)
    first = np.cumsum(lens) - lens
    offsets = np.arange(int(lens.sum()), dtype=np.int64) - np.repeat(first - starts, lens)
    return owner, idx[offsets]


def _pull(keys: Keys, member: Ints, paper: Ints, members: int, n: int) -> tuple[Ints, Ints, Ints, Ints]:
    """Per (member, candidate) the largest count, among the candidate's keys, of the member's papers with that key
    (``model._pull`` for every member at once); and the nonzero counts as (member, key, count) for the reasons."""
    owner, key = _expand(keys.ptr, keys.idx, paper)
    width = max(1, len(keys.names))
    pairs, counts = np.unique(member[owner] * width + key, return_counts=True)
    who, which = pairs // width, pairs % width
    best = np.zeros((members, n), dtype=np.int64)
    at, cand = _expand(keys.cand_ptr, keys.cand_rows, which)
    np.maximum.at(best, (who[at], cand), counts[at])
    return best, who, which, counts.astype(np.int64)


@dataclass(frozen=True)
class Pool:
    """The papers of the members' signals (rows of ``vectors``), with what the batched model needs of them."""

    ids: npt.NDArray[np.object_]
    vectors: Vectors
    found: npt.NDArray[np.bool_]
    cand_row: Ints  # the paper's row among the candidates, -1 when it is not one
    category_count: Ints  # distinct categories of the paper (all of them, for the category share)
    authors: Keys
    categories: Keys

    @classmethod
    def build(
        cls,
        ids: list[str],
        vectors: Vectors,
        found: npt.NDArray[np.bool_],
        categories: Sequence[Sequence[str]],
        authors: Sequence[Sequence[str]],
        cands: Candidates,
    ) -> Pool:
        cand_row = np.array([cands.row.get(pid, -1) for pid in ids], dtype=np.int64)
        cat_sets = [set(c) for c in categories]
        return cls(
            np.array(ids, dtype=object), vectors, found, cand_row, np.array([len(c) for c in cat_sets], dtype=np.int64),
            Keys.build(({author_key(a) for a in names} for names in authors), cands.by_author),
            Keys.build(cat_sets, cands.by_category),
        )  # fmt: skip

    def extend(self, more: Pool) -> Pool:
        """This pool's papers and then ``more``'s (built over the same candidates): a digest run grows its pool as
        each chunk of members names new papers."""
        return Pool(
            np.concatenate((self.ids, more.ids)), np.concatenate((self.vectors, more.vectors)),
            np.concatenate((self.found, more.found)), np.concatenate((self.cand_row, more.cand_row)),
            np.concatenate((self.category_count, more.category_count)), self.authors.extend(more.authors),
            self.categories.extend(more.categories),
        )  # fmt: skip


@dataclass(frozen=True)
class Member:
    """One member's papers as pool rows: liked (the signal's order; all, and those with a vector) and disliked."""

    liked: Ints
    liked_vec: Ints
    disliked_vec: Ints


def score_group(
    pool: Pool, cands: Candidates, members: Sequence[Member], sims: Vectors, local: Ints, depth: int
) -> list[tuple[Scores, Ints]]:
    """Every member's ``model.Scores`` over the candidates and the rows of their best ``depth``, best first (the
    rows ``Scores.explain`` can spell out: the neighbours are found for those only). ``sims``: the group's (papers x
    candidates) cosines, the unembedded candidates' columns at 0; ``local``: a pool row's row in it."""
    out: list[tuple[Scores, Ints] | None] = [None] * len(members)
    # members of alike library sizes are chunked together, so little of a chunk's block is padding
    by_size = sorted(range(len(members)), key=lambda i: len(members[i].liked_vec))
    start = 0
    while start < len(by_size):
        end = start + 1
        while (
            end < len(by_size)
            and (end - start + 1) * max(1, len(members[by_size[end]].liked_vec)) * len(cands) <= CHUNK_CELLS
        ):
            end += 1
        chunk = by_size[start:end]
        scored = _score_chunk(pool, cands, [members[i] for i in chunk], sims, local, depth)
        for i, one in zip(chunk, scored, strict=True):
            out[i] = one
        start = end
    return [one for one in out if one is not None]


def _top3(work: Vectors) -> tuple[Vectors, Vectors, Vectors]:
    """The three largest values along the first axis, duplicates kept (the values ``NEIGHBOURS`` argmax passes
    find, as ``model._top`` does), by one sweep of elementwise max/min: several times faster than argmax passes
    over a block this size, and exact."""
    t1 = np.full(work.shape[1:], -np.inf, dtype=np.float32)
    t2, t3, tmp = t1.copy(), t1.copy(), np.empty_like(t1)
    for x in work:
        np.minimum(x, t2, out=tmp)
        np.maximum(t3, tmp, out=t3)
        np.minimum(x, t1, out=tmp)
        np.maximum(t2, tmp, out=t2)
        np.maximum(t1, x, out=t1)
    return t1, t2, t3


def _score_chunk(
    pool: Pool, cands: Candidates, members: Sequence[Member], sims: Vectors, local: Ints, depth: int
) -> list[tuple[Scores, Ints]]:
    g, n = len(members), len(cands)
    counts = np.array([len(m.liked_vec) for m in members], dtype=np.int64)
    width = max(1, int(counts.max()))
    cols = np.zeros((width, g), dtype=np.int64)
    pool_rows = np.full((width, g), -1, dtype=np.int64)
    for i, m in enumerate(members):
        cols[: len(m.liked_vec), i] = local[m.liked_vec]
        pool_rows[: len(m.liked_vec), i] = m.liked_vec
    # (liked, members, candidates): member i's [:, i, :] is model.score's (candidates x liked) cosines, transposed
    work = sims[cols]
    for i in np.flatnonzero(counts < width).tolist():
        work[counts[i] :, i] = -np.inf  # padding: never a neighbour
    own = np.where(pool_rows >= 0, pool.cand_row[np.maximum(pool_rows, 0)], -1)
    col, who = np.nonzero(own >= 0)
    work[col, who, own[col, who]] = -1.0  # a liked paper in the feed is ranked by the rest of the library
    k = min(NEIGHBOURS, width)
    top = np.stack(_top3(work)[:k], axis=-1)  # (members, candidates, k), largest first
    closeness = np.zeros((g, n), dtype=np.float32)
    full = counts >= k
    if full.any():
        closeness[full] = top[full].mean(axis=2)
    for short in np.flatnonzero(~full & (counts > 0)).tolist():
        closeness[short] = top[short, :, : counts[short]].mean(axis=1)

    member_of = np.repeat(np.arange(g, dtype=np.int64), [len(m.liked) for m in members])
    liked_all = np.concatenate([m.liked for m in members]) if len(member_of) else np.zeros(0, dtype=np.int64)
    author_n, a_who, a_key, a_count = _pull(pool.authors, member_of, liked_all, g, n)
    category_n, c_who, c_key, c_count = _pull(pool.categories, member_of, liked_all, g, n)
    category_sum = np.bincount(member_of, weights=pool.category_count[liked_all], minlength=g).astype(np.int64)
    total_liked = np.maximum(1, np.where(counts > 0, counts, category_sum))[:, None]
    penalty = np.zeros((g, n), dtype=np.float32)
    less_idx = np.full((g, n), -1, dtype=np.int64)
    disliked_ids: list[list[str]] = [[] for _ in members]
    for i, m in enumerate(members):
        if len(m.disliked_vec):
            disliked_ids[i] = pool.ids[m.disliked_vec].tolist()
            bare = Profile([], pool.vectors[:0], disliked_ids[i], pool.vectors[m.disliked_vec])
            penalty[i], less_idx[i] = less_like(bare, cands)
    total = combine(cands, closeness, penalty, author_n, category_n, total_liked)

    authors: list[Counter[str]] = [Counter() for _ in members]
    for w, key, c in zip(a_who.tolist(), a_key.tolist(), a_count.tolist(), strict=True):
        authors[w][pool.authors.names[key]] = c
    categories: list[Counter[str]] = [Counter() for _ in members]
    for w, key, c in zip(c_who.tolist(), c_key.tolist(), c_count.tolist(), strict=True):
        categories[w][pool.categories.names[key]] = c
    order = np.argsort(-total, axis=1, kind="stable")[:, :depth]
    out = []
    for i, m in enumerate(members):
        kk = min(k, int(counts[i]))
        shown = order[i]
        near_idx = np.zeros((n, kk), dtype=np.int64)
        near_sim = np.zeros((n, kk), dtype=np.float32)
        shown_sims: Vectors | None = None
        if kk:  # the neighbours' names, for the papers shown only: model._top over their rows
            shown_sims = np.ascontiguousarray(work[: counts[i], i, shown].T)
            near_idx[shown], near_sim[shown] = _top(shown_sims, kk)
        # the profile holds only what ``Scores.explain`` looks up: the names of the liked and disliked papers and
        # the counts of the candidates' authors and categories
        profile = Profile(pool.ids[m.liked_vec].tolist(), pool.vectors[:0], disliked_ids[i], None, categories[i],
                          authors[i])  # fmt: skip
        scores = Scores(profile, cands, total[i], closeness[i], near_idx, near_sim, author_n[i], category_n[i],
                        penalty[i], less_idx[i], shown_sims, {r: j for j, r in enumerate(shown.tolist())})  # fmt: skip
        out.append((scores, shown))
    return out


def empty(pool: Pool, member: Member) -> bool:
    """``Profile.empty`` of the member's profile: no paper with a vector, and no liked paper with a category."""
    return not len(member.liked_vec) and not len(member.disliked_vec) and not pool.category_count[member.liked].any()
