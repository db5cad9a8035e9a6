"""Why a paper is recommended, in words a person understands: the tag or the library papers it is closest to, the
author or category that pulled it in, and the "less like this" rating that pushed it down.

A reason names what the member did (their saved and rated papers, by title; the tags they gave them), never the
model's numbers alone; the numbers ride along for the page's "how the score is made" details. A tag is named when
at least ``TAG_PAPERS`` of the library papers close to the candidate (cosine ``REASON_CLOSE`` or more) carry it:
"Close to 3 papers you tagged “diffusion”" says in five words what the titles of its neighbours say in fifty.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

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
    """The reasons for the candidate in ``row`` of ``scores`` (the library papers close to it are looked up only
    when the member has tags to name)."""
    return reasons(scores.explain(row, close=bool(tags)), titles, liked_count, tags)


def reasons(scored: Scored, titles: Mapping[str, str], liked_count: int, tags: Tags | None = None) -> list[Reason]:
    """The reasons for one scored paper, strongest first (at least one)."""
    out: list[Reason] = []
    if tags and scored.close:
        tagged = _tag_reason(scored.close, tags)
        if tagged is not None:
            out.append(tagged)
    near = [(pid, s) for pid, s in scored.nearest if s >= REASON_CLOSE][:MAX_NEAR]
    if near:
        named = ", ".join(f"“{_short(titles.get(pid, pid))}”" for pid, _ in near)
        out.append(Reason("close", f"Close to {named} in your library", [pid for pid, _ in near]))
    if scored.author and scored.author_papers:
        papers = "paper" if scored.author_papers == 1 else "papers"
        says = f"By {scored.author}, an author of {scored.author_papers} {papers} in your library"
        out.append(Reason("author", says))
    if scored.category and (not out or scored.category_papers * 4 >= max(1, liked_count)):
        of = f" of your {liked_count}" if liked_count else ""
        out.append(Reason("category", f"In {scored.category}, like {scored.category_papers}{of} papers you follow"))
    if scored.less is not None and scored.less[1] >= REASON_CLOSE:
        pid = scored.less[0]
        out.append(Reason("less", f"Ranked lower: like “{_short(titles.get(pid, pid))}”, which you rated less", [pid]))
    if not out and scored.nearest:
        pid, _ = scored.nearest[0]
        out.append(Reason("close", f"Nearest in your library: “{_short(titles.get(pid, pid))}”, though not close",
                          [pid]))  # fmt: skip
    if not out:
        out.append(Reason("none", "Nothing in your library is like it"))
    return out


def _tag_reason(close: Sequence[tuple[str, float]], tags: Tags) -> Reason | None:
    """The tag most of the close library papers carry (of equals, the one on the closest paper), if enough do."""
    by_tag: dict[str, list[str]] = {}
    for pid, _ in close:
        for tag in tags.get(pid, ()):
            by_tag.setdefault(tag, []).append(pid)
    if not by_tag:
        return None
    tag, pids = max(by_tag.items(), key=lambda item: len(item[1]))
    if len(pids) < TAG_PAPERS:
        return None
    return Reason("tag", f"Close to {len(pids)} papers you tagged “{tag}”", pids, tag)


@functools.lru_cache(maxsize=1 << 16)  # a digest run names the same library papers for many members
def _short(title: str) -> str:
    title = " ".join(title.split())
    return title if len(title) <= TITLE_CHARS else title[: TITLE_CHARS - 1].rstrip() + "…"
