"""What the personal ranking reads from the store: the light features of a period's listed papers and of a member's
signal papers (key, categories, authors — never abstracts), the community's votes on a period, a member's chosen
blend, and many members' signals and tags at once for a digest run.

These are the only per-request reads of a For-you ranking besides the vectors (``search.dense``): one query for the
member's few hundred papers, and per period one query that ``recommend.foryou`` caches until the store changes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from paperfeed.store.db import Database
from paperfeed.store.listing import FEED_SQL as _KINDS

# (user id, % personal, now): also what an account restore writes, in its own transaction
PUT_PERSONAL_WEIGHT = (
    "INSERT INTO member_preferences (user_id, personal_weight, updated_at) VALUES (?, ?, ?) "
    "ON CONFLICT (user_id) DO UPDATE SET personal_weight = excluded.personal_weight, updated_at = excluded.updated_at"
)


@dataclass(frozen=True)
class PaperFeatures:
    id: str
    pk: int
    title: str
    categories: list[str]
    authors: list[str]


class RecommendStoreMixin:
    db: Database

    def paper_features(self, ids: Sequence[str]) -> dict[str, PaperFeatures]:
        """Key, title, categories and authors of live papers among ``ids``."""
        found: dict[str, PaperFeatures] = {}
        for i in range(0, len(ids), 900):
            chunk = list(ids[i : i + 900])
            rows = self.db.query(
                "SELECT id, pk, title, categories, authors FROM papers WHERE deleted_at IS NULL "
                f"AND id IN ({Database.placeholders(len(chunk))})",
                chunk,
            )
            found.update((r[0], _features(r)) for r in rows)
        return found

    def listed_features(self, day_from: str, day_to: str) -> list[PaperFeatures]:
        """Every live paper in the feed between two days (inclusive), in id order: a period's candidates."""
        rows = self.db.query(
            "SELECT p.id, p.pk, p.title, p.categories, p.authors FROM papers p WHERE p.deleted_at IS NULL AND p.id IN "
            f"(SELECT paper_id FROM paper_days WHERE day >= ? AND day <= ? AND kind IN ({_KINDS})) ORDER BY p.id",
            (day_from, day_to),
        )
        return [_features(r) for r in rows]

    def listed_upvotes(self, day_from: str, day_to: str) -> dict[str, int]:
        """Upvotes (ours plus Hugging Face's) of the papers in the feed between two days that have any."""
        rows = self.db.query(
            "SELECT a.paper_id, a.upvotes + a.external_upvotes FROM paper_activity a WHERE "
            "a.upvotes + a.external_upvotes > 0 AND a.paper_id IN "
            f"(SELECT paper_id FROM paper_days WHERE day >= ? AND day <= ? AND kind IN ({_KINDS}))",
            (day_from, day_to),
        )
        return {r[0]: int(r[1]) for r in rows}

    def personal_weight(self, user_id: int) -> int | None:
        """The member's chosen blend (% personal), or None when they never chose."""
        row = self.db.query_one("SELECT personal_weight FROM member_preferences WHERE user_id = ?", (user_id,))
        return int(row[0]) if row else None

    def set_personal_weight(self, user_id: int, weight: int, now: str) -> None:
        with self.db.transaction():
            self.db.execute(PUT_PERSONAL_WEIGHT, (user_id, weight, now))

    def signal_rows_many(self, member_ids: Sequence[int]) -> list[tuple[int, str, str]]:
        """What many members did, as (member, paper id, kind): by member, each member's newest first (a digest run:
        one query per 300 members instead of one per member). ``interest_signals`` without the times and without the
        live-paper check, which a run of 100,000 members cannot afford and does not need (its ranking reads the
        features of live papers only); the rows are the database's own, no object made per signal."""
        found: list[tuple[int, str, str]] = []
        ids = sorted({int(m) for m in member_ids})
        for i in range(0, len(ids), 300):
            chunk = ids[i : i + 300]
            marks = Database.placeholders(len(chunk))
            found += self.db.query(
                "SELECT user_id, paper_id, kind FROM ("
                "SELECT user_id, paper_id, 'saved' AS kind, saved_at AS at FROM library_entries "
                f"WHERE user_id IN ({marks}) "
                "UNION ALL SELECT user_id, paper_id, CASE WHEN value > 0 THEN 'more' ELSE 'less' END, rated_at "
                f"FROM ratings WHERE user_id IN ({marks}) "
                f"UNION ALL SELECT user_id, paper_id, 'upvote', created_at FROM votes WHERE user_id IN ({marks})"
                ") s ORDER BY user_id, at DESC, paper_id DESC, kind DESC",
                chunk * 3,
            )
        return found

    def member_tags_many(self, member_ids: Sequence[int]) -> dict[int, dict[str, list[str]]]:
        """Many members' tags (a digest run's reasons name them): {member: {paper id: [tag, …]}}, members without
        tags left out; papers deleted since are not filtered (the ranking never names them)."""
        found: dict[int, dict[str, list[str]]] = {}
        ids = [int(m) for m in member_ids]
        for i in range(0, len(ids), 900):
            chunk = ids[i : i + 900]
            rows = self.db.query(
                "SELECT user_id, paper_id, tag FROM library_tags "
                f"WHERE user_id IN ({Database.placeholders(len(chunk))}) ORDER BY user_id, paper_id, tag",
                chunk,
            )
            for user_id, paper_id, tag in rows:
                found.setdefault(int(user_id), {}).setdefault(paper_id, []).append(tag)
        return found


def _features(r: tuple[Any, ...]) -> PaperFeatures:
    return PaperFeatures(r[0], int(r[1]), r[2], orjson.loads(r[3]), orjson.loads(r[4]))
