"""What changed, cheaply: one counter the store bumps whenever something an anonymous visitor sees may differ.

Papers carry their own change sequence (``papers.seq``, which the search indexes follow), but votes, comments,
moderation, submissions and external signals do not touch it (they must not make the indexes re-read a paper).
Caches of rendered pages need both: ``content_version()`` answers with one indexed lookup per question, so every
web node can ask it on every request and never serve a page older than the last committed write, whichever node or
worker made it. The counter lives in ``job_state`` (no migration) and is bumped inside the writer's transaction,
so it commits together with the change it announces.
"""

from __future__ import annotations

from paperfeed.store.db import Database

CHANGES_KEY = "content.changes"


class ChangesStoreMixin:
    db: Database

    def content_version(self) -> str:
        """A string that differs after any committed write that can change a public page (papers or activity)."""
        row = self.db.query_one(
            "SELECT (SELECT max(seq) FROM papers), (SELECT value FROM job_state WHERE key = ?)", (CHANGES_KEY,)
        )
        seq, changes = row if row else (None, None)
        return f"{int(seq or 0)}.{changes or 0}"

    def _content_changed(self) -> None:
        """Bump the counter; call inside the writing transaction (writers are serialised, so it never races)."""
        self.db.execute(
            "INSERT INTO job_state (key, value, updated_at) VALUES (?, '1', '') "
            "ON CONFLICT (key) DO UPDATE SET value = CAST(CAST(job_state.value AS INTEGER) + 1 AS TEXT)",
            (CHANGES_KEY,),
        )
