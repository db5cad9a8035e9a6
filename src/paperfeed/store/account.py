"""A member's whole account in SQL: what the account export reads (votes, comments) and deleting an account.

Deleting keeps the member's row as a tombstone: its public comments (and submissions) stay readable, attributed to a
name no one can sign up with (``~deleted-<id>``), while everything private goes in one transaction — email, password,
sessions, API tokens, the private feed key (every feed URL of theirs answers 404 after), votes (the papers' counters
follow), ratings, library, collections, For-you preferences and email subscriptions.
The rules (what the page says is kept) live in ``paperfeed.library.account``.
"""

from __future__ import annotations

from paperfeed.errors import NotFound
from paperfeed.store.changes import ChangesStoreMixin
from paperfeed.store.db import Database

DELETED_NAME = "~deleted-{id}"  # '~' is not allowed in member names: a tombstone never collides with a member


class AccountStoreMixin(ChangesStoreMixin):
    db: Database

    def votes_of(self, user_id: int) -> list[tuple[str, str]]:
        """(paper id, when) of every upvote of the member, newest first."""
        rows = self.db.query(
            "SELECT paper_id, created_at FROM votes WHERE user_id = ? ORDER BY created_at DESC, paper_id", (user_id,)
        )
        return [(r[0], r[1]) for r in rows]

    def comments_by(self, user_id: int) -> list[tuple[int, str, str, str, str | None]]:
        """(id, paper id, body, when, hidden at) of every comment of the member, oldest first."""
        rows = self.db.query(
            "SELECT id, paper_id, body, created_at, hidden_at FROM comments WHERE user_id = ? ORDER BY created_at, id",
            (user_id,),
        )
        return [(int(r[0]), r[1], r[2], r[3], r[4]) for r in rows]

    def delete_account(self, user_id: int, now: str) -> str:
        """Remove the member's private data and keep a nameless tombstone; returns the tombstone's name."""
        tombstone = DELETED_NAME.format(id=user_id)
        with self.db.transaction():
            if not self.db.query_one("SELECT 1 FROM users WHERE id = ? AND deleted_at IS NULL", (user_id,)):
                raise NotFound(f"no member with id {user_id}")
            voted = [r[0] for r in self.db.query("SELECT paper_id FROM votes WHERE user_id = ?", (user_id,))]
            self.db.executemany(
                "UPDATE paper_activity SET upvotes = upvotes - 1 WHERE paper_id = ? AND upvotes > 0",
                [(pid,) for pid in voted],
            )
            private = (
                "votes",
                "ratings",
                "library_entries",
                "collections",
                "sessions",
                "api_tokens",
                "member_preferences",
            )
            for table in private:
                self.db.execute(f"DELETE FROM {table} WHERE user_id = ?", (user_id,))
            self.db.execute("DELETE FROM subscribers WHERE user_id = ?", (user_id,))
            self.db.execute("DELETE FROM job_state WHERE key = ?", (f"member-feed:{user_id}",))  # private feed key
            self.db.execute(
                "UPDATE users SET name = ?, email = NULL, password_hash = '!', role = 'member', deleted_at = ? "
                "WHERE id = ?",
                (tombstone, now, user_id),
            )
            self._content_changed()  # vote counts and comment authors on public (cached) pages changed
        return tombstone
