"""The daily feed in SQL: which papers a day, week or month lists, in what order, and the days around it.

A paper is in a period's feed when it was announced (new or cross-listed, or ``derived``: announced by arXiv's
schedule from its first version's submission time, until a listing says otherwise), posted to Hugging Face Daily
Papers, or submitted by a member on a day of that period; replacements (new versions) are not news and are left out.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from paperfeed.papers import FEED_KINDS, LISTING_KINDS
from paperfeed.store.db import Database

# The feed's filter and its order within equal votes, built from the kernel's table of listing kinds: the store
# knows no source by name. Every name is a fixed identifier of that table, never input, so inlining it is safe.
FEED_SQL = ", ".join(f"'{k}'" for k in FEED_KINDS)
_RANK_WHENS = " ".join(f"WHEN '{k.name}' THEN {k.feed_rank}" for k in LISTING_KINDS if k.feed_rank is not None)
_LAST_RANK = 1 + max(k.feed_rank for k in LISTING_KINDS if k.feed_rank is not None)


def feed_rank_sql(column: str) -> str:
    """A SQL expression of a listing kind's feed rank (kinds out of the feed last)."""
    return f"CASE {column} {_RANK_WHENS} ELSE {_LAST_RANK} END"


SORTS = ("votes", "published")
# A paper's publication day: its first version's date, else its announcement (matches the papers_published index).
_PUBLISHED = "COALESCE(submitted, announced, '')"


class ListingStoreMixin:
    db: Database

    def listing(
        self,
        day_from: str,
        day_to: str,
        *,
        sort: str = "votes",
        limit: int = 50,
        offset: int = 0,
        submitter: str | None = None,
        categories: Sequence[str] = (),
        count: bool = True,
    ) -> tuple[list[str], int]:
        """Paper ids listed between two days (inclusive) and how many there are in all (-1 without ``count``);
        with ``categories``, only papers in any of them.

        ``votes`` puts the most upvoted first (ours plus Hugging Face's), then member submissions, new papers before
        cross-lists; ``published`` puts the latest day first. Ties break on the id, so paging is stable."""
        where = f"d.day >= ? AND d.day <= ? AND d.kind IN ({FEED_SQL})"
        params: list[Any] = [day_from, day_to]
        join = ""
        if submitter is not None:
            join = (
                "JOIN submissions s ON s.paper_id = d.paper_id AND s.removed_at IS NULL "
                "JOIN users u ON u.id = s.user_id "
            )
            where += " AND lower(u.name) = lower(?)"
            params.append(submitter)
        if categories:
            where += (
                " AND d.paper_id IN (SELECT paper_id FROM paper_categories "
                f"WHERE category IN ({Database.placeholders(len(categories))}))"
            )
            params.extend(categories)
        ids: list[str] | None = None
        if sort == "published" and submitter is None:
            # Newest first needs only the latest days: the papers listed since the day of the (offset + limit)-th
            # listing come first in this order, so group those (over the whole range, for their kinds) instead of
            # every paper of a long range (all of them, for the API's default). Too few (a paper listed twice,
            # deleted papers): fall back to the whole range.
            cutoff = self.db.query_one(
                f"SELECT d.day FROM paper_days d WHERE {where} ORDER BY d.day DESC LIMIT 1 OFFSET ?",
                (*params, offset + limit - 1),
            )
            if cutoff is not None and cutoff[0] > day_from:
                recent = f"SELECT paper_id FROM paper_days WHERE day >= ? AND day <= ? AND kind IN ({FEED_SQL})"
                narrowed = f"{where} AND d.paper_id IN ({recent})"
                ids = self._listing_page(join, narrowed, [*params, cutoff[0], day_to], sort, limit, offset)
                if len(ids) < limit:
                    ids = None
        if ids is None:
            ids = self._listing_page(join, where, params, sort, limit, offset)
        if not count:
            return ids, -1
        total = self.db.query_one(f"SELECT count(DISTINCT d.paper_id) FROM paper_days d {join}WHERE {where}", params)
        return ids, int(total[0]) if total else 0

    def _listing_page(self, join: str, where: str, params: list[Any], sort: str, limit: int, offset: int) -> list[str]:
        grouped = (
            f"SELECT d.paper_id, max(d.day) AS day, min({feed_rank_sql('d.kind')}) AS rank FROM paper_days d "
            f"{join}WHERE {where} "
            "GROUP BY d.paper_id"
        )
        order = (
            "COALESCE(a.upvotes, 0) + COALESCE(a.external_upvotes, 0) DESC, g.rank, g.day DESC, g.paper_id"
            if sort == "votes"
            else "g.day DESC, g.rank, g.paper_id"
        )
        # Deleted papers are few: leaving out the ids of a small partial index (papers_deleted) is cheaper than
        # joining every listed paper's row (abstracts inline) just to read deleted_at.
        rows = self.db.query(
            f"SELECT g.paper_id FROM ({grouped}) g LEFT JOIN paper_activity a ON a.paper_id = g.paper_id "
            f"WHERE g.paper_id NOT IN (SELECT id FROM papers WHERE deleted_at IS NOT NULL) ORDER BY {order} "
            "LIMIT ? OFFSET ?",
            (*params, limit, offset),
        )
        return [r[0] for r in rows]

    def feed_day_near(self, day: str, direction: int) -> str | None:
        """The closest day before (-1) or after (+1) ``day`` with anything in the feed."""
        if direction < 0:
            row = self.db.query_one(f"SELECT max(day) FROM paper_days WHERE day < ? AND kind IN ({FEED_SQL})", (day,))
        else:
            row = self.db.query_one(f"SELECT min(day) FROM paper_days WHERE day > ? AND kind IN ({FEED_SQL})", (day,))
        return row[0] if row and row[0] else None

    def latest_feed_day(self, until: str | None = None) -> str | None:
        row = self.db.query_one(
            f"SELECT max(day) FROM paper_days WHERE kind IN ({FEED_SQL})" + (" AND day <= ?" if until else ""),
            (until,) if until else (),
        )
        return row[0] if row and row[0] else None

    def active_listed(
        self, day_from: str, day_to: str, active_to: str | None = None
    ) -> list[tuple[str, str, int, int, int, int]]:
        """Trending's candidates: papers with any activity that were in the feed during the window or were voted on
        or discussed in it (or up to ``active_to``, when later) — (id, latest feed day up to ``day_to`` (else the
        activity day), upvotes, comments, external upvotes, external comments)."""
        # Candidates come from the window's feed days and the activity index, not from scanning every paper with
        # activity (which, at 100k papers, read every paper's row: 30 ms even for an empty window).
        rows = self.db.query(
            "SELECT a.paper_id, COALESCE((SELECT max(d.day) FROM paper_days d WHERE d.paper_id = a.paper_id "
            f"AND d.kind IN ({FEED_SQL}) AND d.day <= ?), substr(a.last_activity, 1, 10)), "
            "a.upvotes, a.comments, a.external_upvotes, a.external_comments "
            f"FROM (SELECT paper_id FROM paper_days WHERE day >= ? AND day <= ? AND kind IN ({FEED_SQL}) "
            "UNION SELECT paper_id FROM paper_activity WHERE last_activity >= ? AND last_activity < ?) c "
            "JOIN paper_activity a ON a.paper_id = c.paper_id "
            "JOIN papers p ON p.id = a.paper_id AND p.deleted_at IS NULL "
            "WHERE a.upvotes + a.comments + a.external_upvotes + a.external_comments > 0",
            (day_to, day_from, day_to, day_from, max(day_to, active_to or day_to) + "~"),
        )
        return [(r[0], r[1], int(r[2]), int(r[3]), int(r[4]), int(r[5])) for r in rows if r[1]]

    def published_page(self, before: tuple[str, str] | None, limit: int) -> list[tuple[str, str]]:
        """(id, published day) of live papers, newest first, after the keyset ``before`` (published, id)."""
        where = "deleted_at IS NULL"
        params: list[Any] = []
        if before is not None:
            where += f" AND ({_PUBLISHED} < ? OR ({_PUBLISHED} = ? AND id < ?))"
            params += [before[0], before[0], before[1]]
        rows = self.db.query(
            f"SELECT id, {_PUBLISHED} FROM papers WHERE {where} ORDER BY {_PUBLISHED} DESC, id DESC LIMIT ?",
            (*params, limit),
        )
        return [(r[0], r[1]) for r in rows]

    def first_listing_days(self, paper_ids: list[str]) -> dict[str, str]:
        """Each paper's first day in the feed (its age for trending)."""
        found: dict[str, str] = {}
        for start in range(0, len(paper_ids), 900):
            chunk = paper_ids[start : start + 900]
            found.update(
                (r[0], r[1])
                for r in self.db.query(
                    "SELECT paper_id, min(day) FROM paper_days "
                    f"WHERE paper_id IN ({Database.placeholders(len(chunk))}) AND kind IN ({FEED_SQL}) "
                    "GROUP BY paper_id",
                    chunk,
                )
            )
        return found
