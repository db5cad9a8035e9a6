"""Papers' machine-made summaries and keyphrases: what the index job made and pages read.

The index job (``search.summaries``) makes them from a paper's title and abstract and stores them here with the
hash of that text; a paper whose stored hash is current is never made again. Pages and the Hugging Face API only
read these rows (one query per page of papers), so no request ever runs the model.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

import orjson

from paperfeed.store.changes import ChangesStoreMixin
from paperfeed.store.db import Database


@dataclass(frozen=True)
class MachineSummary:
    """One sentence of the abstract (None when it has none worth picking) and keyphrases taken from it."""

    sentence: str | None
    keyphrases: list[str]


class SummaryCandidate(NamedTuple):
    """A live paper the index job may have to summarise: its text and the hash of the text summarised last (if any)."""

    pk: int
    title: str
    abstract: str
    made_hash: str | None


class SummaryStoreMixin(ChangesStoreMixin):
    db: Database

    def summary_candidates(self, after_pk: int, limit: int) -> list[SummaryCandidate]:
        """Live papers after ``after_pk`` (in pk order) with no summary, or one older than the paper's last change;
        the caller compares text hashes, so a paper whose categories changed is not made again."""
        rows = self.db.query(
            "SELECT p.pk, p.title, p.abstract, s.text_hash FROM papers p "
            "LEFT JOIN paper_summaries s ON s.paper_pk = p.pk "
            "WHERE p.deleted_at IS NULL AND p.pk > ? AND (s.paper_pk IS NULL OR s.made_at <= p.modified_at) "
            "ORDER BY p.pk LIMIT ?",
            (after_pk, limit),
        )
        return [SummaryCandidate(int(r[0]), r[1], r[2] or "", r[3]) for r in rows]

    def put_summaries(self, model: str, made_at: str, rows: Sequence[tuple[int, str, MachineSummary | None]]) -> None:
        """Store (paper pk, text hash, summary) rows; a None summary is stored as none made (an empty abstract), so
        the paper is not tried again until its text changes."""
        with self.db.transaction():
            self.db.executemany(
                "INSERT INTO paper_summaries (paper_pk, text_hash, model, summary, keywords, made_at) "
                "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (paper_pk) DO UPDATE SET text_hash = excluded.text_hash, "
                "model = excluded.model, summary = excluded.summary, keywords = excluded.keywords, "
                "made_at = excluded.made_at",
                [
                    (
                        pk,
                        text_hash,
                        model,
                        made.sentence if made else None,
                        orjson.dumps(made.keyphrases if made else []).decode(),
                        made_at,
                    )
                    for pk, text_hash, made in rows
                ],
            )
            self._content_changed()  # paper pages (cached) now show the summary

    def touch_summaries(self, made_at: str, pks: Sequence[int]) -> None:
        """Mark summaries current whose paper changed but not its text (so the next run skips them in SQL)."""
        with self.db.transaction():
            self.db.executemany(
                "UPDATE paper_summaries SET made_at = ? WHERE paper_pk = ?", [(made_at, pk) for pk in pks]
            )

    def summaries_of(self, ids: Sequence[str]) -> dict[str, MachineSummary]:
        """The stored machine-made summaries of the papers among ``ids`` that have one (with a sentence or
        keyphrases)."""
        found: dict[str, MachineSummary] = {}
        for i in range(0, len(ids), 900):
            chunk = list(ids[i : i + 900])
            rows = self.db.query(
                "SELECT p.id, s.summary, s.keywords FROM paper_summaries s JOIN papers p ON p.pk = s.paper_pk "
                f"WHERE p.id IN ({Database.placeholders(len(chunk))})",
                chunk,
            )
            for paper_id, sentence, keywords in rows:
                phrases = [k for k in orjson.loads(keywords) if isinstance(k, str)]
                if sentence or phrases:
                    found[paper_id] = MachineSummary(sentence, phrases)
        return found

    def count_summaries(self) -> int:
        row = self.db.query_one("SELECT COUNT(*) FROM paper_summaries")
        return int(row[0]) if row else 0
