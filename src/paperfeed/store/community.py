"""What the community does to papers, in SQL: members, sessions, API tokens, votes, comments, submissions,
moderation, per-paper activity counters and rate-limit counters.

Every write that changes a count (a vote, a comment, hiding one) updates ``paper_activity`` in the same transaction,
so lists sort by votes and show comment counts without counting rows, and the counters never drift. Rules about who
may do what live in ``paperfeed.community``; this module only reads and writes.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from paperfeed.errors import BadInput, NotFound
from paperfeed.papers import DERIVED_KIND, SUBMITTED_KIND
from paperfeed.store.changes import ChangesStoreMixin
from paperfeed.store.db import Database

_USER_COLS = "id, name, email, role, created_at, blocked_at"


@dataclass(frozen=True)
class User:
    id: int
    name: str
    email: str | None
    role: str  # member | moderator | admin
    created_at: str
    blocked_at: str | None = None

    @property
    def is_moderator(self) -> bool:
        return self.role in ("moderator", "admin")

    @property
    def blocked(self) -> bool:
        return self.blocked_at is not None


@dataclass(frozen=True)
class Activity:
    """A paper's community signals: local votes and visible comments, Hugging Face's, and who submitted it."""

    upvotes: int = 0
    comments: int = 0
    external_upvotes: int = 0
    external_comments: int = 0
    submitter: str | None = None
    submitted_at: str | None = None
    last_activity: str | None = None


@dataclass(frozen=True)
class Comment:
    id: int
    paper_id: str
    author: str
    body: str
    created_at: str
    hidden_at: str | None = None
    hidden_reason: str | None = None


@dataclass(frozen=True)
class ApiToken:
    id: int
    name: str
    created_at: str
    last_used_at: str | None


def _user(row: tuple[Any, ...] | None) -> User | None:
    return User(*row) if row else None


class CommunityStoreMixin(ChangesStoreMixin):
    db: Database

    # -- members -------------------------------------------------------------------------------------------------
    def create_user(
        self, name: str, email: str | None, password_hash: str, role: str, now: str, *, drop_taken_email: bool = False
    ) -> User:
        """A new member; a taken name is BadInput, and so is a taken email unless ``drop_taken_email``: then the
        member is made without one (sign-up must not tell a stranger whose address is registered)."""
        with self.db.transaction():
            taken = self.db.query_one(
                # The cast: PostgreSQL cannot tell the type of a bare parameter that is only tested for NULL.
                "SELECT name, email FROM users WHERE lower(name) = lower(?) OR (CAST(? AS TEXT) IS NOT NULL "
                "AND lower(email) = lower(?))",
                (name, email, email),
            )
            if taken and taken[0].lower() == name.lower():
                raise BadInput("that name is already taken", where="name")
            if taken and not drop_taken_email:
                raise BadInput("that email is already taken", where="email")
            if taken:
                email = None
            self.db.execute(
                "INSERT INTO users (name, email, password_hash, role, created_at) VALUES (?, ?, ?, ?, ?)",
                (name, email, password_hash, role, now),
            )
        user = self.user_by_name(name)
        assert user is not None
        return user

    def count_users(self) -> int:
        row = self.db.query_one("SELECT count(*) FROM users")
        return int(row[0]) if row else 0

    def count_admins(self) -> int:
        row = self.db.query_one("SELECT count(*) FROM users WHERE role = 'admin' AND blocked_at IS NULL")
        return int(row[0]) if row else 0

    def user_by_name(self, name: str) -> User | None:
        return _user(self.db.query_one(f"SELECT {_USER_COLS} FROM users WHERE lower(name) = lower(?)", (name,)))

    def user_by_id(self, user_id: int) -> User | None:
        return _user(self.db.query_one(f"SELECT {_USER_COLS} FROM users WHERE id = ?", (user_id,)))

    def password_hash(self, name_or_email: str) -> tuple[User, str] | None:
        row = self.db.query_one(
            f"SELECT {_USER_COLS}, password_hash FROM users WHERE lower(name) = lower(?) OR lower(email) = lower(?)",
            (name_or_email, name_or_email),
        )
        return (User(*row[:-1]), row[-1]) if row else None

    def set_password_hash(self, user_id: int, password_hash: str) -> None:
        with self.db.transaction():
            self.db.execute("UPDATE users SET password_hash = ? WHERE id = ?", (password_hash, user_id))

    def update_user(self, user_id: int, *, email: str | None) -> None:
        with self.db.transaction():
            if email and self.db.query_one(
                "SELECT 1 FROM users WHERE lower(email) = lower(?) AND id <> ?", (email, user_id)
            ):
                raise BadInput("that email is already taken", where="email")
            self.db.execute("UPDATE users SET email = ? WHERE id = ?", (email, user_id))

    def set_role(self, user_id: int, role: str) -> None:
        with self.db.transaction():
            self.db.execute("UPDATE users SET role = ? WHERE id = ?", (role, user_id))

    def set_blocked(self, user_id: int, by: int | None, now: str | None) -> None:
        """Block (``now`` set) or unblock (``now`` None) a member; a block also ends their sessions and tokens."""
        with self.db.transaction():
            if not self.db.execute("UPDATE users SET blocked_at = ?, blocked_by = ? WHERE id = ?", (now, by, user_id)):
                raise NotFound(f"no member with id {user_id}")
            self._content_changed()  # their comments disappear from (or come back to) the pages
            if now is not None:
                self.db.execute("DELETE FROM sessions WHERE user_id = ?", (user_id,))
                self.db.execute(
                    "UPDATE api_tokens SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL", (now, user_id)
                )

    # -- sessions and API tokens -----------------------------------------------------------------------------
    def create_session(self, token_hash: str, user_id: int, now: str, expires_at: str) -> None:
        with self.db.transaction():
            self.db.execute("DELETE FROM sessions WHERE user_id = ? AND expires_at < ?", (user_id, now))
            self.db.execute(
                "INSERT INTO sessions (token_hash, user_id, created_at, expires_at) VALUES (?, ?, ?, ?)",
                (token_hash, user_id, now, expires_at),
            )

    def session_user(self, token_hash: str, now: str) -> User | None:
        return _user(
            self.db.query_one(
                f"SELECT {', '.join('u.' + c for c in _USER_COLS.split(', '))} FROM sessions s "
                "JOIN users u ON u.id = s.user_id WHERE s.token_hash = ? AND s.expires_at > ? AND u.blocked_at IS NULL",
                (token_hash, now),
            )
        )

    def delete_session(self, token_hash: str) -> None:
        with self.db.transaction():
            self.db.execute("DELETE FROM sessions WHERE token_hash = ?", (token_hash,))

    def end_sessions(self, user_id: int, keep: str | None = None) -> None:
        """Log a member out everywhere (but the session whose token hash is ``keep``)."""
        with self.db.transaction():
            self.db.execute("DELETE FROM sessions WHERE user_id = ? AND token_hash <> ?", (user_id, keep or ""))

    # A member's private feed URL is signed with a key of theirs, kept in job_state (a key-value table: no migration
    # for one value per member); none until the first reset, so URLs made before resets existed keep working.
    # None when there is no such member or the account is deleted: then no URL of theirs is valid, whatever it holds
    # (deleting the account also deletes the key row).
    def feed_key(self, user_id: int) -> str | None:
        row = self.db.query_one(
            "SELECT u.deleted_at, j.value FROM users u LEFT JOIN job_state j ON j.key = ? WHERE u.id = ?",
            (f"member-feed:{user_id}", user_id),
        )
        if row is None or row[0] is not None:
            return None
        return str(row[1]) if row[1] is not None else ""

    def renew_feed_key(self, user_id: int, key: str, now: str) -> None:
        with self.db.transaction():
            self.db.execute(
                "INSERT INTO job_state (key, value, updated_at) VALUES (?, ?, ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
                (f"member-feed:{user_id}", key, now),
            )

    def create_api_token(self, user_id: int, name: str, token_hash: str, now: str) -> None:
        with self.db.transaction():
            self.db.execute(
                "INSERT INTO api_tokens (user_id, name, token_hash, created_at) VALUES (?, ?, ?, ?)",
                (user_id, name, token_hash, now),
            )

    def api_token_user(self, token_hash: str, now: str) -> User | None:
        row = self.db.query_one(
            f"SELECT t.id, {', '.join('u.' + c for c in _USER_COLS.split(', '))} FROM api_tokens t "
            "JOIN users u ON u.id = t.user_id WHERE t.token_hash = ? AND t.revoked_at IS NULL AND u.blocked_at IS NULL",
            (token_hash,),
        )
        if row is None:
            return None
        with self.db.transaction():
            self.db.execute("UPDATE api_tokens SET last_used_at = ? WHERE id = ?", (now, row[0]))
        return User(*row[1:])

    def api_tokens(self, user_id: int) -> list[ApiToken]:
        rows = self.db.query(
            "SELECT id, name, created_at, last_used_at FROM api_tokens WHERE user_id = ? AND revoked_at IS NULL "
            "ORDER BY id",
            (user_id,),
        )
        return [ApiToken(*r) for r in rows]

    def revoke_api_token(self, user_id: int, token_id: int, now: str) -> None:
        with self.db.transaction():
            if not self.db.execute(
                "UPDATE api_tokens SET revoked_at = ? WHERE id = ? AND user_id = ? AND revoked_at IS NULL",
                (now, token_id, user_id),
            ):
                raise NotFound(f"no token {token_id}")

    # -- votes -----------------------------------------------------------------------------------------------
    def set_vote(self, user_id: int, paper_id: str, up: bool, now: str) -> tuple[bool, int]:
        """Upvote or withdraw the vote (idempotent either way); returns (voted, the paper's local upvotes)."""
        with self.db.transaction():
            self._require_paper(paper_id)
            if up:
                changed = self.db.execute(
                    "INSERT INTO votes (user_id, paper_id, created_at) VALUES (?, ?, ?) "
                    "ON CONFLICT (user_id, paper_id) DO NOTHING",
                    (user_id, paper_id, now),
                )
            else:
                changed = self.db.execute("DELETE FROM votes WHERE user_id = ? AND paper_id = ?", (user_id, paper_id))
            if changed:
                self._bump(paper_id, "upvotes", 1 if up else -1, now)
                self._content_changed()
            row = self.db.query_one("SELECT upvotes FROM paper_activity WHERE paper_id = ?", (paper_id,))
        return up, int(row[0]) if row else 0

    def voted(self, user_id: int, paper_ids: Iterable[str]) -> set[str]:
        ids = list(paper_ids)
        if not ids:
            return set()
        rows = self.db.query(
            f"SELECT paper_id FROM votes WHERE user_id = ? AND paper_id IN ({Database.placeholders(len(ids))})",
            (user_id, *ids),
        )
        return {r[0] for r in rows}

    def upvoted_by(self, user_id: int, limit: int = 100) -> list[str]:
        rows = self.db.query(
            "SELECT paper_id FROM votes WHERE user_id = ? ORDER BY created_at DESC, paper_id LIMIT ?", (user_id, limit)
        )
        return [r[0] for r in rows]

    # -- comments --------------------------------------------------------------------------------------------
    def add_comment(self, user_id: int, paper_id: str, body: str, now: str) -> int:
        with self.db.transaction():
            self._require_paper(paper_id)
            row = self.db.query_one(
                "INSERT INTO comments (paper_id, user_id, body, created_at) VALUES (?, ?, ?, ?) RETURNING id",
                (paper_id, user_id, body, now),
            )
            self._bump(paper_id, "comments", 1, now)
            self._content_changed()
        assert row is not None
        return int(row[0])

    def comments_on(self, paper_id: str, include_hidden: bool = False) -> list[Comment]:
        rows = self.db.query(
            "SELECT c.id, c.paper_id, u.name, c.body, c.created_at, c.hidden_at, c.hidden_reason FROM comments c "
            "JOIN users u ON u.id = c.user_id WHERE c.paper_id = ? "
            + ("" if include_hidden else "AND c.hidden_at IS NULL AND u.blocked_at IS NULL ")
            + "ORDER BY c.created_at, c.id",
            (paper_id,),
        )
        return [Comment(*r) for r in rows]

    def get_comment(self, comment_id: int) -> Comment:
        row = self.db.query_one(
            "SELECT c.id, c.paper_id, u.name, c.body, c.created_at, c.hidden_at, c.hidden_reason FROM comments c "
            "JOIN users u ON u.id = c.user_id WHERE c.id = ?",
            (comment_id,),
        )
        if row is None:
            raise NotFound(f"no comment {comment_id}")
        return Comment(*row)

    def set_comment_hidden(self, comment_id: int, by: int, reason: str | None, now: str | None) -> Comment:
        """Hide (``now`` set) or show again a comment; the paper's visible-comment count follows."""
        with self.db.transaction():
            comment = self.get_comment(comment_id)
            was_hidden = comment.hidden_at is not None
            self.db.execute(
                "UPDATE comments SET hidden_at = ?, hidden_by = ?, hidden_reason = ? WHERE id = ?",
                (now, by if now else None, reason if now else None, comment_id),
            )
            if was_hidden != (now is not None):
                self._bump(comment.paper_id, "comments", -1 if now else 1, None)
            self._content_changed()
        return self.get_comment(comment_id)

    # -- submissions -----------------------------------------------------------------------------------------
    def add_submission(self, paper_id: str, user_id: int, day: str, now: str) -> None:
        """Record a member's submission and list the paper on ``day``; a live submission of the paper is refused."""
        with self.db.transaction():
            self._require_paper(paper_id)
            row = self.db.query_one(
                "SELECT u.name, s.removed_at FROM submissions s JOIN users u ON u.id = s.user_id WHERE s.paper_id = ?",
                (paper_id,),
            )
            if row is not None and row[1] is None:
                raise BadInput(f"{paper_id} was already submitted by {row[0]}", where="paper")
            self.db.execute("DELETE FROM submissions WHERE paper_id = ?", (paper_id,))
            self.db.execute(
                "INSERT INTO submissions (paper_id, user_id, day, created_at) VALUES (?, ?, ?, ?)",
                (paper_id, user_id, day, now),
            )
            self.db.execute(
                "INSERT INTO paper_days (paper_id, day, kind) VALUES (?, ?, ?) "
                "ON CONFLICT (paper_id, day) DO UPDATE SET kind = excluded.kind WHERE paper_days.kind = ?",
                (paper_id, day, SUBMITTED_KIND, DERIVED_KIND),
            )
            self._bump(paper_id, "upvotes", 0, now)
            self._content_changed()

    def remove_submission(self, paper_id: str, by: int, now: str) -> None:
        with self.db.transaction():
            row = self.db.query_one(
                "SELECT day FROM submissions WHERE paper_id = ? AND removed_at IS NULL", (paper_id,)
            )
            if row is None:
                raise NotFound(f"no live submission of {paper_id}")
            self.db.execute(
                "UPDATE submissions SET removed_at = ?, removed_by = ? WHERE paper_id = ?", (now, by, paper_id)
            )
            self.db.execute(
                "DELETE FROM paper_days WHERE paper_id = ? AND day = ? AND kind = ?",
                (paper_id, row[0], SUBMITTED_KIND),
            )
            self._content_changed()

    def submitted_by(self, user_id: int, limit: int = 100) -> list[str]:
        rows = self.db.query(
            "SELECT paper_id FROM submissions WHERE user_id = ? AND removed_at IS NULL ORDER BY created_at DESC "
            "LIMIT ?",
            (user_id, limit),
        )
        return [r[0] for r in rows]

    # -- activity --------------------------------------------------------------------------------------------
    def activity(self, paper_ids: Iterable[str]) -> dict[str, Activity]:
        """Activity per paper id (papers without any get the zero Activity)."""
        ids = list(dict.fromkeys(paper_ids))
        found: dict[str, Activity] = {}
        for start in range(0, len(ids), 900):
            chunk = ids[start : start + 900]
            marks = Database.placeholders(len(chunk))
            rows = self.db.query(
                "SELECT a.paper_id, a.upvotes, a.comments, a.external_upvotes, a.external_comments, u.name, "
                "s.created_at, a.last_activity FROM paper_activity a "
                "LEFT JOIN submissions s ON s.paper_id = a.paper_id AND s.removed_at IS NULL "
                f"LEFT JOIN users u ON u.id = s.user_id WHERE a.paper_id IN ({marks})",
                chunk,
            )
            found.update((r[0], Activity(*r[1:])) for r in rows)
        return {pid: found.get(pid, Activity()) for pid in ids}

    def activity_since(self, since: str, limit: int = 5000) -> list[str]:
        """Papers with any votes, comments or external signals whose last local activity or listing is recent."""
        rows = self.db.query(
            "SELECT a.paper_id FROM paper_activity a WHERE (a.upvotes + a.comments + a.external_upvotes + "
            "a.external_comments) > 0 AND (a.last_activity >= ? OR EXISTS (SELECT 1 FROM paper_days d "
            "WHERE d.paper_id = a.paper_id AND d.day >= ?)) LIMIT ?",
            (since, since[:10], limit),
        )
        return [r[0] for r in rows]

    def _bump(self, paper_id: str, column: str, delta: int, now: str | None) -> None:
        assert column in ("upvotes", "comments")
        self.db.execute(
            f"INSERT INTO paper_activity (paper_id, {column}, last_activity) VALUES (?, ?, ?) "
            f"ON CONFLICT (paper_id) DO UPDATE SET {column} = paper_activity.{column} + excluded.{column}, "
            "last_activity = COALESCE(excluded.last_activity, paper_activity.last_activity)",
            (paper_id, max(delta, 0), now),
        )
        if delta < 0:
            self.db.execute(
                f"UPDATE paper_activity SET {column} = {column} - ? WHERE paper_id = ? AND {column} >= ?",
                (-delta, paper_id, -delta),
            )

    def _require_paper(self, paper_id: str) -> None:
        if not self.db.query_one("SELECT 1 FROM papers WHERE id = ? AND deleted_at IS NULL", (paper_id,)):
            raise NotFound(f"no paper with id {paper_id!r}")

    # -- rate limits -----------------------------------------------------------------------------------------
    def hit_rate_limit(self, key: str, limit: int, window: int, now: int) -> bool:
        """Count one attempt for ``key`` in the current fixed window; False once ``limit`` is exceeded."""
        start = now - now % window
        with self.db.transaction():
            row = self.db.query_one(
                "INSERT INTO rate_limits (key, window_start, hits) VALUES (?, ?, 1) ON CONFLICT (key) DO UPDATE SET "
                "hits = CASE WHEN rate_limits.window_start = excluded.window_start THEN rate_limits.hits + 1 ELSE 1 "
                "END, window_start = excluded.window_start RETURNING hits",
                (key, start),
            )
        return row is not None and int(row[0]) <= limit
