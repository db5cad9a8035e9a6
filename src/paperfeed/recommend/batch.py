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
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from paperfeed.recommend.model import (
    NEIGHBOURS,
    Candidates,
    Profile,
    Scores,
    Vectors,
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


@dataclass(frozen=True)
class Member:
    """One member's papers as pool rows: liked (the signal's order; all, and those with a vector) and disliked."""

    liked: Ints
    liked_vec: Ints
    disliked_vec: Ints


def score_group(pool: Pool, cands: Candidates, members: Sequence[Member], sims: Vectors, local: Ints) -> list[Scores]:
    """Every member's ``model.Scores`` over the candidates. ``sims``: the group's (candidates x papers) cosines,
    the unembedded candidates' rows at 0; ``local``: a pool row's column in it (-1: not in the group)."""
    out: list[Scores | None] = [None] * len(members)
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
        for i, scores in zip(chunk, _score_chunk(pool, cands, [members[i] for i in chunk], sims, local), strict=True):
            out[i] = scores
        start = end
    return [s for s in out if s is not None]


def _score_chunk(pool: Pool, cands: Candidates, members: Sequence[Member], sims: Vectors, local: Ints) -> list[Scores]:
    g, n = len(members), len(cands)
    counts = np.array([len(m.liked_vec) for m in members], dtype=np.int64)
    width = max(1, int(counts.max()))
    cols = np.zeros((g, width), dtype=np.int64)
    pool_rows = np.full((g, width), -1, dtype=np.int64)
    for i, m in enumerate(members):
        cols[i, : len(m.liked_vec)] = local[m.liked_vec]
        pool_rows[i, : len(m.liked_vec)] = m.liked_vec
    # (candidates, members, liked): each member's block is model.score's (candidates x liked) cosines
    work = np.take(sims, cols, axis=1)  # (sims[:, cols] is laid out liked-first: argmax over it is 10x slower)
    for i in np.flatnonzero(counts < width).tolist():
        work[:, i, counts[i] :] = -np.inf  # padding: never a neighbour
    own = np.where(pool_rows >= 0, pool.cand_row[np.maximum(pool_rows, 0)], -1)
    who, col = np.nonzero(own >= 0)
    work[own[who, col], who, col] = -1.0  # a liked paper in the feed is ranked by the rest of the library
    k = min(NEIGHBOURS, width)
    near_idx = np.zeros((n, g, k), dtype=np.int64)
    near_sim = np.zeros((n, g, k), dtype=np.float32)
    for j in range(k):  # model._top, over every member's block at once
        best = work.argmax(axis=2)
        near_idx[:, :, j] = best
        near_sim[:, :, j] = np.take_along_axis(work, best[:, :, None], axis=2)[:, :, 0]
        if j + 1 < k:
            np.put_along_axis(work, best[:, :, None], -np.inf, axis=2)
    closeness = np.zeros((g, n), dtype=np.float32)
    full = counts >= k
    if k and full.any():
        closeness[full] = near_sim[:, full, :].mean(axis=2).T
    for short in np.flatnonzero(~full & (counts > 0)).tolist():
        closeness[short] = near_sim[:, short, : counts[short]].mean(axis=1)

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
    out = []
    for i, m in enumerate(members):
        kk = min(k, int(counts[i]))
        # the profile holds only what ``Scores.explain`` looks up: the names of the liked and disliked papers and
        # the counts of the candidates' authors and categories
        profile = Profile(pool.ids[m.liked_vec].tolist(), pool.vectors[:0], disliked_ids[i], None, categories[i],
                          authors[i])  # fmt: skip
        out.append(Scores(profile, cands, total[i], closeness[i], near_idx[:, i, :kk], near_sim[:, i, :kk],
                          author_n[i], category_n[i], penalty[i], less_idx[i]))  # fmt: skip
    return out


def empty(pool: Pool, member: Member) -> bool:
    """``Profile.empty`` of the member's profile: no paper with a vector, and no liked paper with a category."""
    return not len(member.liked_vec) and not len(member.disliked_vec) and not pool.category_count[member.liked].any()
