"""A member's own library in SQL: saved papers (tags, a private note, reading state), collections and their hand
ordering, private ratings, the interest signals recommendations learn from, and restoring all of it at once (an
import, or an account export with its upvotes and blend).

Every write is one transaction (the store's one-writer transactions on both engines), and every change is a row
written or deleted, never a list read, edited and written back: two tabs tagging, rating or reordering at once both
land. Papers that are deleted (``deleted_at``) stay in the tables, so a paper that comes back comes back into its
libraries, but no read here returns them; a paper removed outright takes its entries, tags, collection items and
ratings with it by foreign key. Rules (what a tag may look like, who may see a collection) live in
``paperfeed.library``; this module only reads and writes.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from paperfeed.errors import BadInput, NotFound
from paperfeed.store.changes import ChangesStoreMixin
from paperfeed.store.db import Database
from paperfeed.store.recommend import PUT_PERSONAL_WEIGHT

STATES = ("to-read", "read")
SIGNAL_KINDS = ("saved", "more", "less", "upvote")
_LIVE = "EXISTS (SELECT 1 FROM papers p WHERE p.id = {col} AND p.deleted_at IS NULL)"
_COLLECTION_COLS = (
    "c.id, c.user_id, u.name, c.slug, c.name, c.description, c.public, c.created_at, c.updated_at, "
    f"(SELECT count(*) FROM collection_items i WHERE i.collection_id = c.id AND {_LIVE.format(col='i.paper_id')})"
)


@dataclass(frozen=True)
class InterestSignal:
    """One thing a member did that says what they like: saved a paper, rated it, or upvoted it."""

    paper_id: str
    kind: str  # "saved" | "more" | "less" | "upvote"
    at: datetime


@dataclass(frozen=True)
class LibraryEntry:
    paper_id: str
    state: str  # to-read | read
    note: str
    tags: tuple[str, ...]
    saved_at: str
    updated_at: str


@dataclass(frozen=True)
class Collection:
    id: int
    owner_id: int
    owner: str  # the owner's member name
    slug: str
    name: str
    description: str
    public: bool
    created_at: str
    updated_at: str
    size: int  # live papers in it


@dataclass(frozen=True)
class RestoredEntry:
    """A library entry as an import or an account export gives it back (saved_at None: now)."""

    paper_id: str
    tags: tuple[str, ...] = ()
    note: str = ""
    state: str = "to-read"
    saved_at: str | None = None


@dataclass(frozen=True)
class RestoredCollection:
    """A collection as an import or an account export gives it back: its papers in order."""

    slug: str
    name: str
    description: str = ""
    public: bool = False
    paper_ids: tuple[str, ...] = ()
    created_at: str | None = None


def _collection(row: tuple[Any, ...]) -> Collection:
    return Collection(
        int(row[0]), int(row[1]), row[2], row[3], row[4], row[5], bool(row[6]), row[7], row[8], int(row[9])
    )


def _chunks(items: list[str], size: int = 900) -> Iterable[list[str]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


class LibraryStoreMixin(ChangesStoreMixin):
    db: Database

    def _require_live(self, paper_id: str) -> None:
        if not self.db.query_one("SELECT 1 FROM papers WHERE id = ? AND deleted_at IS NULL", (paper_id,)):
            raise NotFound(f"no paper with id {paper_id!r}")

    # -- library entries -------------------------------------------------------------------------------------------
    def save_paper(self, user_id: int, paper_id: str, now: str) -> bool:
        """Put a paper in a member's library (to read); False when it was there already (nothing changes)."""
        with self.db.transaction():
            self._require_live(paper_id)
            return self._save(user_id, paper_id, now) > 0

    def _save(self, user_id: int, paper_id: str, now: str, state: str = "to-read", note: str = "") -> int:
        return self.db.execute(
            "INSERT INTO library_entries (user_id, paper_id, state, note, saved_at, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (user_id, paper_id) DO NOTHING",
            (user_id, paper_id, state, note, now, now),
        )

    def unsave_paper(self, user_id: int, paper_id: str) -> bool:
        """Take a paper out of the library, with its tags, note and place in every collection."""
        with self.db.transaction():
            return (
                self.db.execute("DELETE FROM library_entries WHERE user_id = ? AND paper_id = ?", (user_id, paper_id))
                > 0
            )

    def update_entry(
        self,
        user_id: int,
        paper_id: str,
        now: str,
        *,
        state: str | None = None,
        note: str | None = None,
        add_tags: Sequence[str] = (),
        remove_tags: Sequence[str] = (),
    ) -> LibraryEntry:
        """Change what is given (saving the paper first if needed); tags are added and removed one by one."""
        if state is not None and state not in STATES:
            raise BadInput(f"state must be one of {', '.join(STATES)}", where="state")
        with self.db.transaction():
            self._require_live(paper_id)
            self._save(user_id, paper_id, now)
            if state is not None:
                self.db.execute(
                    "UPDATE library_entries SET state = ?, updated_at = ? WHERE user_id = ? AND paper_id = ?",
                    (state, now, user_id, paper_id),
                )
            if note is not None:
                self.db.execute(
                    "UPDATE library_entries SET note = ?, updated_at = ? WHERE user_id = ? AND paper_id = ?",
                    (note, now, user_id, paper_id),
                )
            self.db.executemany(
                "INSERT INTO library_tags (user_id, paper_id, tag) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                [(user_id, paper_id, t) for t in add_tags],
            )
            self.db.executemany(
                "DELETE FROM library_tags WHERE user_id = ? AND paper_id = ? AND tag = ?",
                [(user_id, paper_id, t) for t in remove_tags],
            )
            if add_tags or remove_tags:
                self.db.execute(
                    "UPDATE library_entries SET updated_at = ? WHERE user_id = ? AND paper_id = ?",
                    (now, user_id, paper_id),
                )
        found = self.library_entry(user_id, paper_id)
        assert found is not None
        return found

    def library_entry(self, user_id: int, paper_id: str) -> LibraryEntry | None:
        found = self.library_entries_of(user_id, [paper_id])
        return found.get(paper_id)

    def library_entries_of(self, user_id: int, paper_ids: Iterable[str]) -> dict[str, LibraryEntry]:
        """The member's entries for these papers (those saved), in two queries whatever the number of papers."""
        ids = list(dict.fromkeys(paper_ids))
        rows: list[tuple[Any, ...]] = []
        tags: dict[str, list[str]] = {}
        for chunk in _chunks(ids):
            marks = Database.placeholders(len(chunk))
            rows += self.db.query(
                "SELECT paper_id, state, note, saved_at, updated_at FROM library_entries "
                f"WHERE user_id = ? AND paper_id IN ({marks})",
                (user_id, *chunk),
            )
            for pid, tag in self.db.query(
                f"SELECT paper_id, tag FROM library_tags WHERE user_id = ? AND paper_id IN ({marks}) ORDER BY tag",
                (user_id, *chunk),
            ):
                tags.setdefault(pid, []).append(tag)
        # Sorted here, not by the database: collations differ between engines (and PostgreSQL's by locale).
        return {r[0]: LibraryEntry(r[0], r[1], r[2], tuple(sorted(tags.get(r[0], ()))), r[3], r[4]) for r in rows}

    def saved_among(self, user_id: int, paper_ids: Iterable[str]) -> set[str]:
        """Which of these papers the member has saved: one query for a page of papers (the save buttons)."""
        found: set[str] = set()
        for chunk in _chunks(list(dict.fromkeys(paper_ids))):
            found.update(
                r[0]
                for r in self.db.query(
                    "SELECT paper_id FROM library_entries WHERE user_id = ? "
                    f"AND paper_id IN ({Database.placeholders(len(chunk))})",
                    (user_id, *chunk),
                )
            )
        return found

    def member_tags(self, user_id: int) -> dict[str, list[str]]:
        """Every tagged live paper of the member with its tags: {paper id: [tag, …]}."""
        tags: dict[str, list[str]] = {}
        for pid, tag in self.db.query(
            f"SELECT t.paper_id, t.tag FROM library_tags t WHERE t.user_id = ? AND {_LIVE.format(col='t.paper_id')} "
            "ORDER BY t.paper_id, t.tag",
            (user_id,),
        ):
            tags.setdefault(pid, []).append(tag)
        return {pid: sorted(found) for pid, found in tags.items()}

    def tag_counts(self, user_id: int) -> list[tuple[str, int]]:
        """The member's tags with how many live papers carry each, most used first."""
        rows = self.db.query(
            f"SELECT t.tag, count(*) FROM library_tags t WHERE t.user_id = ? AND {_LIVE.format(col='t.paper_id')} "
            "GROUP BY t.tag",
            (user_id,),
        )
        return sorted(((r[0], int(r[1])) for r in rows), key=lambda tc: (-tc[1], tc[0]))

    def library_ids(
        self,
        user_id: int,
        *,
        tag: str | None = None,
        state: str | None = None,
        text: str | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> tuple[list[str], int]:
        """Live paper ids of the library, newest saved first, filtered by tag, state and text (title, authors,
        abstract, note or tag, ignoring case); with the total the filters match."""
        where = ["e.user_id = ?", "p.deleted_at IS NULL"]
        params: list[Any] = [user_id]
        if tag:
            where.append(
                "EXISTS (SELECT 1 FROM library_tags t WHERE t.user_id = e.user_id AND t.paper_id = e.paper_id "
                "AND t.tag = ?)"
            )
            params.append(tag)
        if state:
            where.append("e.state = ?")
            params.append(state)
        for word in (text or "").split():
            like = "%" + word.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            where.append(
                "(lower(p.title) LIKE ? ESCAPE '\\' OR lower(p.authors) LIKE ? ESCAPE '\\' "
                "OR lower(p.abstract) LIKE ? ESCAPE '\\' OR lower(e.note) LIKE ? ESCAPE '\\' OR EXISTS "
                "(SELECT 1 FROM library_tags t WHERE t.user_id = e.user_id AND t.paper_id = e.paper_id "
                "AND lower(t.tag) LIKE ? ESCAPE '\\'))"
            )
            params += [like] * 5
        sql = f"FROM library_entries e JOIN papers p ON p.id = e.paper_id WHERE {' AND '.join(where)}"
        total = self.db.query_one(f"SELECT count(*) {sql}", params)
        rows = self.db.query(
            f"SELECT e.paper_id {sql} ORDER BY e.saved_at DESC, e.paper_id LIMIT ? OFFSET ?", (*params, limit, offset)
        )
        return [r[0] for r in rows], int(total[0]) if total else 0

    def restore_library(
        self,
        user_id: int,
        entries: Sequence[RestoredEntry],
        now: str,
        *,
        collections: Sequence[RestoredCollection] = (),
        ratings: Sequence[tuple[str, int, str]] = (),
        votes: Sequence[tuple[str, str]] = (),
        personal_weight: int | None = None,
    ) -> int:
        """Save many papers with their tags, notes and states, fill collections (made when missing, items appended
        in order), set ratings, upvote papers (paper id, when) and set the blend, all in one transaction (imports,
        account restores): all of it or, on any error, none. Doing it twice changes nothing: papers already saved
        keep what they have and gain the new tags, a rating is replaced only by a newer one, a vote already there
        stays as it is (the paper's count goes up only for a new one); returns how many papers were newly saved."""
        with self.db.transaction():
            added = 0
            for e in entries:
                if e.state not in STATES:
                    raise BadInput(f"state must be one of {', '.join(STATES)}", where=e.paper_id)
                self._require_live(e.paper_id)
                added += self._save(user_id, e.paper_id, e.saved_at or now, e.state, e.note)
            self.db.executemany(
                "INSERT INTO library_tags (user_id, paper_id, tag) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                [(user_id, e.paper_id, t) for e in entries for t in e.tags],
            )
            for c in collections:
                row = self.db.query_one("SELECT id FROM collections WHERE user_id = ? AND slug = ?", (user_id, c.slug))
                if row is None:
                    row = self.db.query_one(
                        "INSERT INTO collections (user_id, slug, name, description, public, created_at, updated_at) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
                        (user_id, c.slug, c.name, c.description, int(c.public), c.created_at or now, now),
                    )
                assert row is not None
                for pid in c.paper_ids:
                    self._require_live(pid)
                    added += self._save(user_id, pid, now)
                    self.db.execute(
                        "INSERT INTO collection_items (collection_id, user_id, paper_id, position, added_at) "
                        "SELECT ?, ?, ?, COALESCE(max(position), 0) + 1, ? FROM collection_items "
                        "WHERE collection_id = ? ON CONFLICT (collection_id, paper_id) DO NOTHING",
                        (row[0], user_id, pid, now, row[0]),
                    )
            for pid, value, at in ratings:
                if value not in (-1, 1):
                    raise BadInput("a rating is 1 or -1", where=pid)
                self._require_live(pid)
                self.db.execute(
                    "INSERT INTO ratings (user_id, paper_id, value, rated_at) VALUES (?, ?, ?, ?) "
                    "ON CONFLICT (user_id, paper_id) DO UPDATE SET value = excluded.value, "
                    "rated_at = excluded.rated_at WHERE ratings.rated_at < excluded.rated_at",
                    (user_id, pid, value, at),
                )
            voted = False
            for pid, at in votes:
                self._require_live(pid)
                if self.db.execute(
                    "INSERT INTO votes (user_id, paper_id, created_at) VALUES (?, ?, ?) "
                    "ON CONFLICT (user_id, paper_id) DO NOTHING",
                    (user_id, pid, at),
                ):
                    voted = True
                    self.db.execute(
                        "INSERT INTO paper_activity (paper_id, upvotes, last_activity) VALUES (?, 1, ?) "
                        "ON CONFLICT (paper_id) DO UPDATE SET upvotes = paper_activity.upvotes + 1, last_activity = "
                        "CASE WHEN paper_activity.last_activity IS NULL OR paper_activity.last_activity < "
                        "excluded.last_activity THEN excluded.last_activity ELSE paper_activity.last_activity END",
                        (pid, at),
                    )
            if voted:
                self._content_changed()  # vote counts on public (cached) pages changed
            if personal_weight is not None:
                self.db.execute(PUT_PERSONAL_WEIGHT, (user_id, personal_weight, now))
        return added

    # -- collections -----------------------------------------------------------------------------------------------
    def create_collection(
        self, user_id: int, slug: str, name: str, description: str, public: bool, now: str
    ) -> Collection:
        with self.db.transaction():
            if self.db.query_one("SELECT 1 FROM collections WHERE user_id = ? AND slug = ?", (user_id, slug)):
                raise BadInput(f"you already have a collection at {slug!r}", where="slug")
            row = self.db.query_one(
                "INSERT INTO collections (user_id, slug, name, description, public, created_at, updated_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
                (user_id, slug, name, description, int(public), now, now),
            )
        assert row is not None
        return self.collection(int(row[0]))

    def update_collection(
        self, collection_id: int, now: str, *, name: str | None, description: str | None, public: bool | None
    ) -> Collection:
        with self.db.transaction():
            for column, value in (("name", name), ("description", description), ("public", public)):
                if value is not None:
                    self.db.execute(
                        f"UPDATE collections SET {column} = ?, updated_at = ? WHERE id = ?",
                        (int(value) if isinstance(value, bool) else value, now, collection_id),
                    )
        return self.collection(collection_id)

    def delete_collection(self, collection_id: int) -> None:
        with self.db.transaction():
            if not self.db.execute("DELETE FROM collections WHERE id = ?", (collection_id,)):
                raise NotFound(f"no collection {collection_id}")

    def collection(self, collection_id: int) -> Collection:
        row = self.db.query_one(
            f"SELECT {_COLLECTION_COLS} FROM collections c JOIN users u ON u.id = c.user_id WHERE c.id = ?",
            (collection_id,),
        )
        if row is None:
            raise NotFound(f"no collection {collection_id}")
        return _collection(row)

    def collection_by_slug(self, owner: str, slug: str) -> Collection | None:
        row = self.db.query_one(
            f"SELECT {_COLLECTION_COLS} FROM collections c JOIN users u ON u.id = c.user_id "
            "WHERE lower(u.name) = lower(?) AND c.slug = ?",
            (owner, slug),
        )
        return _collection(row) if row else None

    def collections_of(self, user_id: int, *, public_only: bool = False) -> list[Collection]:
        rows = self.db.query(
            f"SELECT {_COLLECTION_COLS} FROM collections c JOIN users u ON u.id = c.user_id WHERE c.user_id = ? "
            + ("AND c.public = 1 " if public_only else "")
            + "ORDER BY c.name, c.id",
            (user_id,),
        )
        return [_collection(r) for r in rows]

    def collection_paper_ids(self, collection_id: int) -> list[str]:
        """The collection's live papers in their hand-made order."""
        rows = self.db.query(
            "SELECT i.paper_id FROM collection_items i WHERE i.collection_id = ? "
            f"AND {_LIVE.format(col='i.paper_id')} ORDER BY i.position, i.added_at, i.paper_id",
            (collection_id,),
        )
        return [r[0] for r in rows]

    def collections_with(self, user_id: int, paper_ids: Iterable[str]) -> dict[str, list[int]]:
        """{paper id: ids of the member's collections holding it} for these papers."""
        found: dict[str, list[int]] = {}
        for chunk in _chunks(list(dict.fromkeys(paper_ids))):
            for pid, cid in self.db.query(
                "SELECT paper_id, collection_id FROM collection_items WHERE user_id = ? "
                f"AND paper_id IN ({Database.placeholders(len(chunk))}) ORDER BY collection_id",
                (user_id, *chunk),
            ):
                found.setdefault(pid, []).append(int(cid))
        return found

    def add_to_collection(self, collection_id: int, paper_ids: Sequence[str], now: str) -> int:
        """Append papers (saving them into the owner's library first); papers already in it stay where they are."""
        with self.db.transaction():
            owner = self.collection(collection_id).owner_id
            added = 0
            for pid in paper_ids:
                self._require_live(pid)
                self._save(owner, pid, now)
                added += self.db.execute(
                    "INSERT INTO collection_items (collection_id, user_id, paper_id, position, added_at) "
                    "SELECT ?, ?, ?, COALESCE(max(position), 0) + 1, ? FROM collection_items WHERE collection_id = ? "
                    "ON CONFLICT (collection_id, paper_id) DO NOTHING",
                    (collection_id, owner, pid, now, collection_id),
                )
            self._touch(collection_id, now)
        return added

    def remove_from_collection(self, collection_id: int, paper_id: str, now: str) -> bool:
        with self.db.transaction():
            gone = self.db.execute(
                "DELETE FROM collection_items WHERE collection_id = ? AND paper_id = ?", (collection_id, paper_id)
            )
            self._touch(collection_id, now)
        return gone > 0

    def reorder_collection(self, collection_id: int, paper_ids: Sequence[str], now: str) -> None:
        """Put the collection in this order; it must name exactly the papers it holds."""
        with self.db.transaction():
            held = [
                r[0]
                for r in self.db.query(
                    "SELECT paper_id FROM collection_items WHERE collection_id = ?", (collection_id,)
                )
            ]
            if sorted(held) != sorted(paper_ids):
                raise BadInput("the new order must list every paper of the collection once", where="order")
            self.db.executemany(
                "UPDATE collection_items SET position = ? WHERE collection_id = ? AND paper_id = ?",
                [(i + 1, collection_id, pid) for i, pid in enumerate(paper_ids)],
            )
            self._touch(collection_id, now)

    def _touch(self, collection_id: int, now: str) -> None:
        self.db.execute("UPDATE collections SET updated_at = ? WHERE id = ?", (now, collection_id))

    # -- ratings ---------------------------------------------------------------------------------------------------
    def set_rating(self, user_id: int, paper_id: str, value: int, now: str) -> None:
        """+1 more like this, -1 less like this, 0 takes the rating back."""
        if value not in (-1, 0, 1):
            raise BadInput("a rating is 1 (more like this), -1 (less like this) or 0 (none)", where="value")
        with self.db.transaction():
            self._require_live(paper_id)
            if value == 0:
                self.db.execute("DELETE FROM ratings WHERE user_id = ? AND paper_id = ?", (user_id, paper_id))
            else:
                self.db.execute(
                    "INSERT INTO ratings (user_id, paper_id, value, rated_at) VALUES (?, ?, ?, ?) "
                    "ON CONFLICT (user_id, paper_id) DO UPDATE SET value = excluded.value, "
                    "rated_at = excluded.rated_at",
                    (user_id, paper_id, value, now),
                )

    def ratings_of(self, user_id: int, paper_ids: Iterable[str] | None = None) -> dict[str, int]:
        """The member's ratings {paper id: ±1}, of these papers or (None) of every live paper."""
        if paper_ids is None:
            rows = self.db.query(
                f"SELECT r.paper_id, r.value FROM ratings r WHERE r.user_id = ? AND {_LIVE.format(col='r.paper_id')}",
                (user_id,),
            )
            return {r[0]: int(r[1]) for r in rows}
        found: dict[str, int] = {}
        for chunk in _chunks(list(dict.fromkeys(paper_ids))):
            for pid, value in self.db.query(
                "SELECT paper_id, value FROM ratings WHERE user_id = ? "
                f"AND paper_id IN ({Database.placeholders(len(chunk))})",
                (user_id, *chunk),
            ):
                found[pid] = int(value)
        return found

    def rating_rows(self, user_id: int) -> list[tuple[str, int, str]]:
        """(paper id, ±1, when) of every rating, newest first (the account export)."""
        rows = self.db.query(
            "SELECT paper_id, value, rated_at FROM ratings WHERE user_id = ? ORDER BY rated_at DESC, paper_id",
            (user_id,),
        )
        return [(r[0], int(r[1]), r[2]) for r in rows]

    # -- finding the papers an import names ------------------------------------------------------------------------
    def live_ids(self, paper_ids: Iterable[str]) -> set[str]:
        """Which of these ids are live papers."""
        return self._live_ids(set(paper_ids))

    def ids_by_doi(self, dois: Iterable[str]) -> dict[str, str]:
        """{DOI in lower case: paper id} of the live papers with these DOIs."""
        found: dict[str, str] = {}
        for chunk in _chunks(sorted({d.lower() for d in dois})):
            for doi, pid in self.db.query(
                f"SELECT lower(doi), id FROM papers WHERE lower(doi) IN ({Database.placeholders(len(chunk))}) "
                "AND doi IS NOT NULL AND deleted_at IS NULL ORDER BY id",
                chunk,
            ):
                found.setdefault(doi, pid)
        return found

    def titles_like(self, titles: Iterable[str]) -> list[tuple[str, str]]:
        """(paper id, title) of the live papers whose title, in lower case, is one of these."""
        rows: list[tuple[str, str]] = []
        for chunk in _chunks(sorted({t.lower() for t in titles})):
            rows += [
                (r[0], r[1])
                for r in self.db.query(
                    f"SELECT id, title FROM papers WHERE lower(title) IN ({Database.placeholders(len(chunk))}) "
                    "AND deleted_at IS NULL ORDER BY id",
                    chunk,
                )
            ]
        return rows

    def ids_by_author(self, name: str, limit: int = 500) -> list[str]:
        """Live papers with an author of exactly this name (ignoring case), newest first. It reads every paper's
        author list: an import is rare and asked for once, never on a page's path."""
        needle = '%"' + name.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + '"%'
        rows = self.db.query(
            "SELECT id FROM papers WHERE lower(authors) LIKE ? ESCAPE '\\' AND deleted_at IS NULL "
            "ORDER BY COALESCE(submitted, announced, '') DESC, id LIMIT ?",
            (needle, limit),
        )
        return [r[0] for r in rows]

    # -- what recommendations learn from ---------------------------------------------------------------------------
    def interest_signals(self, member_id: int) -> list[InterestSignal]:
        """Every signal of one member on live papers, newest first: saves, ratings (more/less) and upvotes."""
        rows = self.db.query(
            "SELECT paper_id, 'saved', saved_at FROM library_entries WHERE user_id = ? "
            "UNION ALL SELECT paper_id, CASE WHEN value > 0 THEN 'more' ELSE 'less' END, rated_at FROM ratings "
            "WHERE user_id = ? UNION ALL SELECT paper_id, 'upvote', created_at FROM votes WHERE user_id = ?",
            (member_id, member_id, member_id),
        )
        live = self._live_ids({r[0] for r in rows})
        signals = [InterestSignal(r[0], r[1], datetime.fromisoformat(r[2])) for r in rows if r[0] in live]
        signals.sort(key=lambda s: (s.at, s.paper_id, s.kind), reverse=True)
        return signals

    def _live_ids(self, ids: set[str]) -> set[str]:
        live: set[str] = set()
        for chunk in _chunks(sorted(ids)):
            live.update(
                r[0]
                for r in self.db.query(
                    f"SELECT id FROM papers WHERE id IN ({Database.placeholders(len(chunk))}) AND deleted_at IS NULL",
                    chunk,
                )
            )
        return live
