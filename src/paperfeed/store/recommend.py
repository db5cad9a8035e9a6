"""What the personal ranking reads from the store: the light features of a period's listed papers and of a member's
signal papers (key, categories, authors — never abstracts), and the community's votes on a period.

These are the only per-request reads of a For-you ranking besides the vectors (``search.dense``): one query for the
member's few hundred papers, and per period one query that ``recommend.foryou`` caches until the store changes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from paperfeed.store.db import Database
from paperfeed.store.listing import FEED_KINDS

_KINDS = ", ".join(f"'{k}'" for k in FEED_KINDS)


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


def _features(r: tuple[Any, ...]) -> PaperFeatures:
    return PaperFeatures(r[0], int(r[1]), r[2], orjson.loads(r[3]), orjson.loads(r[4]))
