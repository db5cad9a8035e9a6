"""Why a paper is recommended, in words a person understands: the library papers it is closest to, the author or
category that pulled it in, and the "less like this" rating that pushed it down.

A reason names what the member did (their saved and rated papers, by title), never the model's numbers alone; the
numbers ride along for the page's "how the score is made" details.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any

from paperfeed.recommend.model import REASON_CLOSE, Scored

MAX_NEAR = 3
TITLE_CHARS = 90


@dataclass(frozen=True)
class Reason:
    kind: str  # close | author | category | less | none
    text: str
    paper_ids: list[str] = field(default_factory=list)  # the library papers it names (pages link them)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "text": self.text, "papers": self.paper_ids}


def reasons(scored: Scored, titles: dict[str, str], liked_count: int) -> list[Reason]:
    """The reasons for one scored paper, strongest first (at least one)."""
    out: list[Reason] = []
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


@functools.lru_cache(maxsize=1 << 16)  # a digest run names the same library papers for many members
def _short(title: str) -> str:
    title = " ".join(title.split())
    return title if len(title) <= TITLE_CHARS else title[: TITLE_CHARS - 1].rstrip() + "…"
