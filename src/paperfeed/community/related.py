"""Similar papers in the order a reader asks for: most similar, newest, or most popular first.

``search.engine.similar`` finds and ranks a paper's neighbours by content; the orders other services' readers ask
for (newest first, most upvoted first) need the papers' days and the community's signals, which is why the
sorting lives here, above search. The recency and popularity orders re-sort the ``SORTED_FROM`` most similar
papers (or ``limit``, if more are asked for), so a sorted list still holds only close neighbours; popularity is
trending's points without its age decay (``trending.TERMS``: local upvotes, comments and Hugging Face's), ties —
most papers have no votes — keep the similarity order.
"""

from __future__ import annotations

from paperfeed.community.trending import TERMS
from paperfeed.errors import BadInput
from paperfeed.search.engine import Hit, similar
from paperfeed.store import Store

SIMILAR_SORTS = ("relevance", "recency", "popularity")
SORTED_FROM = 25


def similar_papers(
    store: Store, paper_id: str, limit: int = 10, *, sort: str = "relevance", recent_days: int | None = None
) -> list[Hit]:
    """Papers like ``paper_id`` in the order ``sort`` names (see the module docstring)."""
    if sort not in SIMILAR_SORTS:
        raise BadInput(f"sort must be one of {', '.join(SIMILAR_SORTS)}", "sort")
    if sort == "relevance":
        return similar(store, paper_id, limit, recent_days=recent_days)
    hits = similar(store, paper_id, max(limit, SORTED_FROM), recent_days=recent_days)
    ids = [h.paper.id for h in hits]
    if sort == "recency":
        pks = store.pks_for_ids(ids)
        days = store.days_for_pks(list(pks.values()))
        day = {pid: days.get(pk) or "" for pid, pk in pks.items()}
        hits.sort(key=lambda h: day.get(h.paper.id, "")[:10], reverse=True)  # stable: a day's papers keep order
    else:
        activity = store.activity(ids)
        points = {pid: sum(t.weight * getattr(a, t.field) for t in TERMS) for pid, a in activity.items()}
        hits.sort(key=lambda h: points.get(h.paper.id, 0.0), reverse=True)
    return hits[:limit]
