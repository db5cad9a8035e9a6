"""Why a paper is recommended, in words a person understands: the tag or the library papers it is closest to, the
author or category that pulled it in, and the "less like this" rating that pushed it down.

A reason names what the member did (their saved and rated papers, by title; the tags they gave them), never the
model's numbers alone; the numbers ride along for the page's "how the score is made" details. A tag is named when
at least ``TAG_PAPERS`` of the library papers close to the candidate (cosine ``REASON_CLOSE`` or more) carry it:
"Close to 3 papers you tagged “diffusion”" says in five words what the titles of its neighbours say in fifty.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from paperfeed.recommend.model import REASON_CLOSE, Scored, Scores

MAX_NEAR = 3
TITLE_CHARS = 90
TAG_PAPERS = 2  # close library papers that must share a tag before the tag is named

Tags = Mapping[str, Sequence[str]]  # a member's tags: {paper id: [tag, …]}


@dataclass(frozen=True)
class Reason:
    kind: str  # tag | close | author | category | less | none
    text: str
    paper_ids: list[str] = field(default_factory=list)  # the library papers it names (pages link them)
    tag: str | None = None  # kind "tag": the member's tag (pages link their library filtered by it)

    @property
    def lead(self) -> str:
        """The text before the quoted tag (pages put a link to the tag after it)."""
        return self.text.removesuffix(f"“{self.tag}”") if self.tag else self.text

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "text": self.text, "papers": self.paper_ids, "tag": self.tag}


def explain(
    scores: Scores, row: int, titles: Mapping[str, str], liked_count: int, tags: Tags | None = None
) -> list[Reason]:
    """The reasons for the candidate in ``row`` of ``scores``, strongest first."""
    return explain_many(scores, [row], titles, liked_count, tags)[0]


def explain_many(
    scores: Scores,
    rows: Sequence[int],
    titles: Mapping[str, str],
    liked_count: int,
    tags: Tags | None = None,
    *,
    first: bool = False,
) -> list[list[Reason]]:
    """The reasons for each candidate in ``rows`` (one member's page or digest section at once); with ``first``,
    only the strongest of each (what a digest shows), and a paper a tag explains is not scored further."""
    tagged = tag_reasons(scores, rows, tags) if tags else [None] * len(rows)
    if not first:
        return [reasons(s, titles, liked_count, t) for s, t in zip(scores.explain_many(rows), tagged, strict=True)]
    scored = iter(scores.explain_many([r for r, t in zip(rows, tagged, strict=True) if t is None]))
    return [[t] if t is not None else reasons(next(scored), titles, liked_count, first=True) for t in tagged]


def tag_reasons(scores: Scores, rows: Sequence[int], tags: Tags) -> list[Reason | None]:
    """Per candidate in ``rows``, the tag most of its close library papers carry, if ``TAG_PAPERS`` or more do (of
    equals, the tag on the closest paper; of equals still, the first in alphabetical order) — with those papers,
    closest first. Array operations over all the rows at once: close (rows x liked) times carries (liked x tags)."""
    liked = scores.profile.liked_ids
    out: list[Reason | None] = [None] * len(rows)
    pairs = [(j, t) for j, pid in enumerate(liked) for t in tags.get(pid, ())]
    sims = scores.liked_sims(rows) if pairs else None
    if sims is None:
        return out
    names = sorted({t for _, t in pairs})
    column = {t: k for k, t in enumerate(names)}
    carries = np.zeros((len(liked), len(names)), dtype=bool)
    carries[[j for j, _ in pairs], [column[t] for _, t in pairs]] = True
    close = sims >= REASON_CLOSE
    counts = close.astype(np.int32) @ carries.astype(np.int32)  # (rows, tags)
    top = counts.max(axis=1)
    named = np.flatnonzero(top >= TAG_PAPERS)
    if not len(named):
        return out
    close, sims, counts = close[named], sims[named], counts[named]
    carried = close[:, :, None] & carries[None, :, :]  # (rows, liked, tags)
    nearest = np.where(carried, sims[:, :, None], -np.inf).max(axis=1)  # each tag's closest paper
    chosen = np.where(counts == top[named][:, None], nearest, -np.inf).argmax(axis=1)  # first of equals: a-z
    picked = carried[np.arange(len(named)), :, chosen]  # (rows, liked): the close papers with the chosen tag
    order = np.argsort(np.where(picked, -sims, np.inf), axis=1, kind="stable")
    for r, k, n, cols in zip(named.tolist(), chosen.tolist(), picked.sum(axis=1).tolist(), order.tolist(), strict=True):
        pids = [liked[j] for j in cols[:n]]
        out[r] = Reason("tag", f"Close to {n} papers you tagged “{names[k]}”", pids, names[k])
    return out


def reasons(
    scored: Scored, titles: Mapping[str, str], liked_count: int, tagged: Reason | None = None, *, first: bool = False
) -> list[Reason]:
    """The reasons for one scored paper, strongest first (at least one); ``tagged``: its tag reason, if any
    (``tag_reasons``); ``first``: the strongest only."""
    said = _reasons(scored, titles, liked_count, tagged)
    out = [next(said)] if first else list(said)
    return out


def _reasons(scored: Scored, titles: Mapping[str, str], liked_count: int, tagged: Reason | None) -> Iterator[Reason]:
    some = tagged is not None
    if tagged is not None:
        yield tagged
    near = [(pid, s) for pid, s in scored.nearest if s >= REASON_CLOSE][:MAX_NEAR]
    if near:
        some = True
        named = ", ".join(f"“{_short(titles.get(pid, pid))}”" for pid, _ in near)
        yield Reason("close", f"Close to {named} in your library", [pid for pid, _ in near])
    if scored.author and scored.author_papers:
        some = True
        papers = "paper" if scored.author_papers == 1 else "papers"
        yield Reason("author", f"By {scored.author}, an author of {scored.author_papers} {papers} in your library")
    if scored.category and (not some or scored.category_papers * 4 >= max(1, liked_count)):
        some = True
        of = f" of your {liked_count}" if liked_count else ""
        yield Reason("category", f"In {scored.category}, like {scored.category_papers}{of} papers you follow")
    if scored.less is not None and scored.less[1] >= REASON_CLOSE:
        some = True
        pid = scored.less[0]
        yield Reason("less", f"Ranked lower: like “{_short(titles.get(pid, pid))}”, which you rated less", [pid])
    if not some and scored.nearest:
        pid, _ = scored.nearest[0]
        yield Reason("close", f"Nearest in your library: “{_short(titles.get(pid, pid))}”, though not close", [pid])
    elif not some:
        yield Reason("none", "Nothing in your library is like it")


@functools.lru_cache(maxsize=1 << 16)  # a digest run names the same library papers for many members
def _short(title: str) -> str:
    title = " ".join(title.split())
    return title if len(title) <= TITLE_CHARS else title[: TITLE_CHARS - 1].rstrip() + "…"
